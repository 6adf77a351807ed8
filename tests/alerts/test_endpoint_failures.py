"""A notification endpoint that is down or slow never changes the verdict or the exit code,
and never holds the verdict longer than the send timeout (default 5 s). Real servers on
127.0.0.1; the slow one waits on a threading.Event the test releases afterwards."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from runbooks.transcripts.verify import verify_run
from tests.alerts.servers import closed_port, serve
from tests.helpers import events, inv_env, run_dirs, run_inv, write_config

TOKEN = "987654:AAH-slow-test-token"


def _env(tmp_path: Path, target: dict[str, Any], **extra: str) -> tuple[dict[str, str], Path]:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": target}, default_target="box")
    tr = tmp_path / "transcripts"
    return inv_env(cfg, tr, **extra), tr


def test_down_endpoint_reported_verdict_unchanged_and_retried(sandbox: Any, sandbox_target: dict[str, Any],
                                                              tmp_path: Path) -> None:
    sandbox.inject("stuck_photo")
    env, tr = _env(tmp_path, sandbox_target, RUNBOOKS_WEBHOOK_URL=closed_port())
    r = run_inv(["monitor.p0", "--json", "--notify", "webhook"], env, tmp_path)
    assert r.returncode == 2, r.stderr
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "p0" and doc["exit_code"] == 2
    [n] = doc["notifications"]
    assert n["channel"] == "webhook" and n["ok"] is False and n["sent"] is True and n["error"]
    assert "notification to webhook FAILED" in r.stderr and "(verdict unchanged)" in r.stderr
    run = run_dirs(tr)[0]
    ev = [e for e in events(run) if e["type"] == "notification"]
    assert len(ev) == 1 and ev[0]["ok"] is False
    assert "webhook: **FAILED**" in (run / "transcript.md").read_text()
    assert verify_run(run).status == "intact"
    # the change was not delivered: the next run (endpoint up again) tells it, once
    with serve("webhook") as hook:
        env["RUNBOOKS_WEBHOOK_URL"] = hook.url
        r2 = run_inv(["monitor.p0", "--json", "--notify", "webhook"], env, tmp_path)
        assert r2.returncode == 2, r2.stderr
        assert len(hook.received) == 1 and "NEW P0 stuck_photos" in hook.texts()[0]
        r3 = run_inv(["monitor.p0", "--json", "--notify", "webhook"], env, tmp_path)
        assert r3.returncode == 2 and len(hook.received) == 1


def test_slow_endpoint_costs_at_most_the_timeout(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    sandbox.inject("stuck_photo")
    with serve("telegram", token=TOKEN, slow=True) as tg:
        env, tr = _env(tmp_path, sandbox_target, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID="42",
                       RUNBOOKS_TELEGRAM_API=tg.url)
        start = time.monotonic()
        r = run_inv(["monitor.p0", "--json", "--notify", "telegram"], env, tmp_path)
        elapsed = time.monotonic() - start
        # the verdict is out while the server is still holding the request
        assert tg.arrived.is_set() and tg.hold is not None and not tg.hold.is_set()
        assert r.returncode == 2, r.stderr
        doc = json.loads(r.stdout)
        [n] = doc["notifications"]
        assert n["ok"] is False and "timeout" in n["error"]
        assert 4.5 <= n["duration_s"] < 6.5
        assert doc["verdict"] == "p0" and "VERDICT P0 (exit 2)" in r.stderr
        run_s = (_ts(doc["finished_at"]) - _ts(doc["started_at"]))
        assert elapsed < run_s + 5 + 20  # the run, the timeout, interpreter start-up; never the server's pace
        assert TOKEN not in r.stdout + r.stderr
        assert TOKEN not in (run_dirs(tr)[0] / "events.jsonl").read_text()


def _ts(value: str) -> float:
    from runbooks.transcripts.runs import parse_ts

    return parse_ts(value).timestamp()
