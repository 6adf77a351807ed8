"""The plan is decided once and the run takes it as given; the one verdict/exit table."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from runbooks.config import parse_target
from runbooks.engine.options import RunOptions
from runbooks.engine.plan import Plan, check_can_run
from runbooks.engine.run import run_playbook
from runbooks.engine.verdict import EXIT_FOR_VERDICT, exit_for, refused, verdict_for_exit, worst, worst_exit
from runbooks.errors import ABORTED, CANNOT_RUN, FAILED, OK, WARN, InputError
from runbooks.lang.parse import parse_playbook
from runbooks.record.console import Out
from runbooks.record.redact import Redactor


def _setup(tmp: Path) -> tuple[object, object]:
    target = parse_target("box", {"transport": "local", "project_dir": str(tmp), "role": "dev",
                                  "containers": {"backend": "b", "worker": "w"}}, "test")
    log = tmp / "log"
    pb = parse_playbook({"name": "p", "vars": {"greeting": "hi"}, "steps": [
        {"name": "first", "kind": "shell", "params": {"command": f"echo {{{{ greeting }}}} >> {log}"}},
        {"name": "second", "kind": "shell", "params": {"command": f"echo second >> {log}"}},
        {"name": "stop", "kind": "shell", "mutates": True, "confirm": True, "params": {"command": f"echo stop >> {log}"}},
    ]}, "test.yml")
    return pb, target


def test_the_run_takes_the_checked_plan_as_given(tmp_path: Path) -> None:
    pb, target = _setup(tmp_path)
    opts = RunOptions(task="p", transcript_dir=tmp_path / "tr", start_at="second", yes=True, interactive=False)
    plan = check_can_run(pb, target, opts)  # type: ignore[arg-type]
    assert plan.names == ["second", "stop"] and plan.variables["greeting"] == "hi"
    assert plan.position(plan.steps[1]) == 2
    res = run_playbook(pb, target, opts, Out(stream=io.StringIO()), Redactor(), plan)  # type: ignore[arg-type]
    assert [s.name for s in res.steps] == ["second", "stop"]
    assert (tmp_path / "log").read_text().split() == ["second", "stop"]
    # the loop iterates the plan it is given, not one it works out again (how a filter plugs in)
    only = Plan(plan.steps[1:], {**plan.variables})
    res = run_playbook(pb, target, opts, Out(stream=io.StringIO()), Redactor(), only)  # type: ignore[arg-type]
    assert [s.name for s in res.steps] == ["stop"]
    assert (tmp_path / "log").read_text().split() == ["second", "stop", "stop"]


def test_confirmations_without_a_terminal_are_refused_before_anything_runs(tmp_path: Path) -> None:
    pb, target = _setup(tmp_path)
    opts = RunOptions(task="p", transcript_dir=tmp_path / "tr", interactive=False)
    with pytest.raises(InputError, match=r"needs confirmations \(steps: stop\)"):
        check_can_run(pb, target, opts)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        run_playbook(pb, target, opts, Out(stream=io.StringIO()), Redactor())  # type: ignore[arg-type]
    assert not (tmp_path / "log").exists() and not (tmp_path / "tr").exists()


def test_the_one_verdict_table() -> None:
    assert EXIT_FOR_VERDICT == {"ok": OK, "warn": WARN, "unknown": CANNOT_RUN, "p0": FAILED, "failed": FAILED,
                                "error": CANNOT_RUN, "aborted": ABORTED}
    assert [exit_for(v) for v in ("ok", "warn", "p0", "unknown")] == [0, 1, 2, 3]
    assert verdict_for_exit(4) == "aborted" and verdict_for_exit(99) == "?"
    assert refused(ABORTED) == "aborted" and refused(CANNOT_RUN) == "error"
    assert worst(["ok", "unknown", "p0"]) == "p0"  # what was seen outranks what was not
    assert worst_exit([0, 3, 2]) == 3 and worst_exit([1, 2]) == 2 and worst_exit([]) == 0
