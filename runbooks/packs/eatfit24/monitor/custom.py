"""Team-defined rules over the run's metrics, from config (`monitor.rules`):

    monitor:
      rules:
        - {id: cancel_events_low, severity: P2, when: "cancel_events_total < 10",
           title: "Fewer cancel events than usual", action: "check the cancel button"}

`when` is a Jinja2 expression compiled in the sandboxed environment the playbooks use
(never eval). It sees every metric whose name is an identifier, plus `metrics` (the whole
mapping, for names with dots). A metric that is n/a (None) makes the rule `skipped`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import jinja2

from runbooks.errors import ConfigError
from runbooks.lang.expr import compile_condition
from runbooks.model import Finding

_ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


def validate(rules: Iterable[Mapping[str, Any]], reserved: set[str]) -> None:
    for i, r in enumerate(rules):
        where = f"monitor.rules[{i}]"
        if not isinstance(r, Mapping):
            raise ConfigError(f"{where}: must be a mapping with id, severity, when")
        extra = set(r) - {"id", "severity", "when", "title", "action"}
        if extra:
            raise ConfigError(f"{where}: unknown key {sorted(extra)[0]!r}")
        rid = r.get("id")
        if not isinstance(rid, str) or not _ID_RE.match(rid) or rid in reserved:
            raise ConfigError(f"{where}.id: must be a new lowercase id (not a built-in finding id), got {rid!r}")
        if r.get("severity") not in ("P0", "P1", "P2"):
            raise ConfigError(f"{where}.severity: must be P0, P1 or P2")
        when = r.get("when")
        if not isinstance(when, str):
            raise ConfigError(f"{where}.when: must be an expression string")
        try:
            compile_condition(when)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"{where}.when: invalid expression: {exc.message}") from exc


def evaluate_custom(rules: Iterable[Mapping[str, Any]], metrics: Mapping[str, Any]) -> list[Finding]:
    env = {k: v for k, v in metrics.items() if k.isidentifier()}
    env["metrics"] = dict(metrics)
    out: list[Finding] = []
    for r in rules:
        base = Finding(id=r["id"], severity=r["severity"], title=str(r.get("title") or r["id"]),
                       threshold=r["when"], check="custom")
        try:
            hit = bool(compile_condition(r["when"])(**env))
        except (TypeError, jinja2.UndefinedError) as exc:  # an n/a (None) metric: nothing to judge
            base.status, base.reason = "skipped", f"cannot evaluate: {exc}"
            out.append(base)
            continue
        except Exception as exc:  # noqa: BLE001 - a broken rule is that rule's error, not the run's
            base.status, base.reason = "error", f"rule raised {type(exc).__name__}: {exc}"
            out.append(base)
            continue
        if hit:
            base.status, base.count, base.action = "alert", 1, str(r.get("action") or "")
        else:
            base.status = "ok"
        out.append(base)
    return out
