"""`check`: an expression over earlier steps' outputs -> a finding (P0/P1/P2).

    - name: disk-usage
      kind: check
      params:
        id: disk_almost_full
        title: "Root filesystem {{ value }}% full"
        value: "steps.df.stdout | regex('(\\d+)%') | number"
        thresholds: {P1: 85, P0: 95}     # or severity: P1 + threshold: 85 (+ op: '>=')
        evidence: {mount: "'/'", df: "steps.df.stdout | lines | last"}
        action: "run playbooks/examples/disk-cleanup.yml"

A breach is an alert finding that feeds the run's verdict and exit code (P1/P2: warn,
exit 1; P0: exit 2) like the monitor's; the step itself is `ok` and the run goes on. A
value that cannot be computed (an earlier step failed or printed something else) is an
`error` finding: the verdict is then unknown (exit 3) unless a P0 was found, never OK.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

import jinja2

from runbooks.lang.expr import checked_source, render_text, value_of
from runbooks.model import Finding, Severity, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

PARAMS = ("id", "severity", "title", "value", "op", "threshold", "thresholds", "alert_when", "evidence", "action")
SEVERITIES = ("P0", "P1", "P2")
OPS: dict[str, Callable[[Any, Any], Any]] = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
                                             "==": operator.eq, "!=": operator.ne}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _expr(params: Mapping[str, Any], key: str) -> None:
    checked_source(params[key], key, expression=True)


def _text(params: Mapping[str, Any], key: str) -> None:
    checked_source(params[key], key, expression=False)


_LIMIT = {"description": "a number, or an expression giving the threshold",
          "oneOf": [{"type": "number"}, {"type": "boolean"}, {"type": "string"}]}
SCHEMA = {
    "type": "object", "required": ["id", "title", "value"], "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": _ID.pattern, "description": "the finding id (stable: scripts read it)"},
        "severity": {"enum": list(SEVERITIES), "description": "the finding's severity when breached"},
        "title": {"type": "string", "description": "a template; sees `value` and `threshold`"},
        "value": {"type": "string", "description": "an expression: the measured value"},
        "op": {"enum": list(OPS), "description": "alert when `value op threshold` (default >)"},
        "threshold": _LIMIT,
        "thresholds": {"type": "object", "propertyNames": {"enum": list(SEVERITIES)},
                       "additionalProperties": _LIMIT, "description": "severity -> threshold; the worst breached wins"},
        "alert_when": {"type": "string", "description": "an expression over `value`: alert when true"},
        "evidence": {"description": "name -> expression, or one expression giving a list",
                     "oneOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "string"}]},
        "action": {"type": "string", "description": "the next action (a template)"},
    },
}


def _threshold(params: Mapping[str, Any], key: str, label: str) -> None:
    """A number (or true/false), or an expression string giving the threshold (a variable:
    `warn_percent | number`; a text: `'active'`)."""
    v = params[key]
    if isinstance(v, str):
        checked_source(v, label, expression=True)
    elif not isinstance(v, (int, float)):
        raise ValueError(f"{label}: a number, or an expression string giving the threshold")


def _limit(t: Any, scope: dict[str, Any]) -> Any:
    return value_of(t, scope) if isinstance(t, str) else t


def _validate(params: Mapping[str, Any]) -> None:
    for key in params:
        if key not in PARAMS:
            raise ValueError(f"{key}: unknown parameter (allowed: {', '.join(PARAMS)})")
    if not isinstance(params.get("id"), str) or not _ID.match(params["id"]):
        raise ValueError("id: required, a finding id in lowercase letters, digits and _ (e.g. disk_almost_full)")
    for key in ("title", "value"):
        if key not in params:
            raise ValueError(f"{key}: required")
    _text(params, "title")
    _expr(params, "value")
    ways = [k for k in ("threshold", "thresholds", "alert_when") if k in params]
    if len(ways) != 1:
        raise ValueError("threshold: give exactly one of threshold (with severity), thresholds {P0: .., P1: ..} "
                         "or alert_when (with severity)")
    if "thresholds" in params:
        t = params["thresholds"]
        if not isinstance(t, Mapping) or not t or not all(k in SEVERITIES for k in t):
            raise ValueError("thresholds: a mapping of severity (P0, P1, P2) -> threshold")
        for sev in t:
            _threshold(t, sev, f"thresholds.{sev}")
        if "severity" in params:
            raise ValueError("severity: not with thresholds (each threshold names its severity)")
    elif params.get("severity") not in SEVERITIES:
        raise ValueError("severity: required, P0, P1 or P2")
    if "threshold" in params:
        _threshold(params, "threshold", "threshold")
    if "alert_when" in params:
        _expr(params, "alert_when")
        if "op" in params:
            raise ValueError("op: not with alert_when (the expression is the comparison)")
    if params.get("op", ">") not in OPS:
        raise ValueError(f"op: one of {', '.join(OPS)}")
    ev = params.get("evidence")
    if ev is not None:
        if isinstance(ev, Mapping):
            for k, v in ev.items():
                checked_source(v, f"evidence.{k}", expression=True)
        else:
            _expr(params, "evidence")
    if "action" in params:
        _text(params, "action")


def _breached(params: Mapping[str, Any], value: Any, scope: dict[str, Any]) -> tuple[str | None, Any, str]:
    """(severity breached or None, the threshold that decided, the threshold as text)."""
    op = str(params.get("op", ">"))
    if "alert_when" in params:
        hit = bool(value_of(params["alert_when"], {**scope, "value": value}))
        return (params["severity"] if hit else None), None, str(params["alert_when"])
    if "thresholds" in params:
        levels = sorted((sev, _limit(t, scope)) for sev, t in params["thresholds"].items())  # P0 first: the worst wins
        text = ", ".join(f"{sev} {op} {t}" for sev, t in levels)
        for sev, t in levels:
            if OPS[op](value, t):
                return sev, t, text
        return None, levels[-1][1], text
    t = _limit(params["threshold"], scope)
    return (params["severity"] if OPS[op](value, t) else None), t, f"{op} {t}"


def _evidence(params: Mapping[str, Any], scope: dict[str, Any], value: Any) -> list[dict[str, Any]]:
    ev = params.get("evidence")
    if ev is None:
        return [{"value": value}]
    if isinstance(ev, Mapping):
        return [{k: value_of(v, scope) for k, v in ev.items()}]
    got = value_of(ev, scope)
    if isinstance(got, list):
        return [x if isinstance(x, dict) else {"value": x} for x in got]
    return [got if isinstance(got, dict) else {"value": got}]


@step_kind("check", _validate, schema=SCHEMA)
def check(step: Step, ctx: StepContext) -> StepGen:
    outcome = evaluate_check(step.params, step.name, ctx.scope(), ctx.dry_run)
    yield from ()  # no request: a check reads what earlier steps returned
    return outcome


def evaluate_check(p: Mapping[str, Any], name: str, scope: dict[str, Any], dry_run: bool = False) -> StepOutcome:
    worst: Severity = p.get("severity") or min(p["thresholds"])  # "P0" < "P1" < "P2"
    f = Finding(id=p["id"], severity=worst, title=p["id"], check=name)
    try:
        value = value_of(p["value"], scope)
        if value is None or isinstance(value, jinja2.Undefined):
            raise ValueError("the value is empty (None)")
        sev, threshold, f.threshold = _breached(p, value, scope)
        here = {**scope, "value": value, "threshold": threshold}
        f.value = value
        f.title = render_text(p["title"], here)
        f.evidence = _evidence(p, here, value)
        if sev is None:
            f.status = "ok"
            return StepOutcome(status="ok", message=f"{f.id}: ok ({value}; threshold {f.threshold})", findings=[f])
        f.severity, f.status, f.count = cast(Severity, sev), "alert", 1
        f.action = render_text(str(p.get("action", "")), here)
        return StepOutcome(status="ok", message=f"{f.id}: {sev} ALERT ({value}; threshold {f.threshold})", findings=[f])
    except Exception as exc:  # noqa: BLE001 - a check that cannot be computed is that check's error, not the run's
        reason = _reason(exc)
        f.status, f.reason = ("skipped" if dry_run else "error"), reason
        f.title = f"{p['id']}: cannot evaluate"
        return StepOutcome(status="ok", message=f"{f.id}: cannot evaluate: {reason}", findings=[f])


def _reason(exc: BaseException) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return f"{exc.message} (did an earlier step fail or not run?)"
    if isinstance(exc, TypeError):
        return f"cannot compare: {exc} (use the number or size filter)"
    return str(exc) or type(exc).__name__
