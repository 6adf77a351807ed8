"""`django.query`: a read-only query in the app's Django shell, its result as JSON facts.

    - name: failed-today
      kind: django.query
      params:
        query: "list(MealPhoto.objects.filter(status='FAILED').values('id', 'meal_id'))"
        role: backend          # the target's containers.<role> (default backend), or
        # container: app-1     # a container name, or
        # shell: [/srv/venv/bin/python, /srv/app/manage.py, shell]   # a shell on the host
        vars: {status: FAILED} # the query reads them as `params`
        max_rows: 100          # lists are cut here; rows_total says how many there were

`query` is a Python expression, or statements that set `result`; every model is in scope
by its class name. It is compiled here first (a syntax error stops the playbook before it
runs) and sent as data inside templates/django_query.py.j2, which runs it in a rolled-back
transaction with the database set read-only where the backend allows it. A query that
raises (a misspelt field) FAILS the step with Django's error: never an empty result.

Facts: {"result": ..., "rows": [...] (list results), "count": n, "truncated": bool,
"django": version, "read_only": "database" | "rollback"}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbooks.blocks import djshell
from runbooks.model import Result, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

TEMPLATE = "django_query.py.j2"
DEFAULT_MAX_ROWS = 100


def check_query(source: Any) -> None:
    if not isinstance(source, str) or not source.strip():
        raise ValueError("query: required, a Python expression or statements that set `result`")
    try:
        compile(source, "<query>", "eval")
        return
    except SyntaxError:
        pass
    try:
        compile(source, "<query>", "exec")
    except SyntaxError as exc:
        raise ValueError(f"query: Python syntax error at line {exc.lineno}: {exc.msg}") from exc
    if "result" not in source:
        raise ValueError("query: statements must set `result` (or write one expression)")


def _validate(params: Mapping[str, Any]) -> None:
    check_query(params.get("query"))
    where = [k for k in ("role", "container", "shell") if k in params]
    if len(where) > 1:
        raise ValueError(f"{where[1]}: give one of role, container or shell")
    for key in ("role", "container"):
        if key in params and (not isinstance(params[key], str) or not params[key]):
            raise ValueError(f"{key}: must be a non-empty string")
    if "shell" in params:
        sh = params["shell"]
        if not isinstance(sh, list) or not sh or not all(isinstance(w, str) and w for w in sh):
            raise ValueError("shell: must be a non-empty list of words (the command that starts `manage.py shell`)")
    if not isinstance(params.get("vars", {}), Mapping):
        raise ValueError("vars: must be a mapping of name -> value")
    rows = params.get("max_rows", DEFAULT_MAX_ROWS)
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= 100_000:
        raise ValueError("max_rows: must be an integer from 1 to 100000")


def query_script(query: str, params: Mapping[str, Any] | None = None, max_rows: int = DEFAULT_MAX_ROWS) -> str:
    return djshell.render_script(TEMPLATE, {"query": query, "params": dict(params or {}), "max_rows": int(max_rows)})


def container_of(p: Mapping[str, Any], ctx: StepContext) -> str | None:
    if "shell" in p:
        return None
    if "container" in p:
        return str(p["container"])
    role = str(p.get("role", "backend"))
    name = ctx.target.containers.get(role)
    if not name:
        raise ValueError(f"role: the target {ctx.target.name} has no containers.{role}")
    return str(name)


def interpret(res: Result, max_rows: int) -> StepOutcome:
    """The step's outcome from the shell's result line (one function for every caller)."""
    ans = djshell.answer(res)
    if ans.data is None:
        return StepOutcome(status="timeout" if res.timed_out else "failed", message=ans.error)
    doc = ans.data
    if doc.get("error"):
        return StepOutcome(status="failed", message=f"query failed: {doc['error']}",
                           facts={"error": doc["error"], "traceback": doc.get("traceback", "")})
    result = doc.get("result")
    facts: dict[str, Any] = {"result": result, "django": doc.get("django"), "read_only": doc.get("read_only"),
                             "truncated": bool(doc.get("truncated"))}
    if isinstance(result, list):
        facts["rows"] = result
        facts["count"] = doc.get("rows_total") if isinstance(doc.get("rows_total"), int) else len(result)
        msg = f"{facts['count']} row(s)" + (f", first {max_rows} kept" if facts["truncated"] else "")
    else:
        msg = f"result: {str(result)[:120]}"
    return StepOutcome(status="ok", message=msg, facts=facts)


@step_kind("django.query", _validate)
def django_query(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    try:
        container = container_of(p, ctx)
    except ValueError as exc:
        return StepOutcome(status="failed", message=str(exc), cannot_run=True)
    max_rows = int(p.get("max_rows", DEFAULT_MAX_ROWS))
    script = query_script(str(p["query"]), p.get("vars") or {}, max_rows)
    shell = tuple(p["shell"]) if "shell" in p else djshell.MANAGE_SHELL
    res = yield djshell.command(script, container=container, shell=shell, timeout=step.timeout or 120,
                                label=f"django shell: {step.name} (read-only, rolled back)")
    assert isinstance(res, Result)
    return interpret(res, max_rows)
