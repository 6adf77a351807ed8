"""Request handlers: one per request type, chosen by the request's type; single commands
and batches recorded by one recorder; a Confirm arms its step; a verdict Note reaches the
verdict. Real local connector, real transcript."""

from __future__ import annotations

import io
import typing
from pathlib import Path
from typing import Any

from runbooks.commands import cmd
from runbooks.config import parse_target
from runbooks.engine.handlers import Handlers
from runbooks.engine.options import RunOptions
from runbooks.engine.run import run_playbook
from runbooks.lang.parse import parse_playbook
from runbooks.model import Batch, Confirm, Note, RunResult, StepOutcome
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.steps.base import Request, Step, StepContext, StepGen, step_kind
from tests.helpers import events


@step_kind("test.handlers.mixed")
def _mixed(step: Step, ctx: StepContext) -> StepGen:
    one = yield cmd("echo {{ w }}", w="single")
    two = yield Batch((cmd("echo a"), cmd("echo b; exit 4")))
    yield Note("the worker is STOPPED", level="warn", verdict=True)
    return StepOutcome(facts={"out": [one.stdout.strip(), *(r.stdout.strip() for r in two)],
                              "codes": [one.exit_code, *(r.exit_code for r in two)]})


@step_kind("test.handlers.bogus")
def _bogus(step: Step, ctx: StepContext) -> StepGen:
    yield "rm -rf /"  # type: ignore[misc]  # a string is not a request
    return StepOutcome()


@step_kind("test.handlers.confirm_then_mutate")
def _confirm_then_mutate(step: Step, ctx: StepContext) -> StepGen:
    if step.params.get("ask_first"):
        yield Confirm("Stop the worker?")
    yield cmd("echo stopped", mutates=True)
    yield cmd("echo started", mutates=True)
    return StepOutcome()


def _run(tmp: Path, steps: list[dict[str, Any]], **opts: Any) -> tuple[RunResult, list[dict[str, Any]]]:
    target = parse_target("box", {"transport": "local", "project_dir": str(tmp), "role": "dev", "confirm": "yes",
                                  "containers": {"backend": "b", "worker": "w"}}, "test")
    pb = parse_playbook({"name": "h", "steps": steps}, "test.yml")
    opts.setdefault("interactive", False)
    res = run_playbook(pb, target, RunOptions(task="h", transcript_dir=tmp / "tr", **opts),
                       Out(stream=io.StringIO()), Redactor())
    return res, events(Path(res.transcript).parent)


def test_every_request_type_has_exactly_one_handler() -> None:
    handlers = Handlers(None)  # type: ignore[arg-type]  # the table needs no session
    assert set(handlers._table) == set(typing.get_args(Request))  # keyed by type: a new request needs an entry
    assert len({h.__name__ for h in handlers._table.values()}) == len(handlers._table)


def test_commands_and_batches_share_one_recorder(tmp_path: Path) -> None:
    res, ev = _run(tmp_path, [{"name": "mixed", "kind": "test.handlers.mixed"}])
    assert res.facts["mixed"] == {"out": ["single", "a", "b"], "codes": [0, 0, 4]}
    started = [e for e in ev if e["type"] == "command"]
    finished = [e for e in ev if e["type"] == "command_finished"]
    assert [e["command"] for e in started] == ["echo single", "echo a", "echo b; exit 4"]
    assert [e.get("batch") for e in started] == [None, 2, 2]
    # the same fields whichever way a command ran (a batch adds only its size)
    assert {k for k in started[0] if k not in ("seq", "ts", "prev")} == \
        {k for k in started[1] if k not in ("seq", "ts", "prev", "batch")}
    assert len({frozenset(k for k in e if k not in ("seq", "ts", "prev")) for e in finished}) == 1
    assert sorted(e["command_seq"] for e in finished) == [e["seq"] for e in started]
    assert res.verdict == "ok" and "the worker is STOPPED" in res.message  # the verdict Note
    assert any(e["type"] == "note" and e.get("verdict") for e in ev)


def test_a_value_that_is_not_a_request_fails_the_step_with_a_recorded_error(tmp_path: Path) -> None:
    res, ev = _run(tmp_path, [{"name": "bogus", "kind": "test.handlers.bogus"}])
    assert res.verdict == "failed" and res.exit_code == 2
    assert "yielded str, not a request" in res.steps[0].message
    assert any(e["type"] == "error" and "traceback" in e for e in ev)


def test_a_granted_confirm_arms_its_step_and_without_one_each_mutating_command_asks(tmp_path: Path) -> None:
    step = {"name": "stop", "kind": "test.handlers.confirm_then_mutate", "mutates": True, "confirm": True}
    _, ev = _run(tmp_path / "a", [{**step, "params": {"ask_first": True}}], yes=True)
    confirms = [e for e in ev if e["type"] == "confirm"]
    assert [c["prompt"] for c in confirms] == ["Stop the worker?"]  # one answer covers the step
    _, ev = _run(tmp_path / "b", [{**step, "params": {"ask_first": False}}], yes=True)
    confirms = [e for e in ev if e["type"] == "confirm"]
    assert [c["commands"] for c in confirms] == [["echo stopped"], ["echo started"]]
    assert all(c["by"].startswith("--yes on behalf of") for c in confirms)
