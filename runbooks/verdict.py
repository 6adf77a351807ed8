"""The one verdict table: verdict -> exit code, and how verdicts combine (worst wins).

`unknown` is a run whose configured fact source failed (a Django error, an HTTP error, a
timeout), so a check could not say yes or no: exit 3, never 0. A P0 alert outranks it
within a run (what was seen is a P0 whatever was not seen), so `p0` ranks above `unknown`.
"""

from __future__ import annotations

from typing import Literal

Verdict = Literal["ok", "warn", "unknown", "p0", "failed", "error", "aborted"]

EXIT_FOR_VERDICT: dict[str, int] = {"ok": 0, "warn": 1, "unknown": 3, "p0": 2, "failed": 2, "error": 3, "aborted": 4}
# combined verdict over several targets: the highest rank wins
RANK: dict[str, int] = {"ok": 0, "warn": 1, "unknown": 2, "p0": 3, "failed": 4, "error": 5, "aborted": 6}
VERDICT_FOR_EXIT: dict[int, str] = {0: "ok", 1: "warn", 2: "p0", 3: "error", 4: "aborted"}


def worst(verdicts: list[str]) -> str:
    return max(verdicts, key=lambda v: RANK.get(v, 0)) if verdicts else "ok"
