"""A monitor check: one record (id, severity, title, action, checklist section, the facts it
needs) and one function, declared together with `@check(...)` above the function.

    @check("stuck_photos", "P0", "Photos stuck in PENDING/PROCESSING", "Check celery ...",
           "3. Unexpected statuses", needs=("db",))
    def stuck_photos(c: Check, facts, s, m, bases) -> Finding: ...

The decorator returns the `Check` (the function is its `fn`), and the function receives its
own record first, so `c.alert_or_ok(...)` needs no lookup and no import of the registry
(catalog.py), which lists every check in order and from which the task sections and the
facts each one needs are derived (sections.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbooks.model import Finding

if TYPE_CHECKING:
    from runbooks.packs.eatfit24.monitor.anomaly import Baselines
    from runbooks.packs.eatfit24.monitor.derive import Metrics
    from runbooks.packs.eatfit24.monitor.thresholds import Settings

Facts = Mapping[str, Any]
CheckFn = Callable[["Check", Facts, "Settings", "Metrics", "Baselines"], Finding]
ROLLBACK = "consider rollback: `inv rollback --commit <sha>`"
# what a check's evidence is: objects (photos, meals, log blocks), a rate, or a change
# against a baseline of earlier runs (evaluated only when its facts were gathered)
KINDS = ("object", "rate", "anomaly")


@dataclass(frozen=True)
class Check:
    id: str  # the finding id (a contract: DESIGN.md)
    severity: str  # default; `monitor.severity` may override it per target
    title: str
    action: str  # the checklist's next action, shown with an alert
    section: str  # the checklist's section ("2. Meal finalization"); the task section derives from it
    needs: tuple[str, ...]  # facts it is evaluated from: worker_logs, backend_logs, db, api
    fn: CheckFn
    kind: str = "object"
    also: tuple[str, ...] = ()  # further task sections it runs in (`monitor.errors`)
    sources: tuple[str, ...] | None = None  # whose failure leaves it unable to say ok (default: needs)

    @property
    def failure_sources(self) -> tuple[str, ...]:
        return self.needs if self.sources is None else self.sources

    def make(self, s: "Settings", status: str, count: int = 0, evidence: list[dict[str, Any]] | None = None,
             reason: str = "", threshold: str = "") -> Finding:
        limit = int(s["evidence_limit"])
        return Finding(id=self.id, severity=s.severity.get(self.id, self.severity),  # type: ignore[arg-type]
                       title=self.title, count=count, evidence=list(evidence or [])[:limit],
                       action=self.action if status == "alert" else "", status=status,  # type: ignore[arg-type]
                       reason=reason, threshold=threshold, check=self.section)

    def alert_or_ok(self, s: "Settings", count: int, evidence: list[dict[str, Any]], threshold: str = "",
                    ok_reason: str = "") -> Finding:
        if count > 0:
            return self.make(s, "alert", count, evidence, threshold=threshold)
        return self.make(s, "ok", 0, [], reason=ok_reason, threshold=threshold)


def check(id: str, severity: str, title: str, action: str, section: str, needs: tuple[str, ...],
          kind: str = "object", also: tuple[str, ...] = (), sources: tuple[str, ...] | None = None,
          ) -> Callable[[CheckFn], Check]:
    if kind not in KINDS:
        raise ValueError(f"{id}: kind must be one of {KINDS}, not {kind!r}")

    def deco(fn: CheckFn) -> Check:
        return Check(id, severity, title, action, section, needs, fn, kind, also, sources)

    return deco
