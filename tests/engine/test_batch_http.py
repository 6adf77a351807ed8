"""An HttpRequest inside a Batch: sent from the operator's machine while the batch's remote
commands run, answered in its place in the batch, recorded like a lone request (the target's
headers added, their values masked)."""

from __future__ import annotations

import io
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from runbooks.commands import cmd
from runbooks.config import parse_target
from runbooks.engine.options import RunOptions
from runbooks.engine.run import run_playbook
from runbooks.lang.parse import parse_playbook
from runbooks.model import Batch, HttpRequest, HttpResponse, Result, StepOutcome
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.sshd import SshServer
from runbooks.steps.base import Step, StepContext, StepGen, step_kind
from tests.helpers import events, serve_http

TOKEN = "tok-7c1e5d0b-SECRET"
SEEN: list[str] = []


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        SEEN.append(self.headers.get("X-Telegram-Init-Data", ""))
        time.sleep(1.2)
        body = b'{"meals": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@step_kind("test.batch_http")
def _step(step: Step, ctx: StepContext) -> StepGen:
    items = (cmd("sleep 1.2; echo first"), HttpRequest("GET", step.params["url"]), cmd("echo third"))
    results = yield Batch(items)
    kinds = [type(r).__name__ for r in results]
    resp = results[1]
    assert isinstance(resp, HttpResponse) and isinstance(results[0], Result)
    return StepOutcome(message="done", facts={"kinds": kinds, "status": resp.status, "body": resp.body.decode(),
                                              "out": [results[0].stdout.strip(), results[2].stdout.strip()]})


def test_an_http_request_runs_beside_the_commands_of_its_batch(tmp_path: Path, sshd: SshServer,
                                                                monkeypatch: Any) -> None:
    monkeypatch.setenv("RB_BATCH_TOKEN", TOKEN)
    SEEN.clear()
    with serve_http(_Slow) as base:
        (tmp_path / "p").mkdir()
        target = parse_target("box", sshd.target(
            project_dir=str(tmp_path / "p"), containers={"backend": "b", "worker": "w"}, confirm="yes",
            api={"base_url": base, "headers": {"X-Telegram-Init-Data": "${RB_BATCH_TOKEN}"}}), "test")
        pb = parse_playbook({"name": "bh", "steps": [{"name": "both", "kind": "test.batch_http",
                                                      "params": {"url": f"{base}/api/v1/meals/?date=2026-01-01"}}]},
                            "test")
        started = time.monotonic()
        res = run_playbook(pb, target, RunOptions(task="bh", transcript_dir=tmp_path / "tr", interactive=False),
                           Out(json_mode=True, stream=io.StringIO()), Redactor())
        elapsed = time.monotonic() - started
    assert res.exit_code == 0, res.message
    facts = res.facts["both"]
    assert facts["kinds"] == ["Result", "HttpResponse", "Result"]  # in the order given
    assert facts["status"] == 200 and facts["body"] == '{"meals": []}'
    assert facts["out"] == ["first", "third"]
    assert SEEN == [TOKEN]  # the target's headers, resolved at the last moment
    assert elapsed < 2.3  # 1.2 s on the host and 1.2 s for the API, side by side
    ev = events(Path(res.transcript).parent)
    assert [e["type"] for e in ev if e["type"].startswith("http")] == ["http", "http_finished"]
    assert all(e["step"] == "both" for e in ev if e["type"].startswith("http"))
    assert sum(1 for e in ev if e["type"] == "command_finished") == 2
    record = "".join(p.read_text(errors="replace") for p in Path(res.transcript).parent.iterdir() if p.is_file())
    assert TOKEN not in record
