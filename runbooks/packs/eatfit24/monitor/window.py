"""The `--since` window: validation and the two forms the checks need.

`docker logs --since` takes Go durations (`24h`, `1h30m`; no `d` unit) or a time. Users
may type `2d`; we validate with `^\\d+[smhd]?(\\d+[smhd])*$` or RFC 3339 and hand docker a
value it accepts. A bare number means seconds here (docker would read it as a Unix time,
which silently means "everything"), so it is rendered with an explicit `s`.
The DB checks get the same window as seconds (or an absolute ISO time) and compute the
cutoff with the server's clock, so the log scan and the queries cover the same period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from runbooks.errors import InputError

_DURATION_RE = re.compile(r"^\d+[smhd]?(\d+[smhd])*$")
_PART_RE = re.compile(r"(\d+)([smhd]?)")
_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"
)
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Window:
    """A validated `--since` value."""

    raw: str
    docker: str  # what `docker logs --since` receives
    seconds: int | None  # relative window length, or None for an absolute start
    start_iso: str | None  # absolute start (UTC, microseconds) or None

    @property
    def key(self) -> str:
        """Identifies comparable windows for baselines (same length => comparable)."""
        return self.docker


def duration_seconds(value: str) -> int:
    """`1d2h30m` -> seconds; raises ValueError on anything else (including 0)."""
    if not _DURATION_RE.match(value):
        raise ValueError(f"not a duration: {value!r} (use e.g. 30m, 6h, 1d)")
    total = sum(int(n) * _UNIT_S[u] for n, u in _PART_RE.findall(value))
    if total <= 0:
        raise ValueError(f"duration must be positive: {value!r}")
    return total


def go_duration(seconds: int) -> str:
    """Seconds -> a Go duration docker accepts: 86400 -> `24h`, 5400 -> `1h30m`."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s else "")
    return out or "0s"


def parse_since(value: object) -> Window:
    """Validate `--since`; InputError (exit 3) before anything runs if it is not acceptable."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"--since: expected a duration (24h, 90m, 2d) or an RFC 3339 time, got {value!r}")
    v = value.strip()
    if _DURATION_RE.match(v):
        try:
            secs = duration_seconds(v)
        except ValueError as exc:
            raise InputError(f"--since: {exc}") from None
        return Window(raw=v, docker=go_duration(secs), seconds=secs, start_iso=None)
    if _RFC3339_RE.match(v):
        try:
            start = _parse_rfc3339(v)
        except ValueError as exc:
            raise InputError(f"--since: {exc}") from None
        iso = start.astimezone(timezone.utc).isoformat()
        return Window(raw=v, docker=v, seconds=None, start_iso=iso)
    raise InputError(f"--since: {value!r} is neither a duration (24h, 90m, 2d) nor an RFC 3339 time")


def parse_tail(value: object) -> int | None:
    """`--tail N`: a positive integer, or None for no limit."""
    if value is None or value == "" or value == "all":
        return None
    if isinstance(value, bool):
        raise InputError(f"--tail: expected a positive integer, got {value!r}")
    try:
        n = int(str(value).strip())
    except ValueError:
        raise InputError(f"--tail: expected a positive integer, got {value!r}") from None
    if n <= 0:
        raise InputError(f"--tail: expected a positive integer, got {value!r}")
    return n


def _parse_rfc3339(v: str) -> datetime:
    main, _, rest = v.partition(".")
    if rest:  # trim nanoseconds to microseconds for datetime
        digits = re.match(r"\d+", rest)
        assert digits is not None
        frac = digits.group(0)[:6].ljust(6, "0")
        v = f"{main}.{frac}{rest[digits.end():]}"
    return datetime.fromisoformat(v.replace("Z", "+00:00"))
