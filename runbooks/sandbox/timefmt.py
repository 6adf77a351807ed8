"""Time formats: docker's RFC 3339 nano stamps (UTC), Celery/gunicorn prefixes (Moscow local
time, as Django sets ``TZ`` from ``TIME_ZONE``) and docker's ``--since``/``--until`` values."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")
UTC = timezone.utc


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ns(dt: datetime) -> int:
    """Aware datetime -> unix nanoseconds (exact: datetime has microsecond resolution)."""
    dt = dt.astimezone(UTC)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def ns_to_docker(ns: int) -> str:
    """``2026-01-15T10:00:00.123456789Z``: the fixed 9-digit form ``docker logs -t`` prints."""
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def docker_stamp(dt: datetime, extra_ns: int = 0) -> str:
    return ns_to_docker(to_ns(dt) + extra_ns)


_STAMP_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


def normalize_stamp(stamp: str) -> str:
    """Any RFC 3339 (nano) stamp -> the fixed 9-digit UTC form, which sorts as text."""
    if len(stamp) == 30 and stamp[19] == "." and stamp[-1] == "Z":
        return stamp
    m = _STAMP_RE.match(stamp)
    if not m:
        raise ValueError(f"bad timestamp {stamp!r}")
    day, clock, frac, zone = m.groups()
    base = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if zone == 'Z' else zone}")
    ns = to_ns(base) + int((frac or "0").ljust(9, "0"))
    return ns_to_docker(ns)


def stamp_to_ns(stamp: str) -> int:
    s = normalize_stamp(stamp)
    base = datetime.fromisoformat(s[:19] + "+00:00")
    return to_ns(base) + int(s[20:29])


def celery_prefix(dt: datetime, level: str = "INFO", process: str = "ForkPoolWorker-1") -> str:
    """``[2026-01-15 13:00:00,123: INFO/ForkPoolWorker-1] `` in Moscow time."""
    local = dt.astimezone(MSK)
    return f"[{local:%Y-%m-%d %H:%M:%S},{local.microsecond // 1000:03d}: {level}/{process}] "


def gunicorn_time(dt: datetime) -> str:
    """``[15/Jan/2026:13:00:00 +0300]`` (gunicorn's ``%(t)s``)."""
    return dt.astimezone(MSK).strftime("[%d/%b/%Y:%H:%M:%S %z]")


# --- docker's --since/--until (github.com/docker/docker/api/types/time.GetTimestamp) ---

_DURATION_RE = re.compile(r"^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9,
            "m": 60 * 10**9, "h": 3600 * 10**9}
_PART_RE = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(value: str) -> int | None:
    """Go ``time.ParseDuration`` -> nanoseconds, or None if it is not a duration."""
    if value in ("0", "+0", "-0"):
        return 0
    if not _DURATION_RE.match(value):
        return None
    sign = -1 if value.startswith("-") else 1
    total = 0.0
    for number, unit in _PART_RE.findall(value.lstrip("+-")):
        total += float(number) * _UNIT_NS[unit]
    return sign * int(round(total))


_LAYOUTS = (
    "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H", "%Y-%m-%d",
)


class TimeValueError(ValueError):
    pass


def parse_docker_time(value: str, now_ns: int | None = None) -> int:
    """A ``--since``/``--until`` value -> unix ns, like the docker CLI.

    Durations (``24h``, ``1h30m``, ``10s``) count back from now; ``0`` and unix seconds
    (``1700000000.5``) are absolute; RFC 3339 times with a zone are exact; without a zone
    they are the CLI machine's local time.
    """
    if now_ns is None:
        now_ns = time.time_ns()
    value = value.strip()
    if value != "0":
        d = parse_go_duration(value)
        if d is not None:
            return now_ns - d
    if value and "-" not in value:
        m = re.fullmatch(r"(\d+)(?:\.(\d{1,9}))?", value)
        if not m:
            raise TimeValueError(f'failed to parse value as time or duration: "{value}"')
        return int(m.group(1)) * 10**9 + int((m.group(2) or "0").ljust(9, "0"))
    m = _STAMP_RE.match(value)
    if m:
        return stamp_to_ns(value)
    frac_m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})\.(\d{1,9})$", value)
    frac_ns = 0
    if frac_m:
        value, frac_ns = frac_m.group(1), int(frac_m.group(2).ljust(9, "0"))
    for layout in _LAYOUTS:
        try:
            naive = datetime.strptime(value, layout)
        except ValueError:
            continue
        return to_ns(naive.astimezone()) + frac_ns
    raise TimeValueError(f'failed to parse value as time or duration: "{value}"')


def since_ago(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
