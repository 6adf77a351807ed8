"""The host's clock. Scenario start times are read on the target, so comparisons with log
timestamps (docker, UTC) and DB rows (the app's clock) never depend on the laptop's clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from runbooks.commands import Command, cmd

# GNU date prints nanoseconds; busybox prints "%N" literally: the fraction is then dropped.
CLOCK_COMMAND = "date -u +%Y-%m-%dT%H:%M:%S.%NZ"
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?")


@dataclass(frozen=True)
class HostTime:
    raw: str  # as the host printed it (RFC 3339, nanoseconds): docker --since takes it as is
    at: datetime  # aware UTC, microsecond precision

    @property
    def docker(self) -> str:
        """A value for `docker logs --since` (RFC 3339 with the host's full precision)."""
        return self.raw

    @property
    def iso(self) -> str:
        return self.at.isoformat()


def clock_command() -> Command:
    return cmd("{{ c|raw }}", c=CLOCK_COMMAND, label="host clock (UTC)", timeout=15)


def parse_host_time(stdout: str) -> HostTime:
    """Parse `date -u +%Y-%m-%dT%H:%M:%S.%NZ` output; ValueError when it is not a time."""
    text = stdout.strip().splitlines()[-1].strip() if stdout.strip() else ""
    m = _STAMP.match(text)
    if not m:
        raise ValueError(f"the host's clock printed {text[:60]!r}, not a UTC time")
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    at = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(microsecond=int(frac), tzinfo=timezone.utc)
    full = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z", text)
    raw = text if full else at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return HostTime(raw=raw, at=at)
