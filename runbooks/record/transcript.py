"""The transcript: the postmortem artifact of every run.

`events.jsonl` gets one JSON object per event, written and flushed as it happens (a
crash, `kill -9` or Ctrl-C keeps everything up to that moment). Each event carries the
SHA-256 of the previous line (`prev`), so edits, removals and truncation are detectable
(`inv transcripts.verify`). Every string is passed through the Redactor before it is
written. `transcript.md` is rendered from `templates/transcript.md.j2` at the end of the
run, including failed and interrupted runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runbooks.model import Event
from runbooks.record.redact import Redactor

GENESIS = "0" * 64
# Terminal escape sequences never reach the files (the .cast recording keeps them).
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def _no_ansi(value: Any) -> Any:
    if isinstance(value, str):
        return _ANSI.sub("", value) if "\x1b" in value else value
    if isinstance(value, dict):
        return {k: _no_ansi(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_ansi(v) for v in value]
    return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")




def default_transcript_dir() -> Path:
    return Path(os.environ.get("RUNBOOKS_TRANSCRIPTS") or "transcripts")


PROBE_BYTES = 16384  # room for a run's first events: less than this and the record would be lost


def ensure_writable(base_dir: Path, what: str = "transcript dir") -> None:
    """Refuse, before anything runs, a transcript dir the run could not record into
    (missing and not creatable, a dangling symlink, read-only, full): InputError, exit 3."""
    from runbooks.errors import InputError

    base = Path(base_dir)
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(base / f".runbooks-probe-{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
            try:
                os.unlink(base / f".runbooks-probe-{os.getpid()}")
            except OSError:
                pass
    except OSError as exc:
        why = exc.strerror or str(exc)
        if isinstance(exc, FileExistsError) and base.is_symlink():
            why = f"a symlink to {os.readlink(base)}, which does not exist"
        elif isinstance(exc, FileExistsError):
            why = "exists and is not a directory"
        raise InputError(f"{what} {base} is not writable ({why}); nothing was run. "
                         f"Free space, fix it, or pass --transcript-dir DIR") from None


def private_open(path: Path, mode: str = "w") -> Any:
    """Open a record file readable by its owner only (0600): transcripts hold what the
    host printed, operator names and commands; nobody else on the machine needs them."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps no wider mode
        return os.fdopen(fd, mode, encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def ensure_writable_file(path: str | os.PathLike[str], flag: str = "--metrics-out") -> None:
    """Refuse, before the run, an output file the run could not write (InputError, exit 3)."""
    import tempfile

    from runbooks.errors import InputError

    p = Path(path)
    try:
        if p.is_dir():
            raise IsADirectoryError(21, "is a directory")
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".probe", dir=p.parent)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise InputError(f"{flag} {p}: cannot write there ({exc.strerror or exc}); nothing was run") from None


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s)[:60] or "x"


class Transcript:
    """Append-only, hash-chained event log for one run on one target."""

    def __init__(self, base_dir: Path, playbook: str, target: str, redactor: Redactor,
                 started: datetime | None = None) -> None:
        self.redactor = redactor
        self.started = started or utcnow()
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        base = Path(base_dir)
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{stamp}-{_slug(playbook)}-{_slug(target)}"
        path = base / name
        n = 1
        while True:
            try:
                path.mkdir(mode=0o700)
                os.chmod(path, 0o700)  # whatever the umask
                break
            except FileExistsError:
                n += 1
                path = base / f"{name}-{n}"
        self.dir = path
        self.events_path = path / "events.jsonl"
        self.md_path = path / "transcript.md"
        self._fh: Any = private_open(self.events_path, "a")
        # The first write failure (disk full, folder gone read-only): the run goes on, the
        # events stay in memory, and the verdict says the record is incomplete.
        self.write_error: OSError | None = None
        self._prev = GENESIS
        self._seq = 0
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def on_event(self, event: Event) -> dict[str, Any] | None:
        """The run's event stream (engine/events.py): record it, unless it is screen-only."""
        return self.emit(event.type, **event.data) if event.record else None

    def emit(self, type_: str, **data: Any) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            event = {"seq": self._seq, "ts": iso(utcnow()), "type": type_, **_no_ansi(self.redactor.obj(data)), "prev": self._prev}
            line = json.dumps(event, ensure_ascii=False, default=str, sort_keys=False)
            if self.write_error is None:
                try:
                    self._fh.write(line + "\n")
                    self._fh.flush()
                except OSError as exc:
                    self._failed(exc)
            self._prev = hashlib.sha256(line.encode("utf-8")).hexdigest()
            self.events.append(event)
            return event

    def _failed(self, exc: OSError) -> None:
        if self.write_error is None:
            self.write_error = exc
        try:
            self._fh.close()
        except OSError:
            pass

    @property
    def incomplete(self) -> str | None:
        """One line for the operator when the record on disk is not the whole run."""
        if self.write_error is None:
            return None
        e = self.write_error
        return f"the record in {self.dir} is incomplete: {e.strerror or e}" + (f" ({e.filename})" if e.filename else "")

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                try:
                    self._fh.flush()
                    os.fsync(self._fh.fileno())
                    self._fh.close()
                except OSError as exc:
                    self._failed(exc)

    def render_markdown(self, context: dict[str, Any] | None = None) -> Path:
        from runbooks.record.render import render_transcript_md

        # The chain head goes into the Markdown so a removed tail is detectable (transcripts.verify).
        chain = {"events": self._seq, "last_hash": self._prev}
        text = render_transcript_md(self.events, {"chain": chain, **(context or {})})
        tmp = self.md_path.with_suffix(".md.tmp")
        try:
            with private_open(tmp) as fh:
                fh.write(self.redactor.text(text))
            tmp.replace(self.md_path)
        except OSError as exc:
            with self._lock:
                self._failed(exc)
            try:
                tmp.unlink()
            except OSError:
                pass
        return self.md_path


def read_events(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return out
