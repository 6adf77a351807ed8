"""Task name -> run vars: which checks run and which facts they need.

The task layer stays thin: `inv monitor.stuck --since 6h` calls
`run_vars("monitor.stuck", since="6h", tail=None)` and hands the result to the runner as
the run's vars. The playbook's gather steps are gated on `needs` (`when: "'db' in needs"`),
so a section task gathers only the facts its checks use; the evaluate step runs `checks`.
"""

from __future__ import annotations

from typing import Any

from runbooks.errors import InputError
from runbooks.packs.eatfit24.monitor.window import parse_since, parse_tail

# check id -> the facts it is evaluated from
NEEDS: dict[str, tuple[str, ...]] = {
    "cancelled_photo_with_results": ("db",),
    "failed_photo_with_results": ("db",),
    "api_non_success_photo": ("db", "api"),
    "api_failed_meal": ("db", "api"),
    "cancel_not_applied": ("db",),
    "stuck_photos": ("db",),
    "stuck_meals": ("db",),
    # finalizations happen in both containers (the legacy cancel endpoint finalizes in the backend)
    "finalization_exception": ("worker_logs", "backend_logs"),
    "cancel_exception": ("backend_logs", "worker_logs"),
    "cancelled_photo_resurrected": ("db", "backend_logs", "worker_logs"),
    "backend_server_error": ("backend_logs",),
    "cancelled_meal_visible": ("db",),
    "ai_upstream_error_rate_high": ("worker_logs",),
    "failed_ratio_high": ("worker_logs", "backend_logs", "db"),  # db: when the logs do not cover the window
    "cancel_duplicate_rate_high": ("backend_logs",),
    "race_guard_spike": ("worker_logs",),
    "cancel_noop_spike": ("db",),
    "cancelled_growth_stable_dau": ("db",),
    "failed_growth_without_cancel": ("db",),
    "slow_processing_cancel_rise": ("db", "worker_logs"),
}

# One task per checklist section (Production Monitoring 1-6 + the grep cheatsheet).
SECTIONS: dict[str, tuple[str, ...]] = {
    "race-guard": ("race_guard_spike", "cancelled_growth_stable_dau", "failed_growth_without_cancel",
                   "slow_processing_cancel_rise"),                                   # 1
    "finalization": ("failed_ratio_high", "finalization_exception", "ai_upstream_error_rate_high"),  # 2
    "stuck": ("stuck_photos", "stuck_meals"),                                        # 3
    "api": ("cancelled_photo_with_results", "failed_photo_with_results",             # 4 + 5
            "api_non_success_photo", "api_failed_meal", "cancelled_meal_visible"),
    "cancel-events": ("cancel_not_applied", "cancelled_photo_resurrected", "cancel_duplicate_rate_high",
                      "cancel_noop_spike"),                                          # 6
    "errors": ("finalization_exception", "cancel_exception", "backend_server_error"),  # cheatsheet
}
SECTIONS["all"] = tuple(NEEDS)
SECTIONS["p0"] = ("cancelled_photo_with_results", "api_non_success_photo", "api_failed_meal",
                  "cancel_not_applied", "cancelled_photo_resurrected", "stuck_photos", "stuck_meals",
                  "finalization_exception")

TASKS = tuple(f"monitor.{s}" for s in SECTIONS)


def section_of(task: str) -> str:
    name = task.removeprefix("monitor.").replace("_", "-")
    if name not in SECTIONS:
        raise InputError(f"unknown monitor task {task!r} (known: {', '.join(TASKS)})")
    return name


def needs_for(checks: tuple[str, ...] | list[str]) -> list[str]:
    order = ("worker_logs", "backend_logs", "db", "api")
    wanted = {n for c in checks for n in NEEDS[c]}
    return [n for n in order if n in wanted]


def run_vars(task: str, since: object = "24h", tail: object = None) -> dict[str, Any]:
    """Validated run vars for a monitor task; InputError before anything runs."""
    section = section_of(task)
    window = parse_since(since if since is not None else "24h")
    checks = list(SECTIONS[section])
    return {
        "section": section,
        "checks": checks,
        "needs": needs_for(checks),
        "since": window.raw,
        "tail": parse_tail(tail),
    }
