"""The engine extension used by rollback: `always: true` steps.

They run when --start-at begins after them, and they still run after a failed step, a
declined confirmation or Ctrl-C, on the same connection, without changing the verdict.
Real runner, real local connector (commands run in a shell), real transcript.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from runbooks.config import parse_target
from runbooks.engine.options import RunOptions
from runbooks.engine.run import run_playbook
from runbooks.errors import PlaybookError
from runbooks.lang.parse import parse_playbook
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.steps.base import Step, StepContext, StepGen, step_kind


@step_kind("test.interrupt")
def _interrupt(step: Step, ctx: StepContext) -> StepGen:
    yield from ()
    raise KeyboardInterrupt


def _target(tmp: Path):
    return parse_target("t", {"transport": "local", "project_dir": str(tmp), "role": "dev", "confirm": "yes",
                              "containers": {"backend": "b", "worker": "w"}}, "test")


def _playbook(tmp: Path, middle: dict) -> object:
    log = tmp / "log"
    steps = [
        {"name": "check", "kind": "shell", "always": True, "params": {"command": f"echo check >> {log}"}},
        {"name": "one", "kind": "shell", "params": {"command": f"echo one >> {log}"}},
        {"name": "bad", **middle},
        {"name": "never", "kind": "shell", "params": {"command": f"echo never >> {log}"}},
        {"name": "release", "kind": "shell", "always": True, "mutates": True,
         "params": {"command": f"echo release >> {log}"}},
    ]
    return parse_playbook({"name": "t", "steps": steps}, "test.yml")


def _run(tmp: Path, middle: dict, **opts: object):
    pb = _playbook(tmp, middle)
    opts.setdefault("interactive", False)
    options = RunOptions(task="t", transcript_dir=tmp / "tr", resume="resume --start-at {step}",
                         **opts)  # type: ignore[arg-type]
    res = run_playbook(pb, _target(tmp), options, Out(stream=io.StringIO()), Redactor())
    lines = (tmp / "log").read_text().split() if (tmp / "log").exists() else []
    return res, lines


def test_always_step_runs_after_a_failed_step(tmp_path: Path) -> None:
    res, lines = _run(tmp_path, {"kind": "shell", "params": {"command": "exit 7"}})
    assert lines == ["check", "one", "release"]  # `never` did not run, `release` did
    assert res.verdict == "failed" and res.exit_code == 2
    assert res.resume == "resume --start-at bad"  # the resume hint names the failed step, not the always one
    assert [(s.name, s.status) for s in res.steps] == [("check", "ok"), ("one", "ok"), ("bad", "failed"),
                                                        ("release", "ok")]
    events = [json.loads(x) for x in Path(res.transcript).with_name("events.jsonl").read_text().splitlines()]
    assert any(e["type"] == "step_finished" and e["step"] == "release" for e in events)


def test_always_step_runs_after_ctrl_c(tmp_path: Path) -> None:
    res, lines = _run(tmp_path, {"kind": "test.interrupt"})
    assert lines == ["check", "one", "release"]
    assert res.verdict == "aborted" and res.exit_code == 4
    assert res.resume == "resume --start-at bad"


def test_always_step_runs_after_a_declined_confirmation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))  # the operator answers "n"
    res, lines = _run(tmp_path, {"kind": "shell", "mutates": True, "confirm": True, "params": {"command": "true"}},
                      interactive=True)
    assert lines == ["check", "one", "release"]
    assert res.verdict == "aborted" and res.exit_code == 4
    assert res.steps[-1].name == "release" and res.steps[-1].status == "ok"


def test_start_at_still_runs_always_steps_before_it(tmp_path: Path) -> None:
    res, lines = _run(tmp_path, {"kind": "shell", "params": {"command": "true"}}, start_at="never")
    assert lines == ["check", "never", "release"]
    assert res.exit_code == 0


def test_success_runs_each_always_step_once(tmp_path: Path) -> None:
    res, lines = _run(tmp_path, {"kind": "shell", "params": {"command": "true"}})
    assert lines == ["check", "one", "never", "release"]


def test_always_must_be_boolean() -> None:
    with pytest.raises(PlaybookError, match="always: must be true or false"):
        parse_playbook({"name": "x", "steps": [{"name": "a", "kind": "shell", "always": "yes",
                                                "params": {"command": "true"}}]}, "x.yml")


def test_outcome_of_always_step_does_not_change_verdict(tmp_path: Path) -> None:
    pb = parse_playbook({"name": "t", "steps": [
        {"name": "a", "kind": "shell", "params": {"command": "true"}},
        {"name": "z", "kind": "shell", "always": True, "params": {"command": "true"}},
    ]}, "t.yml")
    res = run_playbook(pb, _target(tmp_path), RunOptions(task="t", transcript_dir=tmp_path / "tr"),
                       Out(stream=io.StringIO()), Redactor())
    assert res.exit_code == 0 and [s.name for s in res.steps] == ["a", "z"]
