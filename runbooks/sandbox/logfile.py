"""Container logs in docker's json-file format: writing (live or batched) and reading.

One JSON object per line: ``{"log": "<text>\\n", "stream": "stdout"|"stderr", "time": "..."}``,
``time`` being UTC with 9 fractional digits, so stamps compare as text. Reading follows moby's
``tailFile``: ``--tail N`` takes the last N lines of the file first, then ``--since`` skips
lines older than since (inclusive bound) and ``--until`` stops at the first newer line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from runbooks.sandbox.fslock import locked
from runbooks.sandbox.timefmt import docker_stamp, normalize_stamp


def encode(text: str, stream: str, stamp: str) -> str:
    return json.dumps({"log": text + "\n", "stream": stream, "time": stamp},
                      ensure_ascii=False, separators=(",", ":")) + "\n"


@dataclass(order=True)
class Entry:
    stamp: str
    seq: int
    container: str = field(compare=False)
    line: str = field(compare=False)  # encoded json line, with trailing newline


class LogSink:
    """Where simulated processes write their log lines.

    ``emit`` takes the moment the line is written; several lines at the same moment keep
    their order (each gets 1 µs more) because docker stamps every line separately.
    """

    def __init__(self, paths) -> None:  # paths: StatePaths
        self.paths = paths
        self._seq = 0

    def emit(self, container: str, text: str, at: datetime, stream: str = "stdout") -> None:
        for i, part in enumerate(text.split("\n")):
            self._seq += 1
            stamp = docker_stamp(at, extra_ns=i * 1000)
            self._write(Entry(stamp, self._seq, container, encode(part, stream, stamp)))

    def _write(self, entry: Entry) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Push buffered lines to the files (no-op for live sinks)."""


class LiveSink(LogSink):
    """Appends each line as it happens (the live worker and API)."""

    def _write(self, entry: Entry) -> None:
        path = self.paths.log_file(entry.container)
        with locked(self.paths.lock):
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(entry.line)


class BatchSink(LogSink):
    """Collects backdated lines and merges them into the files in time order on flush.

    The simulator generates a day of traffic in the past; appending it after lines written
    "now" would break the time order docker's files have, so files are merged instead.
    """

    def __init__(self, paths) -> None:
        super().__init__(paths)
        self.entries: dict[str, list[Entry]] = {}

    def _write(self, entry: Entry) -> None:
        self.entries.setdefault(entry.container, []).append(entry)

    def flush(self) -> None:
        with locked(self.paths.lock):
            for container, new in self.entries.items():
                merge_into(self.paths.log_file(container), sorted(new))
        self.entries = {}


def _stamp_of(line: str) -> str:
    i = line.rfind('"time":"')
    if i >= 0:
        j = line.find('"', i + 8)
        try:
            return normalize_stamp(line[i + 8:j])
        except ValueError:
            pass
    return normalize_stamp(json.loads(line)["time"])


def merge_into(path: Path, new: list[Entry]) -> None:
    """Merge sorted entries into a log file, keeping it sorted by time (stable)."""
    if not new:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    last = _last_line(path) if path.exists() else ""
    if not last or _stamp_of(last) <= new[0].stamp:
        with open(path, "a", encoding="utf-8") as fh:
            fh.writelines(e.line for e in new)
        return
    tmp = path.with_suffix(".merge")
    with open(path, encoding="utf-8") as fh, open(tmp, "w", encoding="utf-8") as out:
        k = 0
        for line in fh:
            stamp = _stamp_of(line)
            while k < len(new) and new[k].stamp < stamp:
                out.write(new[k].line)
                k += 1
            out.write(line)
        out.writelines(e.line for e in new[k:])
    os.replace(tmp, path)


def _last_line(path: Path) -> str:
    lines = tail_lines(path, 1)
    return lines[0] if lines else ""


# ---------------------------------------------------------------- reading

def tail_lines(path: Path, n: int, block: int = 1 << 16) -> list[str]:
    """Last ``n`` lines of a file, reading backwards (fast on huge files)."""
    if n <= 0:
        return []
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        pos = fh.tell()
        chunks: list[bytes] = []
        newlines = 0
        while pos > 0 and newlines <= n:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            chunk = fh.read(step)
            newlines += chunk.count(b"\n")
            chunks.append(chunk)
        data = b"".join(reversed(chunks))
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if pos > 0:
        lines = lines[1:]  # first piece may be a partial line
    return [ln.decode("utf-8", "replace") + "\n" for ln in lines[-n:]]


@dataclass
class Record:
    stamp: str
    stream: str
    text: str  # with trailing newline as stored


def decode(line: str) -> Record:
    obj = json.loads(line)
    return Record(normalize_stamp(obj["time"]), obj.get("stream", "stdout"), obj.get("log", ""))


def read_records(path: Path, tail: int | None = None, since: str | None = None,
                 until: str | None = None) -> Iterator[Record]:
    """Records of one log file with docker's semantics (``tail`` None/negative = all)."""
    if not path.exists():
        return
    if tail is not None and tail >= 0:
        lines: Iterator[str] | list[str] = tail_lines(path, tail)
        fh = None
    else:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
        lines = fh
    try:
        for line in lines:
            if not line.strip():
                continue
            if since is not None or until is not None:
                stamp = _stamp_of(line)
                if since is not None and stamp < since:
                    continue
                if until is not None and stamp > until:
                    return
            yield decode(line)
    finally:
        if fh is not None:
            fh.close()
