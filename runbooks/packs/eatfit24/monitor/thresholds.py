"""Thresholds and per-rule overrides: checklist defaults < playbook params < target config.

Target config (`runbooks.yaml`):
    monitor:
      thresholds: {stuck_seconds: 120, failed_ratio: 0.1}
      severity: {failed_ratio_high: P2}
      disabled: [cancel_noop_spike]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runbooks.errors import ConfigError

DEFAULTS: dict[str, float] = {
    "stuck_seconds": 60,          # checklist: PROCESSING > 60 s
    "failed_ratio": 0.05,         # checklist: FAILED should be < 5%
    "duplicate_ratio": 0.05,      # checklist: P1 at > 5% duplicates
    "ai_upstream_error_ratio": 0.10,  # our choice: handled AI upstream failures above 10% of recognitions
    "spike_factor": 2.0,          # checklist: x2 vs baseline (race guard, noop rate)
    "growth_factor": 1.5,         # our choice: "growth" = +50% vs baseline
    "dau_tolerance": 0.2,         # our choice: DAU "stable" = within +-20% of baseline
    "min_history": 3,             # earlier runs needed before an anomaly rule may fire
    "history_runs": 20,           # the baseline is the median of at most this many runs
    "min_events": 5,              # no spike/growth alert below this many events
    "evidence_limit": 20,         # evidence items kept per finding
    "context_lines": 5,           # exception context lines passed by the host filter
}
SEVERITIES = ("P0", "P1", "P2")
MONITOR_KEYS = {"thresholds", "severity", "disabled", "app_timezone", "rules"}


@dataclass(frozen=True)
class Settings:
    thresholds: dict[str, float]
    severity: dict[str, str] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    app_timezone: str = "Europe/Moscow"
    rules: tuple[Mapping[str, Any], ...] = ()

    def __getitem__(self, key: str) -> float:
        return self.thresholds[key]


def _thresholds(raw: Any, where: str) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}.thresholds: must be a mapping of name -> number")
    out: dict[str, float] = {}
    for k, v in raw.items():
        if k not in DEFAULTS:
            raise ConfigError(f"{where}.thresholds.{k}: unknown threshold (known: {', '.join(sorted(DEFAULTS))})")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ConfigError(f"{where}.thresholds.{k}: must be a non-negative number, got {v!r}")
        out[str(k)] = float(v)
    return out


def settings_from(layers: list[tuple[Mapping[str, Any] | None, str]], known_ids: set[str]) -> Settings:
    """Merge override layers (later wins). Each layer is (mapping, where-for-errors)."""
    th = dict(DEFAULTS)
    severity: dict[str, str] = {}
    disabled: set[str] = set()
    tz = "Europe/Moscow"
    rules: list[Mapping[str, Any]] = []
    for raw, where in layers:
        if not raw:
            continue
        for key in raw:
            if key not in MONITOR_KEYS:
                raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(MONITOR_KEYS))})")
        th.update(_thresholds(raw.get("thresholds"), where))
        for rid, sev in (raw.get("severity") or {}).items():
            if rid not in known_ids:
                raise ConfigError(f"{where}.severity.{rid}: unknown finding id")
            if sev not in SEVERITIES:
                raise ConfigError(f"{where}.severity.{rid}: must be P0, P1 or P2, got {sev!r}")
            severity[rid] = sev
        dis = raw.get("disabled") or []
        if not isinstance(dis, list) or any(d not in known_ids for d in dis):
            raise ConfigError(f"{where}.disabled: must be a list of known finding ids")
        disabled.update(dis)
        if raw.get("app_timezone") is not None:
            tz = str(raw["app_timezone"])
        extra = raw.get("rules") or []
        if not isinstance(extra, list):
            raise ConfigError(f"{where}.rules: must be a list")
        rules.extend(extra)
    return Settings(thresholds=th, severity=severity, disabled=frozenset(disabled), app_timezone=tz,
                    rules=tuple(rules))
