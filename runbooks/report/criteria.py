"""The checklist's success criteria and how each one is decided.

A criterion rests on monitor finding ids. It is
  FAIL     when the fresh run alerts on one of them, or an earlier monitor run in the
           window did (transcript), or the history recorded a non-zero count for its
           metric in the window: "after 24 hours" means the whole period was clean;
  UNKNOWN  when any of its findings could not be evaluated by the fresh run (skipped, no
           baseline yet, run failed before evaluating): never counted as passed;
  PASS     otherwise.
Manual criteria (what only a person can see) are left for a person to tick.

Exit code (the worst criterion wins; manual items never count):
  0 every automatic criterion PASSes
  1 a criterion is UNKNOWN, or a criterion resting on P1/P2 findings FAILs
  2 a criterion resting on a P0 finding FAILs
  3 the fresh run could not run (config, connection, missing tool)  | 4 aborted
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runbooks.engine.verdict import exit_for, worst

PASS, FAIL, UNKNOWN, MANUAL = "PASS", "FAIL", "UNKNOWN", "MANUAL"
ICON = {PASS: "✅", FAIL: "❌", UNKNOWN: "❔", MANUAL: "☐"}


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str  # as the checklist words it
    findings: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()  # history metrics that must have stayed 0 in the window
    manual: bool = False
    how: str = ""  # what a person does (manual) / what is checked (automatic)


CRITERIA: tuple[Criterion, ...] = (
    Criterion("no_stuck", "No stuck photos/meals in PROCESSING", ("stuck_photos", "stuck_meals"),
              ("stuck_photos", "stuck_meals"),
              how="photos PENDING/PROCESSING past the threshold; meals PROCESSING with all photos terminal or stale"),
    Criterion("race_guard_working", "P0 check passed: zero CANCELLED photos with items attached (race guard working)",
              ("cancelled_photo_with_results",), ("cancelled_photos_with_results",),
              how="CANCELLED photos whose recognized_data holds items; meals with FoodItems but no SUCCESS photo"),
    Criterion("serializer_working", "P0 check passed: zero non-SUCCESS photos in API responses (serializer working)",
              ("api_non_success_photo",),
              how="today's meals of every user rendered with the app's MealSerializer, plus the API spot check"),
    Criterion("race_guard_stable", "No anomalous spikes in race guard rate (stable baseline established)",
              ("race_guard_spike",),
              how="race guard rate vs the median of earlier runs (needs a baseline: enough earlier runs)"),
    Criterion("finalization_clean", "No exceptions in finalization logs", ("finalization_exception",),
              how="exceptions/tracebacks near [MealService] finalization in the worker (and backend) logs"),
    Criterion("frontend_photos", "Frontend shows correct photos (only SUCCESS)", manual=True,
              how="open the diary in the Telegram app for a few users with recent cancels: only recognized photos "
                  "show (the serializer criterion above is the automated proxy)"),
    Criterion("cancelled_meals_hidden", "Cancelled meals not visible in diary", ("api_failed_meal", "cancelled_meal_visible"),
              ("cancelled_meals_visible",),
              how="no FAILED meal in GET /api/v1/meals/?date=today, and no meal whose photos are all CANCELLED "
                  "left non-FAILED (it shows in the diary as an empty card)"),
    Criterion("no_complaints", "No user complaints about \"photos disappearing\"", manual=True,
              how="ask support / check the bot's feedback chat and app reviews for the last 24 hours"),
)
SEVERITY_RANK = {"P0": 0, "P1": 1, "P2": 2}


@dataclass
class Evidence:
    text: str
    link: str | None = None  # relative path to a transcript.md
    items: list[Any] = field(default_factory=list)


@dataclass
class Outcome:
    criterion: Criterion
    status: str
    summary: str
    severity: str | None = None  # of the worst alerting finding (FAIL)
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def icon(self) -> str:
        return ICON[self.status]

    @property
    def links(self) -> list[str]:
        seen: list[str] = []
        for e in self.evidence:
            if e.link and e.link not in seen:
                seen.append(e.link)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.criterion.id, "criterion": self.criterion.text, "manual": self.criterion.manual,
                "status": self.status, "severity": self.severity, "summary": self.summary,
                "findings": list(self.criterion.findings), "transcripts": self.links,
                "evidence": [{"text": e.text, "transcript": e.link, "items": e.items} for e in self.evidence]}


@dataclass
class FreshRun:
    """The report's own monitor run."""

    findings: Mapping[str, Mapping[str, Any]]  # id -> finding dict (Finding.to_dict + seq if known)
    link: str | None
    verdict: str
    message: str = ""
    ts: str = ""


@dataclass
class EarlierAlert:
    finding: Mapping[str, Any]
    ts: str
    link: str | None
    run: str


@dataclass
class HistoryRow:
    started_at: str
    playbook: str
    metrics: Mapping[str, Any]


def _worst(sevs: Iterable[str | None]) -> str | None:
    known = [s for s in sevs if s]
    return min(known, key=lambda s: SEVERITY_RANK.get(s, 9)) if known else None


def decide(c: Criterion, fresh: FreshRun, earlier: list[EarlierAlert], history: list[HistoryRow]) -> Outcome:
    if c.manual:
        return Outcome(c, MANUAL, f"to check by hand: {c.how}")
    evidence: list[Evidence] = []
    fails: list[str | None] = []
    unknown: list[str] = []
    passed: list[str] = []
    for fid in c.findings:
        f = fresh.findings.get(fid)
        if f is None:
            why = f"run ended {fresh.verdict}" + (f": {fresh.message}" if fresh.message else "")
            unknown.append(f"`{fid}` not evaluated by the fresh run ({why})")
            continue
        st = f.get("status")
        seq = f" event {f['seq']}" if f.get("seq") else ""
        if st == "alert":
            fails.append(f.get("severity"))
            evidence.append(Evidence(f"now: `{fid}` ({f.get('severity')}) count {f.get('count')}: {f.get('title')}"
                                     + (f"; {f['reason']}" if f.get("reason") else "") + f" (fresh run{seq})",
                                     fresh.link, list(f.get("evidence") or [])[:5]))
        elif st in ("skipped", "no_baseline", "error", "not_configured"):  # never counted as passed
            why = f.get("reason") or ("no baseline yet" if st == "no_baseline" else "?")
            unknown.append(f"`{fid}` {why}" if st == "no_baseline" else f"`{fid}` {st.replace('_', ' ')}: {why}")
            evidence.append(Evidence(f"now: `{fid}` {st}: {f.get('reason') or '?'} (fresh run{seq})", fresh.link))
        else:
            passed.append(fid)
            note = f" ({f['reason']})" if f.get("reason") else ""
            evidence.append(Evidence(f"now: `{fid}` ok{note} (fresh run{seq})", fresh.link))
    for a in earlier:
        if a.finding.get("id") in c.findings:
            fails.append(a.finding.get("severity"))
            evidence.append(Evidence(f"earlier: `{a.finding.get('id')}` ({a.finding.get('severity')}) count "
                                     f"{a.finding.get('count')} at {a.ts} (run {a.run})", a.link,
                                     list(a.finding.get("evidence") or [])[:3]))
    for h in history:
        bad = {m: h.metrics.get(m) for m in c.metrics if isinstance(h.metrics.get(m), (int, float)) and h.metrics[m] > 0}
        if bad:
            sev = _worst(fresh.findings.get(fid, {}).get("severity") for fid in c.findings) or "P0"
            fails.append(sev)
            evidence.append(Evidence(f"history: {h.playbook} at {h.started_at} recorded "
                                     + ", ".join(f"{k}={v}" for k, v in sorted(bad.items()))))
    if fails:
        worst = _worst(fails)
        now = sum(1 for e in evidence if e.text.startswith("now:") and " count " in e.text)
        return Outcome(c, FAIL, f"{len(fails)} alert(s) in the window" + (f", {now} in the fresh run" if now else "")
                       + (f" ({worst})" if worst else ""), worst, evidence)
    if unknown:
        return Outcome(c, UNKNOWN, "; ".join(unknown), None, evidence)
    return Outcome(c, PASS, "clean in the fresh run" + (f" and {len(history)} history record(s) of the window"
                                                         if history else ""), None, evidence)


def evaluate(fresh: FreshRun, earlier: list[EarlierAlert], history: list[HistoryRow],
             criteria: tuple[Criterion, ...] = CRITERIA) -> list[Outcome]:
    return [decide(c, fresh, earlier, history) for c in criteria]


def exit_code(outcomes: list[Outcome], fresh_verdict: str) -> int:
    if fresh_verdict in ("aborted", "error"):
        return exit_for(fresh_verdict)
    verdicts = ["ok"]  # each criterion as the verdict it stands for: the worst one's exit code
    for o in outcomes:
        if o.status == FAIL:
            verdicts.append("p0" if o.severity == "P0" else "warn")
        elif o.status == UNKNOWN:
            verdicts.append("warn")
    return exit_for(worst(verdicts))


def overall(code: int) -> str:
    return {0: "PASS", 1: "NOT PROVEN", 2: "FAIL", 3: "COULD NOT RUN", 4: "ABORTED"}[code]
