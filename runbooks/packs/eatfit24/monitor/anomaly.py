"""The checklist's anomaly rules: the current run against a baseline of earlier runs.

The checklist says not to use fixed thresholds for the race guard ("10-30% is normal
if Cancel is accessible") but to watch for change. A baseline is the median of the same
metric over earlier runs of the same target with the same window (history.py), never
including the current run. With fewer than `min_history` earlier values the rule says
`no_baseline` ("no baseline yet") and raises nothing. Tiny numbers are not spikes: a rule
needs at least `min_events` events in the current window before it may fire.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbooks.model import Finding

if TYPE_CHECKING:
    from runbooks.packs.eatfit24.monitor.derive import Metrics
    from runbooks.packs.eatfit24.monitor.thresholds import Settings


@dataclass(frozen=True)
class Baseline:
    n: int  # earlier runs that had a value for the metric
    median: float | None


Baselines = Mapping[str, Baseline]
# metrics the anomaly rules compare (stored for every run by history.py)
BASELINE_METRICS = ("race_guard_rate", "cancel_events_noop_ratio", "cancel_events_noop", "photos_cancelled",
                    "photos_failed", "dau", "processing_time_median_s", "cancel_rate")


def _make(rule_id: str, s: "Settings", status: str, count: int = 0, evidence: list[dict[str, Any]] | None = None,
          reason: str = "", threshold: str = "") -> Finding:
    from runbooks.packs.eatfit24.monitor.rules import make

    return make(rule_id, s, status, count, evidence, reason, threshold)


def _no_baseline(rule_id: str, s: "Settings", bases: Baselines, metrics: tuple[str, ...]) -> Finding | None:
    need = int(s["min_history"])
    short = [(m, bases.get(m, Baseline(0, None)).n) for m in metrics if bases.get(m, Baseline(0, None)).n < need]
    if short:
        have = min(n for _, n in short)
        return _make(rule_id, s, "no_baseline", reason=f"no baseline yet ({have} of {need} earlier runs)")
    return None


def grew(current: float | int | None, base: Baseline, factor: float) -> bool:
    """current >= factor x baseline; from a zero baseline any positive value is growth."""
    if current is None or base.median is None:
        return False
    if base.median == 0:
        return current > 0
    return current >= factor * base.median


def _ev(metric: str, current: Any, base: Baseline) -> dict[str, Any]:
    return {"metric": metric, "current": current, "baseline_median": base.median, "baseline_runs": base.n}


def _spike(rule_id: str, metric: str, events_metric: str, facts_ev: list[dict[str, Any]],
           s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    th = f"{metric} >= {s['spike_factor']:g} x baseline (median of earlier runs), >= {s['min_events']:g} events"
    nb = _no_baseline(rule_id, s, bases, (metric,))
    if nb:
        nb.threshold = th
        return nb
    cur, base, events = m.get(metric), bases[metric], int(m.get(events_metric) or 0)
    if cur is None:
        return _make(rule_id, s, "ok", reason=f"{metric} n/a in this window (no events)", threshold=th)
    reason = f"{metric}={cur:.3g} vs baseline {base.median:.3g} over {base.n} runs" if base.median is not None else ""
    if events >= s["min_events"] and grew(cur, base, s["spike_factor"]):
        return _make(rule_id, s, "alert", events, [_ev(metric, cur, base)] + facts_ev, reason, th)
    return _make(rule_id, s, "ok", reason=reason, threshold=th)


def race_guard_spike(facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    lines = (facts.get("worker_logs") or {}).get("race_guard", [])
    return _spike("race_guard_spike", "race_guard_rate", "race_guard_total", lines, s, m, bases)


def cancel_noop_spike(facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    """Noop rate x2: the noop share doubling, or noop cancels per window doubling while the
    share rises. The share alone cannot double from a baseline above 50%, so a real spike on
    a day that already had many noops would go unseen."""
    lines = ((facts.get("backend_logs") or {}).get("cancel") or {}).get("NOOP", [])
    share = _spike("cancel_noop_spike", "cancel_events_noop_ratio", "cancel_events_noop", lines, s, m, bases)
    if share.status != "ok":
        return share
    count = _spike("cancel_noop_spike", "cancel_events_noop", "cancel_events_noop", lines, s, m, bases)
    base_share = bases["cancel_events_noop_ratio"].median
    cur_share = m.get("cancel_events_noop_ratio")
    if count.status == "alert" and cur_share is not None and base_share is not None and cur_share > base_share:
        count.threshold = share.threshold + f"; or {count.threshold} with a rising share"
        return count
    return share


def cancelled_growth_stable_dau(facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    rid = "cancelled_growth_stable_dau"
    th = (f"CANCELLED photos >= {s['growth_factor']:g} x baseline while DAU within "
          f"+-{s['dau_tolerance']:.0%} of baseline")
    nb = _no_baseline(rid, s, bases, ("photos_cancelled", "dau"))
    if nb:
        nb.threshold = th
        return nb
    cur, dau = m.get("photos_cancelled"), m.get("dau")
    bc, bd = bases["photos_cancelled"], bases["dau"]
    stable = dau is not None and bd.median is not None and abs(dau - bd.median) <= s["dau_tolerance"] * max(bd.median, 1)
    reason = f"CANCELLED {cur} vs {bc.median}; DAU {dau} vs {bd.median}"
    if int(cur or 0) >= s["min_events"] and grew(cur, bc, s["growth_factor"]) and stable:
        return _make(rid, s, "alert", int(cur or 0), [_ev("photos_cancelled", cur, bc), _ev("dau", dau, bd)], reason, th)
    return _make(rid, s, "ok", reason=reason, threshold=th)


def failed_growth_without_cancel(facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    rid = "failed_growth_without_cancel"
    th = f"FAILED photos >= {s['growth_factor']:g} x baseline while CANCELLED does not grow"
    nb = _no_baseline(rid, s, bases, ("photos_failed", "photos_cancelled"))
    if nb:
        nb.threshold = th
        return nb
    f, c = m.get("photos_failed"), m.get("photos_cancelled")
    bf, bc = bases["photos_failed"], bases["photos_cancelled"]
    reason = f"FAILED {f} vs {bf.median}; CANCELLED {c} vs {bc.median}"
    if int(f or 0) >= s["min_events"] and grew(f, bf, s["growth_factor"]) and not grew(c, bc, s["growth_factor"]):
        return _make(rid, s, "alert", int(f or 0), [_ev("photos_failed", f, bf), _ev("photos_cancelled", c, bc)],
                     reason, th)
    return _make(rid, s, "ok", reason=reason, threshold=th)


def slow_processing_cancel_rise(facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    rid = "slow_processing_cancel_rise"
    th = f"median processing time and cancel rate both >= {s['growth_factor']:g} x baseline"
    nb = _no_baseline(rid, s, bases, ("processing_time_median_s", "cancel_rate"))
    if nb:
        nb.threshold = th
        return nb
    t, r = m.get("processing_time_median_s"), m.get("cancel_rate")
    bt, br = bases["processing_time_median_s"], bases["cancel_rate"]
    if t is None or r is None:
        return _make(rid, s, "ok", reason="processing time or cancel rate n/a in this window", threshold=th)
    reason = f"median processing {t}s vs {bt.median}s; cancel rate {r:.3g} vs {br.median}"
    events = int(m.get("photos_cancelled") or 0)
    if events >= s["min_events"] and grew(t, bt, s["growth_factor"]) and grew(r, br, s["growth_factor"]):
        return _make(rid, s, "alert", events, [_ev("processing_time_median_s", t, bt), _ev("cancel_rate", r, br)],
                     reason, th)
    return _make(rid, s, "ok", reason=reason, threshold=th)


ANOMALY_RULES: dict[str, Callable[[Mapping[str, Any], "Settings", "Metrics", Baselines], Finding]] = {
    "race_guard_spike": race_guard_spike,
    "cancel_noop_spike": cancel_noop_spike,
    "cancelled_growth_stable_dau": cancelled_growth_stable_dau,
    "failed_growth_without_cancel": failed_growth_without_cancel,
    "slow_processing_cancel_rise": slow_processing_cancel_rise,
}
