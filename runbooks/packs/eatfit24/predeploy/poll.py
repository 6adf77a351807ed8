"""Backoff for "wait until" checks: re-run a cheap check until it passes or a deadline
passes. Each attempt is a real, recorded command; the pauses between them grow so a long
wait costs few commands (0.3, 0.6, 1.2, 2.4, 4, 4, ... seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    deadline_s: float
    first: float = 0.3
    factor: float = 2.0
    cap: float = 4.0
    clock: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)
    attempts: int = 0

    def __post_init__(self) -> None:
        self._end = self.clock() + self.deadline_s
        self._next = self.first

    def remaining(self) -> float:
        return max(0.0, self._end - self.clock())

    def wait(self) -> bool:
        """Pause before the next attempt; False when the deadline has passed (stop polling)."""
        self.attempts += 1
        left = self.remaining()
        if left <= 0:
            return False
        self.sleep(min(self._next, left))
        self._next = min(self.cap, self._next * self.factor)
        return True
