"""`monitor.watch`: live follow of both containers' marker lines (the lead streams it).

Pure parts only: the follow command per container, line classification (shared with
the scan: parse.classify), a style per kind and running counters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from runbooks.commands import Command
from runbooks.packs.eatfit24.monitor.gather import follow_command
from runbooks.packs.eatfit24.monitor.parse import classify, split_docker_ts

STYLES: dict[str, str] = {
    "race_guard_cancelled": "yellow",
    "race_guard_failed": "yellow",
    "photo_success": "green",
    "finalized_complete": "green",
    "finalized_failed": "magenta",
    "orphan_deleted": "dim",
    "cancel_received": "cyan",
    "cancel_noop": "cyan",
    "cancel_duplicate": "bold yellow",
    "cancel_exception": "bold red",
    "cancel_revoke_failed": "red",
    "error": "bold red",
}


def style_for(kind: str) -> str:
    if kind in STYLES:
        return STYLES[kind]
    return "cyan" if kind.startswith("cancel_") else "default"


def follow_commands(containers: dict[str, str], tail: int = 50) -> list[Command]:
    """One follow command per container role (worker first, then backend)."""
    return [follow_command(containers[r], tail, r) for r in ("worker", "backend") if r in containers]


@dataclass
class WatchLine:
    container: str
    ts: str | None
    text: str
    kind: str
    style: str


@dataclass
class WatchCounters:
    """Running counts by kind, per container and overall."""

    total: Counter[str] = field(default_factory=Counter)
    by_container: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, container: str, raw_line: str) -> WatchLine | None:
        line = raw_line.rstrip("\r\n")
        if not line.strip():
            return None
        ts, text = split_docker_ts(line)
        kind = classify(text)
        self.total[kind] += 1
        self.by_container.setdefault(container, Counter())[kind] += 1
        return WatchLine(container, ts, text, kind, style_for(kind))

    def summary(self) -> str:
        """One line for the status bar / the final Ctrl-C summary."""
        keys = ("race_guard_cancelled", "race_guard_failed", "photo_success", "finalized_complete",
                "finalized_failed", "cancel_received", "cancel_noop", "cancel_duplicate", "error")
        parts = [f"{k}={self.total.get(k, 0)}" for k in keys]
        other = sum(v for k, v in self.total.items() if k not in keys)
        return " ".join(parts + [f"other={other}"])
