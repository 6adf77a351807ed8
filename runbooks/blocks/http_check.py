"""`http.check`: one HTTP request from the operator's machine, its status and JSON checked.

    - name: api-health
      kind: http.check
      params:
        path: /api/v1/health/       # relative to the target's api.base_url, or
        # url: https://status.example.org/ping
        method: GET                 # default GET
        headers:                    # ${VAR}: read from the operator's environment at the
          Authorization: "Bearer ${API_TOKEN}"   # last moment, masked everywhere
        body: {ping: 1}             # optional JSON body
        status: [200, 204]          # expected status(es); default 200
        json:                       # assertions on the JSON body, all must hold
          - {path: status, equals: ok}
          - {path: "checks[0].latency_ms", max: 500}
          - {path: errors, exists: false}

JSON paths are dotted keys with `[n]` list indices (`meals[0].photos[1].status`); an
assertion holds one of equals, not_equals, in, exists, min, max. The runner does the
transport (runbooks/http.py: total deadline, redirects kept on their origin) and resolves
`${VAR}` headers, whose values become secrets of the run.

Facts: {"status": n, "json": body or None, "duration_s": s, "failed": [why, ...]}. A
wrong status, a failed assertion or a transport error fails the step with the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runbooks.model import HttpRequest, HttpResponse, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CHECKS = ("equals", "not_equals", "in", "exists", "min", "max")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_MISSING = object()


def parse_path(path: str) -> list[str | int]:
    """`a.b[0].c` -> ["a", "b", 0, "c"]; ValueError on anything else."""
    if not isinstance(path, str) or not path:
        raise ValueError("must be a non-empty string like meals[0].status")
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "." and parts and pos + 1 < len(path) and path[pos + 1] != "[":
            pos += 1
        m = _PATH_PART.match(path, pos)
        if not m:
            raise ValueError(f"{path!r}: cannot read it at {path[pos:]!r} (use a.b[0].c)")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return parts


def lookup(doc: Any, path: str) -> Any:
    """The value at `path`, or _MISSING."""
    cur = doc
    for part in parse_path(path):
        if isinstance(part, int):
            if not isinstance(cur, list) or not -len(cur) <= part < len(cur):
                return _MISSING
            cur = cur[part]
        elif isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        else:
            return _MISSING
    return cur


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def assertion_failure(doc: Any, check: Mapping[str, Any]) -> str | None:
    """Why one assertion does not hold (with the value found), or None when it holds."""
    path = str(check["path"])
    value = lookup(doc, path)
    found = "missing" if value is _MISSING else f"{value!r}"[:200]
    if "exists" in check:
        if (value is not _MISSING) != bool(check["exists"]):
            return f"{path}: {'missing' if check['exists'] else 'present'} (expected exists: {check['exists']})"
        return None
    if value is _MISSING:
        return f"{path}: missing"
    if "equals" in check and value != check["equals"]:
        return f"{path}: is {found}, expected {check['equals']!r}"
    if "not_equals" in check and value == check["not_equals"]:
        return f"{path}: is {found}, expected anything else"
    if "in" in check and value not in check["in"]:
        return f"{path}: is {found}, expected one of {check['in']!r}"
    for key, ok in (("min", lambda v, b: v >= b), ("max", lambda v, b: v <= b)):
        if key in check and (not _number(value) or not ok(value, check[key])):
            return f"{path}: is {found}, expected {'>=' if key == 'min' else '<='} {check[key]}"
    return None


def _validate(params: Mapping[str, Any]) -> None:
    if ("url" in params) == ("path" in params):
        raise ValueError("url: give exactly one of url (absolute) or path (under the target's api.base_url)")
    if "url" in params and (not isinstance(params["url"], str) or not re.match(r"^https?://[^/\s]+", params["url"])):
        raise ValueError("url: must be an http:// or https:// URL")
    if "path" in params and (not isinstance(params["path"], str) or not params["path"].startswith("/")):
        raise ValueError("path: must start with /")
    if str(params.get("method", "GET")).upper() not in METHODS:
        raise ValueError(f"method: one of {', '.join(METHODS)}")
    headers = params.get("headers", {})
    if not isinstance(headers, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ValueError("headers: must be a mapping of name -> string (${VAR} reads the environment)")
    status = params.get("status", 200)
    codes = status if isinstance(status, list) else [status]
    if not codes or not all(isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599 for c in codes):
        raise ValueError("status: an HTTP status or a list of them")
    checks = params.get("json", [])
    if not isinstance(checks, list):
        raise ValueError("json: must be a list of assertions ({path: ..., equals: ...})")
    for i, c in enumerate(checks):
        if not isinstance(c, Mapping) or "path" not in c:
            raise ValueError(f"json[{i}]: must be a mapping with path and one of {', '.join(CHECKS)}")
        try:
            parse_path(c["path"])
        except ValueError as exc:
            raise ValueError(f"json[{i}].path: {exc}") from None
        ops = [k for k in c if k != "path"]
        if len(ops) != 1 or ops[0] not in CHECKS:
            raise ValueError(f"json[{i}]: exactly one of {', '.join(CHECKS)} besides path")
        op = ops[0]
        if op in ("min", "max") and not _number(c[op]):
            raise ValueError(f"json[{i}].{op}: must be a number")
        if op == "in" and not isinstance(c[op], list):
            raise ValueError(f"json[{i}].in: must be a list")
        if op == "exists" and not isinstance(c[op], bool):
            raise ValueError(f"json[{i}].exists: must be true or false")
    t = params.get("timeout")
    if t is not None and (not _number(t) or not 0 < t <= 600):
        raise ValueError("timeout: seconds, more than 0 and at most 600")


def url_of(p: Mapping[str, Any], ctx: StepContext) -> str:
    """The request's URL: `url:` as given, or `path:` on the target's api.base_url. The
    engine sends the target's `api.headers` (credentials) only to the target's own API
    origin, so a `url:` elsewhere gets the step's own headers alone."""
    if "url" in p:
        return str(p["url"])
    base = ctx.target.api.base_url
    if not base:
        raise ValueError(f"path: the target {ctx.target.name} has no api.base_url")
    return base.rstrip("/") + str(p["path"])


def judge(resp: HttpResponse, p: Mapping[str, Any]) -> StepOutcome:
    if resp.error:
        return StepOutcome(status="failed", message=f"no answer: {resp.error}",
                           facts={"status": 0, "json": None, "failed": [resp.error]})
    status = p.get("status", 200)
    expected = status if isinstance(status, list) else [status]
    text = resp.body[:4000].decode("utf-8", "replace")
    try:
        doc: Any = resp.json() if resp.body else None
    except ValueError:
        doc = None
    failed: list[str] = []
    if resp.status not in expected:
        failed.append(f"HTTP {resp.status}, expected {' or '.join(map(str, expected))}: {text.strip()[:300]}")
    checks = p.get("json") or []
    if checks and doc is None:
        failed.append(f"the body is not JSON: {text.strip()[:300] or '(empty)'}")
    elif checks:
        failed.extend(why for c in checks if (why := assertion_failure(doc, c)))
    facts = {"status": resp.status, "json": doc, "duration_s": round(resp.duration_s, 3), "failed": failed}
    if failed:
        return StepOutcome(status="failed", message="; ".join(failed), facts=facts)
    return StepOutcome(status="ok", message=f"HTTP {resp.status} in {resp.duration_s:.2f}s"
                       + (f"; {len(checks)} JSON check(s) hold" if checks else ""), facts=facts)


@step_kind("http.check", _validate)
def http_check(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    try:
        url = url_of(p, ctx)
    except ValueError as exc:
        return StepOutcome(status="failed", message=str(exc), cannot_run=True)
    timeout = float(p.get("timeout") or step.timeout or ctx.target.api.timeout)
    resp = yield HttpRequest(method=str(p.get("method", "GET")).upper(), url=url, headers=dict(p.get("headers") or {}),
                             body=p.get("body"), timeout=timeout)
    assert isinstance(resp, HttpResponse)
    return judge(resp, p)
