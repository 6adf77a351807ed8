"""`inv alerts.list` and `inv alerts.ack` as a user runs them; bad input is refused with one
line and exit 3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.alerts.servers import serve
from tests.helpers import inv_env, run_dirs, run_inv, write_config


def _env(tmp_path: Path, target: dict[str, Any], **extra: str) -> tuple[dict[str, str], Path]:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": target}, default_target="box")
    tr = tmp_path / "transcripts"
    return inv_env(cfg, tr, **extra), tr


def test_acknowledged_problem_is_shown_but_not_notified(sandbox: Any, sandbox_target: dict[str, Any],
                                                        tmp_path: Path) -> None:
    first = sandbox.inject("stuck_photo")
    with serve("webhook") as hook:
        env, tr = _env(tmp_path, sandbox_target, RUNBOOKS_WEBHOOK_URL=hook.url)
        assert run_inv(["monitor.p0", "--notify", "webhook"], env, tmp_path).returncode == 2
        assert len(hook.received) == 1
        listed = json.loads(run_inv(["alerts.list", "--json"], env, tmp_path).stdout)
        [p] = listed["problems"]
        key = p["key"]
        assert key == f"stuck_photos:photo={first['photo_id']}" and p["state"] == "open" and p["acked"] is None

        r = run_inv(["alerts.ack", key, "--for", "4h", "--why", "worker restart at 14:00"], env, tmp_path)
        assert r.returncode == 0, r.stderr
        assert f"ACKNOWLEDGED {key} on box until" in r.stdout

        sandbox.inject("stuck_photo")
        sandbox.inject("stuck_photo")  # count 1 -> 3: an escalation, but acknowledged
        r = run_inv(["monitor.p0", "--json", "--notify", "webhook"], env, tmp_path)
        assert r.returncode == 2
        doc = json.loads(r.stdout)
        stuck = next(x for x in doc["findings"] if x["id"] == "stuck_photos")
        assert stuck["count"] == 3 and stuck["alert"]["state"] == "ongoing" and stuck["alert"]["key"] == key
        assert stuck["alert"]["acked"]["why"] == "worker restart at 14:00" and "@" in stuck["alert"]["acked"]["by"]
        assert doc["alerts"]["silenced"][0]["key"] == key and doc["notifications"] == []
        assert len(hook.received) == 1  # still one message
        assert "acked by" in r.stderr
        md = Path(doc["transcript"]).read_text()
        assert "(acked by" in md and "worker restart at 14:00" in md

        listed = json.loads(run_inv(["alerts.list", "--json"], env, tmp_path).stdout)
        assert listed["problems"][0]["acked"]["why"] == "worker restart at 14:00"
        human = run_inv(["alerts.list"], env, tmp_path)
        assert key in human.stdout and "worker restart at 14:00" in human.stdout


def test_bad_input_one_line_exit_3(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    env, tr = _env(tmp_path, sandbox_target)
    r = run_inv(["monitor.p0", "--notify", "telegram"], env, tmp_path)
    assert r.returncode == 3 and "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID" in r.stderr and "Traceback" not in r.stderr
    assert not run_dirs(tr)  # refused before anything ran
    r = run_inv(["monitor.p0", "--notify", "pager"], env, tmp_path)
    assert r.returncode == 3 and "--notify 'pager'" in r.stderr
    r = run_inv(["alerts.ack", "stuck_photos:photo=1", "--why", "x"], env, tmp_path)
    assert r.returncode == 3 and "no open problem" in r.stderr and "Traceback" not in r.stderr
    r = run_inv(["alerts.ack", "k", "--for", "soon", "--why", "x"], env, tmp_path)
    assert r.returncode == 3 and "--for" in r.stderr
    r = run_inv(["alerts.ack", "k"], env, tmp_path)
    assert r.returncode == 3 and "--why" in r.stderr
    r = run_inv(["alerts.list"], env, tmp_path)
    assert r.returncode == 0 and "No open problems" in r.stdout
