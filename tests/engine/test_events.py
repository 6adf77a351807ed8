"""The run's one event stream: each event is emitted once and the transcript, the console
and the cast each take it through `on_event`; a failing consumer neither loses the record
nor keeps the event from the others. Real transcript, console and cast files."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from runbooks.config import parse_target
from runbooks.engine.events import EventStream
from runbooks.engine.options import RunOptions
from runbooks.engine.run import run_playbook
from runbooks.lang.parse import parse_playbook
from runbooks.model import Event, Result
from runbooks.record.cast import FILENAME, CastRecorder, CastWriter, read_cast
from runbooks.record.console import Out, RunView
from runbooks.record.redact import Redactor
from runbooks.record.transcript import Transcript
from tests.helpers import events

SECRET = "s3cr3t-token-value"


def _outputs(tmp_path: Path) -> tuple[EventStream, Transcript, io.StringIO, CastWriter]:
    redactor = Redactor([SECRET])
    tr = Transcript(tmp_path, "t", "box", redactor)
    screen = io.StringIO()
    out = Out(stream=screen)
    cast = CastWriter(tr.dir / FILENAME, "box", "t on box", redactor)
    stream = EventStream(tr, [RunView(out, "box", redactor), CastRecorder(cast, out)])
    return stream, tr, screen, cast


def _cast_text(tr: Transcript) -> tuple[str, list[str]]:
    _, evs = read_cast(tr.dir / FILENAME)
    return "".join(e[2] for e in evs if e[1] == "o"), [e[2] for e in evs if e[1] == "m"]


def test_one_emit_reaches_transcript_console_and_cast_masked(tmp_path: Path) -> None:
    stream, tr, screen, _ = _outputs(tmp_path)
    stream("step_entered", record=False, show=False, step="probe")
    recorded = stream("note", step="probe", text=f"token {SECRET} rotated", level="warn")
    assert recorded is not None and recorded["seq"] == 1  # the transcript's own record, with its seq
    on_disk = events(tr.dir)
    assert [(e["type"], e["text"]) for e in on_disk] == [("note", "token *** rotated")]
    assert "rotated" in screen.getvalue() and SECRET not in screen.getvalue()
    text, markers = _cast_text(tr)
    assert "rotated" in text and SECRET not in text
    assert markers == ["probe"]  # a screen-only event: in the cast, not in the record


def test_screen_only_and_record_only_events_go_where_they_say(tmp_path: Path) -> None:
    stream, tr, screen, _ = _outputs(tmp_path)
    stream.line("only on the screen")
    stream("note", show=False, step="s", text="only in the record", level="info")
    assert [e["type"] for e in events(tr.dir)] == ["note"]
    assert events(tr.dir)[0]["text"] == "only in the record"
    assert "only on the screen" in screen.getvalue() and "only in the record" not in screen.getvalue()


def test_command_finished_shows_the_full_result_and_records_the_fields(tmp_path: Path) -> None:
    stream, tr, screen, _ = _outputs(tmp_path)
    res = Result(command="false", exit_code=7, stdout="", stderr="boom\n", duration_s=0.25)
    stream("command_finished", result=res, step="s", command="false", command_seq=1, exit_code=7,
           duration_s=0.25, timed_out=False, timeout=10, dry_run=False, mutates=False, stdout="", stderr="boom\n")
    assert events(tr.dir)[0]["exit_code"] == 7
    assert "exit 7 (0.25s)" in screen.getvalue()


class Broken:
    def __init__(self) -> None:
        self.calls = 0

    def on_event(self, event: Event) -> Any:
        self.calls += 1
        raise OSError("terminal went away")


def test_a_failing_consumer_loses_neither_the_record_nor_the_other_consumers(tmp_path: Path) -> None:
    stream, tr, screen, _ = _outputs(tmp_path)
    broken = Broken()
    stream.consumers.insert(0, broken)  # before the console and the cast
    with pytest.raises(OSError, match="terminal went away"):
        stream("note", step="s", text="after the failure", level="info")
    assert broken.calls == 1
    assert [e["text"] for e in events(tr.dir)] == ["after the failure"]  # on disk, flushed
    assert "after the failure" in screen.getvalue()  # the console after the broken one still got it
    assert "after the failure" in _cast_text(tr)[0]


def test_a_run_writes_each_event_once_and_every_output_agrees(tmp_path: Path) -> None:
    target = parse_target("box", {"transport": "local", "project_dir": str(tmp_path), "role": "dev",
                                  "containers": {"backend": "b", "worker": "w"}}, "test")
    pb = parse_playbook({"name": "two", "steps": [
        {"name": "hello", "kind": "shell", "params": {"command": "echo hello"}},
        {"name": "bye", "kind": "shell", "params": {"command": "echo bye; exit 3"}},
    ]}, "test.yml")
    screen = io.StringIO()
    res = run_playbook(pb, target, RunOptions(task="two", transcript_dir=tmp_path / "tr", interactive=False),
                       Out(stream=screen), Redactor())
    assert res.verdict == "failed" and res.exit_code == 2
    run_dir = Path(res.transcript).parent
    ev = events(run_dir)
    assert [e["step"] for e in ev if e["type"] == "step_started"] == ["hello", "bye"]
    assert [e["type"] for e in ev].count("command") == 2 and [e["type"] for e in ev].count("command_finished") == 2
    shown = screen.getvalue()
    for line in ("[1/2] hello", "[2/2] bye", "$ echo hello", "    exit 3 (", "→ bye FAILED"):
        assert shown.count(line) == 1, (line, shown)  # each event on the console exactly once
    _, casted = read_cast(run_dir / FILENAME)
    assert [e[2] for e in casted if e[1] == "m"] == ["hello", "bye"]  # one marker per step
    cast_text = "".join(e[2] for e in casted if e[1] == "o")
    assert "[1/2] hello" in cast_text and "VERDICT FAILED (exit 2)" in cast_text
    assert json.loads((run_dir / "events.jsonl").read_text().splitlines()[-1])["type"] == "run_finished"
