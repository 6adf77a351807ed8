"""Batch: read-only commands run concurrently on the run's ONE connection, each recorded;
a cancel kills every one of them on the host; mutating commands are refused."""

from __future__ import annotations

import io
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from runbooks.commands import cmd
from runbooks.config import parse_target
from runbooks.engine.options import RunOptions
from runbooks.engine.run import run_playbook
from runbooks.lang.parse import parse_playbook
from runbooks.model import Batch, StepOutcome
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.sshd import SshServer
from runbooks.steps.base import Step, StepContext, StepGen, step_kind
from tests.helpers import events


@step_kind("test.batch")
def _batch_step(step: Step, ctx: StepContext) -> StepGen:
    cmds = tuple(cmd(c, mutates=bool(step.params.get("mutates"))) for c in step.params["commands"])
    results = yield Batch(cmds)
    return StepOutcome(message="done", facts={"out": [r.stdout.strip() for r in results],
                                              "codes": [r.exit_code for r in results]})


def _run(srv: SshServer, tmp_path: Path, commands: list[str], cancel: threading.Event | None = None,
         mutates: bool = False) -> Any:
    (tmp_path / "p").mkdir(exist_ok=True)
    target = parse_target("box", srv.target(project_dir=str(tmp_path / "p"), containers={"backend": "b", "worker": "w"},
                                            confirm="yes"), "test")
    pb = parse_playbook({"name": "batch", "steps": [{"name": "both", "kind": "test.batch", "mutates": mutates,
                                                     "params": {"commands": commands, "mutates": mutates}}]}, "test")
    opts = RunOptions(task="batch", transcript_dir=tmp_path / "tr", interactive=False, cancel=cancel)
    return run_playbook(pb, target, opts, Out(json_mode=True, stream=io.StringIO()), Redactor())


def test_commands_run_concurrently_on_one_connection(tmp_path: Path, sshd: SshServer) -> None:
    started = time.monotonic()
    res = _run(sshd, tmp_path, ["sleep 1.5; echo first", "sleep 1.5; echo second", "echo third; exit 3"])
    elapsed = time.monotonic() - started
    assert res.exit_code == 0, res.message
    assert res.facts["both"]["out"] == ["first", "second", "third"]  # in the order given
    assert res.facts["both"]["codes"] == [0, 0, 3]
    assert elapsed < 3.0  # 1.5 s + 1.5 s ran side by side
    assert sshd.accepted_auths() == 1
    ev = events(Path(res.transcript).parent)
    assert sum(1 for e in ev if e["type"] == "command") == 3
    assert sum(1 for e in ev if e["type"] == "command_finished") == 3


def test_cancel_kills_every_command_on_the_host(tmp_path: Path, sshd: SshServer) -> None:
    cancel = threading.Event()

    def trip() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = subprocess.run(["pgrep", "-f", "sleep 37[12]"], capture_output=True, text=True)
            if len(r.stdout.split()) >= 2:
                break
            time.sleep(0.05)
        cancel.set()

    threading.Thread(target=trip, daemon=True).start()
    res = _run(sshd, tmp_path, ["sleep 371", "sleep 372"], cancel=cancel)
    assert res.verdict == "aborted" and res.exit_code == 4
    deadline = time.monotonic() + 10
    while subprocess.run(["pgrep", "-f", "sleep 37[12]"], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "a batched command survived the cancel on the host"
        time.sleep(0.05)


def test_a_mutating_command_in_a_batch_is_refused(tmp_path: Path, sshd: SshServer) -> None:
    marker = tmp_path / "p" / "mutated"
    res = _run(sshd, tmp_path, [f"touch {marker}", "true"], mutates=True)
    assert res.exit_code == 2 and "only read-only" in res.message
    assert not marker.exists()
