"""The monitor: the checklist's Production Monitoring sections 1-6 as one fact-gathering
pass (one filtered `docker logs` per container, one Django shell, the API) and local rules.

Modules: window (the --since value), gather (remote commands), parse (facts from their
output), thresholds, rules (findings), anomaly + history (baselines from earlier runs),
metrics (Prometheus textfile), sections (task -> run vars), steps (the step kinds),
watch (live follow), schedule (`--every/--for`).
"""

from __future__ import annotations

from runbooks.packs.eatfit24.monitor.sections import SECTIONS, TASKS, run_vars

__all__ = ["SECTIONS", "TASKS", "run_vars"]
