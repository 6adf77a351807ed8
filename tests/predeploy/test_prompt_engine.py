"""The engine's Prompt request (added for predeploy's operator mode): a line, None on
timeout, Aborted on the abort answer, --yes answers only a prompt that has a default, and
no terminal means InputError, never a hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.config import Target
from runbooks.engine.events import EventStream
from runbooks.engine.operator import Operator
from runbooks.engine.options import RunOptions
from runbooks.errors import Aborted, InputError
from runbooks.model import Prompt
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.record.transcript import Transcript, utcnow
from runbooks.steps.base import Step


class FakeOut(Out):
    def __init__(self, answer: str | BaseException) -> None:
        super().__init__()
        self.answer = answer
        self.asked: list[tuple[str, float | None]] = []

    def ask(self, prompt: str, timeout: float | None = None) -> str:
        self.asked.append((prompt, timeout))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


STEP = Step(name="wait", kind="shell")


class Policy(Operator):
    """The engine's operator policy, recording into a real transcript."""

    @property
    def transcript(self) -> Transcript:
        assert isinstance(self.events.record, Transcript)
        return self.events.record


def runner(tmp_path: Path, out: Out, **opts: object) -> Policy:
    stream = EventStream(Transcript(tmp_path, "t", "t", Redactor(), utcnow()))
    return Policy(Target(name="t", transport="local", project_dir="/"),
                  RunOptions(transcript_dir=tmp_path, **opts), stream, out.ask)  # type: ignore[arg-type]


def events(r: Policy) -> list[dict]:
    return [e for e in r.transcript.events if e["type"] == "prompt"]


def test_answer_is_returned_stripped_and_recorded(tmp_path: Path) -> None:
    out = FakeOut("  done ")
    r = runner(tmp_path, out, interactive=True)
    assert r.prompt(STEP, Prompt("Press Enter", timeout=5)) == "done"
    assert out.asked[0][1] == 5
    assert events(r)[0]["answer"] == "  done " and events(r)[0]["by"].startswith("operator")


def test_timeout_returns_none(tmp_path: Path) -> None:
    r = runner(tmp_path, FakeOut(TimeoutError("no answer")), interactive=True)
    assert r.prompt(STEP, Prompt("Press Enter", timeout=0.1)) is None
    assert events(r)[0]["answer"] == "<timeout>"


def test_abort_answer_and_eof_raise_aborted(tmp_path: Path) -> None:
    with pytest.raises(Aborted, match="answered 'Q'"):
        runner(tmp_path, FakeOut("Q"), interactive=True).prompt(STEP, Prompt("Press Enter"))
    with pytest.raises(Aborted, match="stdin closed"):
        runner(tmp_path, FakeOut(EOFError()), interactive=True).prompt(STEP, Prompt("Press Enter"))


def test_without_terminal_only_yes_with_a_default_answers(tmp_path: Path) -> None:
    out = FakeOut("never asked")
    with pytest.raises(InputError, match="not a terminal"):
        runner(tmp_path, out, interactive=False).prompt(STEP, Prompt("Press Enter"))
    with pytest.raises(InputError):
        runner(tmp_path, out, interactive=False, yes=True).prompt(STEP, Prompt("Press Enter"))
    r = runner(tmp_path, out, interactive=False, yes=True)
    assert r.prompt(STEP, Prompt("Pick", default="1")) == "1"
    assert events(r)[0]["by"].startswith("--yes") and not out.asked
