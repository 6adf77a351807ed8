"""`logs.scan`: count marker lines in a container's log or a file, filtered on the host.

    - name: worker-errors
      kind: logs.scan
      params:
        role: worker                # the target's containers.<role>, or
        # container: app-worker-1   # a container name, or
        # file: /var/log/nginx/error.log
        since: 24h                  # containers only (docker logs --since); default 24h
        tail: 100000                # optional: only the last N lines
        markers:                    # name -> POSIX ERE (awk: no \\d, \\w, lazy quantifiers)
          oom: "Out of memory|OOMKilled"
          timeout: "Timeout|timed out"
        context: "Traceback|ERROR"  # optional: pass these lines with context_lines around them
        context_lines: 5
        max_lines: 200              # lines that cross the network; counts are always exact

Facts: {"counts": {name: n}, "lines": {name: [line, ...]}, "context": [{"nr", "tag",
"line"}], "lines_read": n, "dropped": n, "truncated": bool}. A quiet log is zero counts
(status ok); a reader that fails (no such container, unreadable file) fails the step with
what it said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runbooks.blocks.logscan import (
    check_ere,
    container_command,
    file_command,
    lines_by_marker,
    named_counts,
    parse_scan,
    spec_from,
)
from runbooks.model import Result, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

DEFAULT_MAX_LINES = 200
_DURATION = re.compile(r"^(?:[0-9]+[smhd])+$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def docker_since(value: str) -> str:
    """`2d` / `90m` / `1h30m` -> a Go duration docker accepts (no `d` unit), or an RFC 3339
    time as given. ValueError otherwise (docker would read a bare number as a Unix time)."""
    v = value.strip()
    if _DURATION.match(v):
        secs = sum(int(n) * _UNITS[u] for n, u in re.findall(r"([0-9]+)([smhd])", v))
        h, rest = divmod(secs, 3600)
        m, s = divmod(rest, 60)
        return "".join(f"{n}{u}" for n, u in ((h, "h"), (m, "m"), (s, "s")) if n) or "0s"
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r}: a duration like 24h, 2d, 90m or an RFC 3339 time") from None
    return v


def _positive_int(params: Mapping[str, Any], key: str, top: int) -> None:
    v = params.get(key)
    if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= top):
        raise ValueError(f"{key}: must be an integer from 1 to {top}")


def _validate(params: Mapping[str, Any]) -> None:
    where = [k for k in ("role", "container", "file") if k in params]
    if len(where) != 1:
        raise ValueError("role: give exactly one of role, container or file")
    src = params[where[0]]
    if not isinstance(src, str) or not src:
        raise ValueError(f"{where[0]}: must be a non-empty string")
    if where[0] == "file" and not src.startswith("/"):
        raise ValueError("file: must be an absolute path")
    markers = params.get("markers", {})
    if not isinstance(markers, Mapping):
        raise ValueError("markers: must be a mapping of name -> regular expression")
    for name, ere in markers.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"markers: {name!r}: names are letters, digits and _")
        try:
            check_ere(ere)
        except ValueError as exc:
            raise ValueError(f"markers.{name}: {exc}") from None
    if "context" in params:
        try:
            check_ere(params["context"])
        except ValueError as exc:
            raise ValueError(f"context: {exc}") from None
    if not markers and "context" not in params:
        raise ValueError("markers: required (or a context pattern): what to look for")
    if "since" in params:
        if where[0] == "file":
            raise ValueError("since: containers only (a file has no timestamps the scan could trust)")
        if not isinstance(params["since"], str):
            raise ValueError("since: must be a string like 24h")
        try:
            docker_since(params["since"])
        except ValueError as exc:
            raise ValueError(f"since: {exc}") from None
    _positive_int(params, "tail", 10_000_000)
    _positive_int(params, "max_lines", 100_000)
    _positive_int(params, "context_lines", 100)


def _source(p: Mapping[str, Any], ctx: StepContext) -> tuple[str, str]:
    if "file" in p:
        return "file", str(p["file"])
    if "container" in p:
        return "container", str(p["container"])
    name = ctx.target.containers.get(str(p["role"]))
    if not name:
        raise ValueError(f"role: the target {ctx.target.name} has no containers.{p['role']}")
    return "container", str(name)


def interpret(res: Result, names: list[str], source: str, max_lines: int) -> StepOutcome:
    if res.timed_out:
        return StepOutcome(status="timeout", message=f"log scan of {source} timed out")
    scan = parse_scan(res.stdout)
    if scan.exit_code is None:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        return StepOutcome(status="failed", message=f"log scan of {source} gave no exit status (exit {res.exit_code}): "
                                                    f"{tail[0][:200]}")
    if scan.exit_code != 0:
        said = " | ".join(scan.errors) or (res.stderr.strip().splitlines() or ["no output"])[-1]
        return StepOutcome(status="failed", message=f"reading {source} failed (exit {scan.exit_code}): {said[:300]}",
                           facts={"exit_code": scan.exit_code, "errors": scan.errors})
    counts = named_counts(scan, names)
    facts: dict[str, Any] = {
        "counts": counts, "lines": lines_by_marker(scan, names),
        "context": [{"nr": ln.nr, "tag": ln.tag, "line": ln.text} for ln in scan.lines if ln.tag != "M"],
        "lines_read": scan.lines_read or 0, "dropped": scan.dropped, "truncated": scan.dropped > 0,
        "host_now": scan.side.get("NOW"), "exit_code": 0,
    }
    shown = ", ".join(f"{k}={v}" for k, v in counts.items())
    msg = f"{facts['lines_read']} line(s) read" + (f"; {shown}" if shown else "")
    if scan.dropped:
        msg += f"; {scan.dropped} line(s) past max_lines={max_lines} kept on the host"
    return StepOutcome(status="ok", message=msg, facts=facts)


@step_kind("logs.scan", _validate)
def logs_scan(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    try:
        kind, source = _source(p, ctx)
    except ValueError as exc:
        return StepOutcome(status="failed", message=str(exc), cannot_run=True)
    markers = {str(k): str(v) for k, v in (p.get("markers") or {}).items()}
    max_lines = int(p.get("max_lines", DEFAULT_MAX_LINES))
    spec = spec_from(markers, p.get("context"), int(p.get("context_lines", 5)), cap=max_lines)
    tail = int(p["tail"]) if "tail" in p else None
    if kind == "file":
        command = file_command(source, spec, tail=tail, label=f"{step.name}: scan {source}", timeout=step.timeout)
    else:
        command = container_command(source, spec, since=docker_since(str(p.get("since", "24h"))), tail=tail,
                                    label=f"{step.name}: docker logs {source} (filtered on host)", timeout=step.timeout)
    res = yield command
    assert isinstance(res, Result)
    return interpret(res, list(markers), source, max_lines)
