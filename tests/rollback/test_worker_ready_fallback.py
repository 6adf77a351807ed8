"""The rollback's verify step when the rebuilt worker logs at WARNING: no `ready.` line, so it
asks the worker itself (`celery inspect ping` through `docker exec`, one extra command) and
says which evidence it used. The full rollback runs in-process (to shorten the ready-line
wait), over a real sshd, against the sandbox."""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from typing import Any

import pytest

from runbooks.app import TaskSpec, run_task
from runbooks.packs.eatfit24.monitor.sections import run_vars
from runbooks.packs.eatfit24.rollback import cmds
from runbooks.record.transcript import iso, utcnow
from runbooks.sandbox.paths import INIT_DATA_ENV
from tests.rollback.conftest import FEATURE, Host

PING_ARGV = ["exec", "celery", "-A", "config", "inspect", "ping", "--timeout", "10"]


def _rollback(host: Host, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    monkeypatch.setenv("RUNBOOKS_CONFIG", str(host.config))
    monkeypatch.setenv(INIT_DATA_ENV, host.sandbox.init_data)
    started = iso(utcnow())
    variables = {"commit": host.sha_of(FEATURE), "reset_to": None, "cleanup": False, "break_lock": False,
                 "start_at": None, "lock_token": uuid.uuid4().hex, "operator": getpass.getuser(),
                 "client_host": socket.gethostname(), "client_pid": os.getpid(), "started_at": started,
                 **run_vars("monitor.p0", since=started), "worker_ready_s": 2}
    code = run_task(TaskSpec(task="rollback", playbook="rollback", target="box", json=True,
                             transcript_dir=str(host.transcripts), vars=variables, yes=True, single_target=True),
                    argv=["inv", "rollback"])
    out = [x for x in capsys.readouterr().out.splitlines() if x.strip()]
    d = json.loads(out[-1])
    assert d["exit_code"] == code
    return d


def _verify(host: Host) -> dict[str, Any]:
    return next(e for e in host.events() if e["type"] == "step_finished" and e["step"] == "verify")


def _pings(host: Host) -> list[list[str]]:
    worker = host.target["containers"]["worker"]
    return [c["argv"] for c in host.calls() if c["argv"][1:2] == ["exec"] and "ping" in c["argv"]
            and [a for a in c["argv"][1:] if a != worker] == PING_ARGV]


def test_worker_at_warning_is_verified_by_asking_it(host: Host, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    host.sandbox.inject("worker_log_warning")
    d = _rollback(host, monkeypatch, capsys)
    assert (d["verdict"], d["exit_code"]) == ("ok", 0), d
    v = _verify(host)
    assert v["status"] == "ok" and "answered `celery inspect ping`" in v["message"] and "no `ready.` line" in v["message"]
    worker = host.target["containers"]["worker"]
    assert _pings(host) == [["docker", "exec", worker, "celery", "-A", "config", "inspect", "ping", "--timeout", "10"]]
    # the worker really is the recreated one, and it really printed no ready line
    from tests.sandbox.helpers import docker

    assert "ready." not in docker(host.sandbox, "logs", worker, merge=True).stdout


def test_worker_at_info_is_verified_by_its_ready_line_without_asking(host: Host, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    d = _rollback(host, monkeypatch, capsys)
    assert (d["verdict"], d["exit_code"]) == ("ok", 0), d
    v = _verify(host)
    assert v["status"] == "ok" and "its `ready.` log line" in v["message"] and "ping" not in v["message"]
    assert _pings(host) == []


def test_ping_answer_parsing() -> None:
    assert cmds.pinged("->  celery@3f2a1b0c9d8e: OK\n        pong\n\n1 node online.\n")
    assert not cmds.pinged("Error: No nodes replied within time constraint.\n")
    assert not cmds.pinged("->  celery@3f2a1b0c9d8e: OK\n")  # no pong
    assert not cmds.pinged("")
    c = cmds.worker_ping({"worker": "eatfit24-celery-worker-1; rm -rf /"})
    assert "'eatfit24-celery-worker-1; rm -rf /'" in c.display()
