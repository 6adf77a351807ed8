"""transcript.cast: a run's terminal output as an asciicast v2 recording.

    {"version": 2, "width": 160, "height": 40, "timestamp": 1764336000, "title": "..."}
    [0.012, "o", "[1/3] hello\r\n"]
    [0.011, "m", "hello"]                      one marker per step (asciinema's chapters)

Fed by the run's event stream (`CastRecorder.on_event`: a marker per step, the closing
line) and by the console (`Out.add_listener`): every text the console writes for THIS run's
target (fan-out runs share one console; each run's cast takes only its own target's lines)
is appended as an "o" event, with the console's styling as ANSI colours; the cast is a
terminal recording, so unlike events.jsonl and transcript.md it may hold escape codes.
Every text is masked by the run's Redactor before it is written. Each line is flushed as
it is written, so a crash leaves a playable (partial) recording.
Replay: `asciinema play transcript.cast`.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import IO, Any

from runbooks.model import Event
from runbooks.record.console import Out
from runbooks.record.console import ansi as _ansi
from runbooks.record.redact import Redactor
from runbooks.record.transcript import private_open

FILENAME = "transcript.cast"


def _crlf(text: str) -> str:
    """Terminals receive CR LF (the tty's onlcr), and that is what players expect."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


class CastWriter:
    """One recording for one run on one target. Thread-safe."""

    def __init__(self, path: str | Path, target: str, title: str, redactor: Redactor | None = None,
                 solo: bool = True, width: int | None = None, height: int | None = None,
                 timestamp: float | None = None) -> None:
        self.path = Path(path)
        self.target = target
        self.solo = solo  # the only run on this console: lines without a target (prompts) are ours too
        self.redactor = redactor or Redactor()
        size = shutil.get_terminal_size(fallback=(120, 40))
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._fh: IO[str] | None = private_open(self.path)
        self.write_error: OSError | None = None
        header: dict[str, Any] = {"version": 2, "width": int(width or size.columns), "height": int(height or size.lines),
                                  "timestamp": int(timestamp if timestamp is not None else time.time()),
                                  "title": self.redactor.text(title), "env": {"TERM": "xterm-256color"}}
        self._write(json.dumps(header, ensure_ascii=False))

    def _write(self, line: str) -> None:
        if self._fh is not None:
            try:
                self._fh.write(line + "\n")
                self._fh.flush()
            except OSError as exc:  # disk full: the recording stops, the run does not
                self.write_error = exc
                self._drop()

    def _drop(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass

    def _event(self, code: str, data: str) -> None:
        with self._lock:
            t = round(time.monotonic() - self._t0, 6)
            self._write(json.dumps([t, code, data], ensure_ascii=False))

    # -- console listener --------------------------------------------------------------
    def on_text(self, target: str | None, text: str, style: str | None = None) -> None:
        if target != self.target and not (target is None and self.solo):
            return
        if text:
            body = self.redactor.text(text)
            nl = "\n" if body.endswith("\n") else ""
            self._event("o", _crlf(_ansi(body[: len(body) - len(nl)], style) + nl))

    def marker(self, label: str) -> None:
        self._event("m", self.redactor.text(label))

    def close(self, final_line: str | None = None) -> None:
        if final_line:
            self._event("o", _crlf(self.redactor.text(final_line) + "\n"))
        with self._lock:
            self._drop()


class CastRecorder:
    """A run's transcript.cast as a consumer of its event stream: the console's text for
    the run's target, a marker as each step begins, and the closing line. With
    `takes_summary` the recording stays open for the summary block the caller prints
    (closed by `Out.close_records()`)."""

    def __init__(self, writer: CastWriter, out: Out, takes_summary: bool = False) -> None:
        self.writer = writer
        self.out = out
        self.takes_summary = takes_summary
        # not solo: the writer takes its target's text only, so Out need not offer it the others'
        out.add_listener(writer.on_text, None if writer.solo else writer.target)

    def on_event(self, event: Event) -> None:
        if event.type == "step_entered":
            self.writer.marker(event.data["step"])
        elif event.type == "run_closed":
            self._close(event.data)

    def _close(self, data: dict[str, Any]) -> None:
        writer, out = self.writer, self.out
        if self.takes_summary:
            def close_cast() -> None:
                out.remove_listener(writer.on_text)
                writer.close()
            out.close_after_summary(close_cast)
        else:
            out.remove_listener(writer.on_text)
            message = data.get("message")
            writer.close(f"VERDICT {str(data['verdict']).upper()} (exit {data['exit_code']})"
                         + (f": {message}" if message else ""))


def open_cast(run_dir: Path, target: str, title: str, redactor: Redactor, out: Out,
              takes_summary: bool = False) -> CastRecorder | None:
    """transcript.cast in the run's folder (None when it cannot be created: the run goes on)."""
    try:
        writer = CastWriter(run_dir / FILENAME, target, title, redactor, solo=not out.prefix_targets)
    except OSError:
        return None
    return CastRecorder(writer, out, takes_summary)


def read_cast(path: str | Path) -> tuple[dict[str, Any], list[list[Any]]]:
    """(header, events) of an asciicast v2 file; ValueError when it is not one."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValueError("empty cast file")
    header = json.loads(lines[0])
    if not isinstance(header, dict) or header.get("version") != 2:
        raise ValueError("not an asciicast v2 header")
    for key in ("width", "height"):
        if not isinstance(header.get(key), int) or header[key] <= 0:
            raise ValueError(f"header {key} must be a positive integer")
    events: list[list[Any]] = []
    last = 0.0
    for n, line in enumerate(lines[1:], 2):
        ev = json.loads(line)
        if (not isinstance(ev, list) or len(ev) != 3 or not isinstance(ev[0], (int, float))
                or ev[1] not in ("o", "i", "m", "r") or not isinstance(ev[2], str)):
            raise ValueError(f"line {n}: not an asciicast v2 event: {line[:80]}")
        if ev[0] < last:
            raise ValueError(f"line {n}: time goes backwards")
        last = ev[0]
        events.append(ev)
    return header, events
