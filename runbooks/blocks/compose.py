"""`compose`: `docker compose` service actions in the project directory.

    - name: restart-worker
      kind: compose
      mutates: true                 # stop/start/restart/up change the host: required
      confirm: true
      params:
        action: restart             # ps | stop | start | restart | up
        services: [celery-worker]   # compose service names (default: every service)
        # roles: [worker]           # or the target's compose_services.<role>
        # project_dir: /opt/app     # default: the target's project_dir
        # build: true               # up only: --build
        # recreate: true            # up only: --force-recreate

`up` always runs detached (`up -d`). Every value is quoted by the command renderer.
Facts: {"action", "services", "exit_code", "stdout"}; `ps` adds {"containers": [{name,
service, state, status}]} (from `--format '{{json .}}'`, one JSON object a line).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from runbooks.commands import Command
from runbooks.model import Result, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

ACTIONS = ("ps", "stop", "start", "restart", "up")
MUTATING = frozenset({"stop", "start", "restart", "up"})
TEMPLATE = ("cd {{ d }} && docker compose {{ action }}{% if action == 'up' %} -d{% endif %}{% if build %} --build{% endif %}"
            "{% if recreate %} --force-recreate{% endif %}{% if action == 'ps' %} --all --format {{ fmt }}{% endif %}"
            "{% if services %} {{ services }}{% endif %}")
PS_FORMAT = "{{json .}}"


def command(project_dir: str, action: str, services: Sequence[str] = (), *, build: bool = False,
            recreate: bool = False, timeout: float | None = None, stream: bool = False, label: str = "") -> Command:
    """`cd DIR && docker compose ACTION [...] SERVICES` as a value; mutating unless `ps`."""
    if action not in ACTIONS:
        raise ValueError(f"action: one of {', '.join(ACTIONS)}")
    return Command(template=TEMPLATE, mutates=action in MUTATING, timeout=timeout, stream=stream,
                   vars={"d": project_dir, "action": action, "services": list(services), "build": build,
                         "recreate": recreate, "fmt": PS_FORMAT},
                   label=label or f"docker compose {action} {' '.join(services)}".rstrip())


def parse_ps(stdout: str) -> list[dict[str, Any]]:
    """`docker compose ps --format '{{json .}}'`: one object a line (compose >= 2.21) or one
    JSON array (older compose v2)."""
    text = (stdout or "").strip()
    rows: list[Any] = []
    if text.startswith("["):
        try:
            rows = json.loads(text)
        except ValueError:
            rows = []
    else:
        for line in text.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return [{"name": r.get("Name"), "service": r.get("Service"), "state": r.get("State"), "status": r.get("Status")}
            for r in rows if isinstance(r, Mapping)]


def _validate(params: Mapping[str, Any]) -> None:
    action = params.get("action")
    if action not in ACTIONS:
        raise ValueError(f"action: required, one of {', '.join(ACTIONS)}")
    if "services" in params and "roles" in params:
        raise ValueError("roles: give services or roles, not both")
    for key in ("services", "roles"):
        v = params.get(key, [])
        if not isinstance(v, list) or not all(isinstance(s, str) and s and not s.startswith("-") for s in v):
            raise ValueError(f"{key}: must be a list of names (not options)")
    for key in ("build", "recreate"):
        if key in params:
            if not isinstance(params[key], bool):
                raise ValueError(f"{key}: must be true or false")
            if action != "up":
                raise ValueError(f"{key}: only with action: up")
    pd = params.get("project_dir")
    if pd is not None and (not isinstance(pd, str) or not pd.startswith("/")):
        raise ValueError("project_dir: must be an absolute path")


def services_of(p: Mapping[str, Any], ctx: StepContext) -> list[str]:
    if "roles" in p:
        missing = [r for r in p["roles"] if not ctx.target.compose_services.get(r)]
        if missing:
            raise ValueError(f"roles: the target {ctx.target.name} has no compose_services.{missing[0]}")
        return [str(ctx.target.compose_services[r]) for r in p["roles"]]
    return [str(s) for s in p.get("services", [])]


def outcome(action: str, services: list[str], res: Result) -> StepOutcome:
    facts: dict[str, Any] = {"action": action, "services": services, "exit_code": res.exit_code,
                             "stdout": res.stdout, "dry_run": res.dry_run}
    if res.timed_out:
        return StepOutcome(status="timeout", message=f"docker compose {action} timed out", facts=facts)
    if res.exit_code != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        return StepOutcome(status="failed", message=f"docker compose {action} exited {res.exit_code}: {tail[0][:200]}",
                           facts=facts)
    if action == "ps":
        facts["containers"] = parse_ps(res.stdout)
        states = ", ".join(f"{c['service']}={c['state']}" for c in facts["containers"])
        return StepOutcome(status="ok", message=states or "no containers", facts=facts)
    return StepOutcome(status="ok", message=("dry-run: not run" if res.dry_run else f"{action}: done"), facts=facts)


def _changes(params: Mapping[str, Any]) -> str | None:
    return f"compose {params['action']}" if params.get("action") in MUTATING else None


@step_kind("compose", _validate, mutates=_changes)
def compose(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    action = str(p["action"])
    try:
        services = services_of(p, ctx)
    except ValueError as exc:
        return StepOutcome(status="failed", message=str(exc), cannot_run=True)
    project_dir = str(p.get("project_dir") or ctx.target.project_dir)
    if not project_dir:
        return StepOutcome(status="failed", message=f"project_dir: the target {ctx.target.name} has none",
                           cannot_run=True)
    res = yield command(project_dir, action, services, build=bool(p.get("build")), recreate=bool(p.get("recreate")),
                        timeout=step.timeout, stream=action == "up", label=step.name)
    assert isinstance(res, Result)
    return outcome(action, services, res)
