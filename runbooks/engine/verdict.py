"""The one verdict table: verdict -> exit code, how verdicts combine (worst wins), and the
verdict of a run whose steps all completed (`judge`).

`unknown` is a run whose configured fact source failed (a Django error, an HTTP error, a
timeout), so a check could not say yes or no: exit 3, never 0. A P0 alert outranks it
within a run (what was seen is a P0 whatever was not seen), so `p0` ranks above `unknown`.
Every place that turns a verdict into an exit code (or back) goes through this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from runbooks.errors import ABORTED, CANNOT_RUN, FAILED, OK, WARN

if TYPE_CHECKING:
    from runbooks.model import Finding

Verdict = Literal["ok", "warn", "unknown", "p0", "failed", "error", "aborted"]

EXIT_FOR_VERDICT: dict[str, int] = {"ok": OK, "warn": WARN, "unknown": CANNOT_RUN, "p0": FAILED, "failed": FAILED,
                                    "error": CANNOT_RUN, "aborted": ABORTED}
# combined verdict over several targets: the highest rank wins
RANK: dict[str, int] = {"ok": 0, "warn": 1, "unknown": 2, "p0": 3, "failed": 4, "error": 5, "aborted": 6}
# an exit code read back (a finished run's code): the verdict it stands for
VERDICT_FOR_EXIT: dict[int, str] = {OK: "ok", WARN: "warn", FAILED: "p0", CANNOT_RUN: "error", ABORTED: "aborted"}


def exit_for(verdict: str) -> int:
    return EXIT_FOR_VERDICT[verdict]


def verdict_for_exit(code: int) -> str:
    return VERDICT_FOR_EXIT.get(code, "?")


def refused(exit_code: int) -> Verdict:
    """The verdict of a run stopped by an error that carries `exit_code` (RunbooksError)."""
    return "aborted" if exit_code == ABORTED else "error"


def worst(verdicts: list[str]) -> str:
    return max(verdicts, key=lambda v: RANK.get(v, 0)) if verdicts else "ok"


def worst_exit(codes: Iterable[int]) -> int:
    """The exit code of the worst of several runs, each given by its exit code."""
    return max(codes, key=lambda c: RANK.get(VERDICT_FOR_EXIT.get(c, ""), 0), default=OK)


def judge(findings: list[Finding], ran: str = "") -> tuple[Verdict, str]:
    """The verdict of a run whose steps all completed, from its findings.

    A P0 alert is `p0` whatever else happened. Otherwise a check whose configured source
    failed (status `error`) makes the verdict `unknown` (exit 3): the run cannot say all is
    well about what it did not see. `ran` ("7/7 P0 checks ran", or what failed) is part of
    the verdict line so the operator sees how much the verdict rests on."""
    alerts = [f for f in findings if f.status == "alert"]
    errors = [f for f in findings if f.status == "error"]
    verdict: Verdict = "ok"
    if any(f.severity == "P0" for f in alerts):
        verdict = "p0"
    elif errors:
        verdict = "unknown"
    elif alerts:
        verdict = "warn"
    parts = []
    if alerts:
        parts.append(f"{len(alerts)} finding(s): " + ", ".join(sorted({f.id for f in alerts})))
    if ran:
        parts.append(ran)
    return verdict, "; ".join(parts)
