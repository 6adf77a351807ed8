"""The check registry: every monitor check, in catalog order (the cause before its
consequence: alerts/identity.py names a group of findings after its first).

Ids are a contract (DESIGN.md); severities are defaults that `monitor.severity` may
override per target. A check is one `@check` record and its function (check.py) in
checks_db, checks_logs, checks_rate or anomaly; the task sections and the facts each task
gathers derive from the records here (sections.py).
"""

from __future__ import annotations

from runbooks.packs.eatfit24.monitor import anomaly, checks_db, checks_logs, checks_rate
from runbooks.packs.eatfit24.monitor.check import Check

CHECKS: tuple[Check, ...] = (
    checks_db.cancelled_photo_with_results,
    checks_db.failed_photo_with_results,
    checks_db.api_non_success_photo,
    checks_db.api_failed_meal,
    checks_db.cancel_not_applied,
    checks_db.stuck_photos,
    checks_db.stuck_meals,
    checks_logs.finalization_exception,
    checks_logs.cancel_exception,
    checks_logs.cancelled_photo_resurrected,
    checks_db.cancelled_meal_visible,
    checks_logs.backend_server_error,
    checks_rate.ai_upstream_error_rate_high,
    checks_rate.failed_ratio_high,
    checks_rate.cancel_duplicate_rate_high,
    anomaly.race_guard_spike,
    anomaly.cancel_noop_spike,
    anomaly.cancelled_growth_stable_dau,
    anomaly.failed_growth_without_cancel,
    anomaly.slow_processing_cancel_rise,
)
CATALOG: dict[str, Check] = {c.id: c for c in CHECKS}
# checks whose evidence names objects (photos, meals, log blocks); the rest are rates/anomalies
OBJECT_CHECKS = frozenset(c.id for c in CHECKS if c.kind == "object")
