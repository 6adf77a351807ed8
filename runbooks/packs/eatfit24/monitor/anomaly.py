"""The checklist's anomaly rules: the current run against a baseline of earlier runs.

The checklist says not to use fixed thresholds for the race guard ("10-30% is normal
if Cancel is accessible") but to watch for change. A baseline is the median of the same
metric over earlier runs of the same target with the same window (history.py), never
including the current run. With fewer than `min_history` earlier values the rule says
`no_baseline` ("no baseline yet") and raises nothing. Tiny numbers are not spikes: a rule
needs at least `min_events` events in the current window before it may fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runbooks.model import Finding
from runbooks.packs.eatfit24.monitor.check import Check, check

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


def _no_baseline(c: Check, s: "Settings", bases: Baselines, metrics: tuple[str, ...]) -> Finding | None:
    need = int(s["min_history"])
    short = [(m, bases.get(m, Baseline(0, None)).n) for m in metrics if bases.get(m, Baseline(0, None)).n < need]
    if short:
        have = min(n for _, n in short)
        return c.make(s, "no_baseline", reason=f"no baseline yet ({have} of {need} earlier runs)")
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


def _spike(c: Check, metric: str, events_metric: str, facts_ev: list[dict[str, Any]],
           s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    th = f"{metric} >= {s['spike_factor']:g} x baseline (median of earlier runs), >= {s['min_events']:g} events"
    nb = _no_baseline(c, s, bases, (metric,))
    if nb:
        nb.threshold = th
        return nb
    cur, base, events = m.get(metric), bases[metric], int(m.get(events_metric) or 0)
    if cur is None:
        return c.make(s, "ok", reason=f"{metric} n/a in this window (no events)", threshold=th)
    reason = f"{metric}={cur:.3g} vs baseline {base.median:.3g} over {base.n} runs" if base.median is not None else ""
    if events >= s["min_events"] and grew(cur, base, s["spike_factor"]):
        return c.make(s, "alert", events, [_ev(metric, cur, base)] + facts_ev, reason, th)
    return c.make(s, "ok", reason=reason, threshold=th)


@check("race_guard_spike", "P1", "Race guard rate spike vs baseline",
       "Investigate timing: AI task latency vs when users cancel", "1. Race guard", needs=("worker_logs",),
       kind="anomaly")
def race_guard_spike(c: Check, facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    lines = (facts.get("worker_logs") or {}).get("race_guard", [])
    return _spike(c, "race_guard_rate", "race_guard_total", lines, s, m, bases)


@check("cancel_noop_spike", "P2", "Cancel noop rate spike vs baseline",
       "Users clicking Cancel too early: investigate UX (loading state) or a frontend race condition",
       "6. Cancel events", needs=("db",), kind="anomaly")
def cancel_noop_spike(c: Check, facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    """Noop rate x2: the noop share doubling, or noop cancels per window doubling while the
    share rises. The share alone cannot double from a baseline above 50%, so a real spike on
    a day that already had many noops would go unseen."""
    lines = ((facts.get("backend_logs") or {}).get("cancel") or {}).get("NOOP", [])
    share = _spike(c, "cancel_events_noop_ratio", "cancel_events_noop", lines, s, m, bases)
    if share.status != "ok":
        return share
    count = _spike(c, "cancel_events_noop", "cancel_events_noop", lines, s, m, bases)
    base_share = bases["cancel_events_noop_ratio"].median
    cur_share = m.get("cancel_events_noop_ratio")
    if count.status == "alert" and cur_share is not None and base_share is not None and cur_share > base_share:
        count.threshold = share.threshold + f"; or {count.threshold} with a rising share"
        return count
    return share


@check("cancelled_growth_stable_dau", "P1", "CANCELLED photos growing with stable DAU",
       "Users are hitting Cancel more with the same audience: UX issue?", "1. Race guard (anomalies)",
       needs=("db",), kind="anomaly")
def cancelled_growth_stable_dau(c: Check, facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    th = (f"CANCELLED photos >= {s['growth_factor']:g} x baseline while DAU within "
          f"+-{s['dau_tolerance']:.0%} of baseline")
    nb = _no_baseline(c, s, bases, ("photos_cancelled", "dau"))
    if nb:
        nb.threshold = th
        return nb
    cur, dau = m.get("photos_cancelled"), m.get("dau")
    bc, bd = bases["photos_cancelled"], bases["dau"]
    stable = dau is not None and bd.median is not None and abs(dau - bd.median) <= s["dau_tolerance"] * max(bd.median, 1)
    reason = f"CANCELLED {cur} vs {bc.median}; DAU {dau} vs {bd.median}"
    if int(cur or 0) >= s["min_events"] and grew(cur, bc, s["growth_factor"]) and stable:
        return c.make(s, "alert", int(cur or 0), [_ev("photos_cancelled", cur, bc), _ev("dau", dau, bd)], reason, th)
    return c.make(s, "ok", reason=reason, threshold=th)


@check("failed_growth_without_cancel", "P1", "FAILED photos growing without CANCELLED growth",
       "AI service degradation, not user behaviour: check the AI provider and worker errors",
       "1. Race guard (anomalies)", needs=("db",), kind="anomaly")
def failed_growth_without_cancel(c: Check, facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    th = f"FAILED photos >= {s['growth_factor']:g} x baseline while CANCELLED does not grow"
    nb = _no_baseline(c, s, bases, ("photos_failed", "photos_cancelled"))
    if nb:
        nb.threshold = th
        return nb
    failed, cancelled = m.get("photos_failed"), m.get("photos_cancelled")
    bf, bc = bases["photos_failed"], bases["photos_cancelled"]
    reason = f"FAILED {failed} vs {bf.median}; CANCELLED {cancelled} vs {bc.median}"
    if (int(failed or 0) >= s["min_events"] and grew(failed, bf, s["growth_factor"])
            and not grew(cancelled, bc, s["growth_factor"])):
        return c.make(s, "alert", int(failed or 0),
                      [_ev("photos_failed", failed, bf), _ev("photos_cancelled", cancelled, bc)], reason, th)
    return c.make(s, "ok", reason=reason, threshold=th)


@check("slow_processing_cancel_rise", "P1", "Processing time and cancel rate rising together",
       "Users cancel because processing is slow: check AI latency and worker capacity/queue",
       "1. Race guard (anomalies)", needs=("db", "worker_logs"), kind="anomaly")
def slow_processing_cancel_rise(c: Check, facts: Mapping[str, Any], s: "Settings", m: "Metrics", bases: Baselines) -> Finding:
    th = f"median processing time and cancel rate both >= {s['growth_factor']:g} x baseline"
    nb = _no_baseline(c, s, bases, ("processing_time_median_s", "cancel_rate"))
    if nb:
        nb.threshold = th
        return nb
    t, r = m.get("processing_time_median_s"), m.get("cancel_rate")
    bt, br = bases["processing_time_median_s"], bases["cancel_rate"]
    if t is None or r is None:
        return c.make(s, "ok", reason="processing time or cancel rate n/a in this window", threshold=th)
    reason = f"median processing {t}s vs {bt.median}s; cancel rate {r:.3g} vs {br.median}"
    events = int(m.get("photos_cancelled") or 0)
    if events >= s["min_events"] and grew(t, bt, s["growth_factor"]) and grew(r, br, s["growth_factor"]):
        return c.make(s, "alert", events, [_ev("processing_time_median_s", t, bt), _ev("cancel_rate", r, br)],
                     reason, th)
    return c.make(s, "ok", reason=reason, threshold=th)


# the anomaly checks by id (catalog.py lists them with the others)
ANOMALY_RULES: dict[str, Check] = {c.id: c for c in (
    race_guard_spike, cancel_noop_spike, cancelled_growth_stable_dau, failed_growth_without_cancel,
    slow_processing_cancel_rise)}
