"""`doctor`: can this target run the playbooks? Two remote commands: one shell probe for
tools, containers and the project repo, one read-only Django query (the `django.query` block) in the backend container."""

from __future__ import annotations

import re
from typing import Any

from runbooks.blocks import djshell
from runbooks.blocks.django_query import interpret, query_script
from runbooks.blocks.logscan import parse_scan
from runbooks.commands import Command
from runbooks.initdata import stale_notes
from runbooks.model import Finding, Note, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

# Each probe prints "@@rb <name> <exit code>" then its output, so parsing never depends on
# the wording of a tool's messages.
PROBE = r"""
rb() { n=$1; shift; o=$("$@" 2>&1); c=$?; printf '@@rb %s %s\n%s\n' "$n" "$c" "$o"; }
rb docker docker version --format {{ '{{.Client.Version}}' }}
rb timeout sh -c 'command -v timeout'
rb grep sh -c 'command -v grep'
rb date date -u +%Y-%m-%dT%H:%M:%SZ
rb awk_filter sh -c 'printf "%s\\n" "$2" | awk -v B=1 -v A=1 "$1"' rb {{ filter }} {{ filter_sample }}
rb awk_flavour sh -c 'awk -W version 2>&1 </dev/null | head -n 1; exit 0'
rb backend docker inspect --format {{ '{{.State.Status}}' }} {{ backend }}
rb worker docker inspect --format {{ '{{.State.Status}}' }} {{ worker }}
rb project_dir test -d {{ project_dir }}
rb git_head git -C {{ project_dir }} rev-parse HEAD
rb git_branch git -C {{ project_dir }} rev-parse --abbrev-ref HEAD
rb git_dirty git -C {{ project_dir }} status --porcelain --untracked-files=no
rb compose_file sh -c 'cd "$1" && ls compose.yml compose.yaml docker-compose.yml docker-compose.yaml 2>/dev/null | head -n 1 | grep .' rb {{ project_dir }}
"""

# doctor's Django probe: a `django.query` (read-only, rolled back) that names the models
DJANGO_QUERY = (
    "from django.conf import settings\n"
    "from apps.nutrition import models as m\n"
    "result = {'tz': settings.TIME_ZONE,\n"
    "          'models': [n for n in ('Meal', 'MealPhoto', 'FoodItem', 'CancelEvent') if hasattr(m, n)]}\n"
)

FILTER_SAMPLE = "2026-01-01T00:00:00.000000000Z [MealService] Finalized meal_id=1 as COMPLETE"

HINTS = {
    "docker": "install the docker CLI on the host, or fix PATH for the SSH user",
    "timeout": "coreutils `timeout` is needed to kill timed-out commands on the host",
    "grep": "grep is needed on the host (compose file probe, rollback checks)",
    "date": "`date -u` tells the host's clock: log coverage is measured against it",
    "awk_filter": "the monitor's log filter needs a POSIX awk (mawk, gawk or busybox awk) that runs its program",
    "backend": "check targets.<t>.containers.backend (docker ps -a) — compose names it <project>-backend-1",
    "worker": "check targets.<t>.containers.worker (docker ps -a) — compose names it <project>-celery-worker-1",
    "project_dir": "check targets.<t>.project_dir",
    "git_head": "project_dir must be a git checkout (rollback reverts commits there)",
    "compose_file": "no compose.yml in project_dir (rollback runs docker compose there)",
}


def parse_probe(stdout: str) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    name: str | None = None
    code = 0
    buf: list[str] = []
    for line in stdout.splitlines():
        m = re.match(r"^@@rb (\S+) (\d+)$", line)
        if m:
            if name is not None:
                out[name] = (code, "\n".join(buf).strip())
            name, code, buf = m.group(1), int(m.group(2)), []
        elif name is not None:
            buf.append(line)
    if name is not None:
        out[name] = (code, "\n".join(buf).strip())
    return out


@step_kind("doctor")
def doctor(step: Step, ctx: StepContext) -> StepGen:
    from runbooks.packs.eatfit24.monitor.gather import SCAN

    probe_vars = {**ctx.vars, "filter": SCAN.program(), "filter_sample": FILTER_SAMPLE}
    res = yield Command(template=PROBE, vars=probe_vars, label="host probe", timeout=step.timeout or 60)
    if res.timed_out:
        return StepOutcome(status="timeout", message="host probe timed out")
    probe = parse_probe(res.stdout)
    checks: list[dict[str, Any]] = []
    missing: list[str] = []
    for name in ("docker", "timeout", "grep", "date", "awk_filter", "backend", "worker", "project_dir", "git_head",
                 "compose_file"):
        code, text = probe.get(name, (127, "no answer"))
        ok = code == 0 and bool(text or name == "project_dir")
        if name == "awk_filter":
            # the real filter program on one marker line: passes it as a marker, counts it on the host
            scan = parse_scan(text)
            ok = ok and [(ln.nr, ln.tag) for ln in scan.lines] == [(1, "M")] and scan.lines_read == 1 \
                and scan.counts.get(1) == 1
            flavour = probe.get("awk_flavour", (0, ""))[1].splitlines()[:1]
            text = ("runs the log filter" if ok else f"the log filter failed: {text[-200:]}") + (
                f" ({flavour[0][:60]}{'; watch uses -W interactive' if 'mawk' in flavour[0] else ''})"
                if flavour and "usage" not in flavour[0].lower() and "warning" not in flavour[0].lower() else "")
        if name in ("backend", "worker") and ok and text != "running":
            ok = False
            text = f"container state: {text}"
        detail = text.splitlines()[-1] if text else ""
        checks.append({"check": name, "ok": ok, "detail": detail[:200], "hint": "" if ok else HINTS.get(name, "")})
        if not ok:
            missing.append(name)
    dirty_code, dirty = probe.get("git_dirty", (1, ""))
    if dirty_code == 0 and dirty:
        yield Note(f"working tree of {ctx.vars['project_dir']} has uncommitted changes:\n{dirty}", "warn")
    yield from stale_notes(ctx.target.api)
    facts: dict[str, Any] = {"head": probe.get("git_head", (1, ""))[1], "branch": probe.get("git_branch", (1, ""))[1]}
    if probe.get("backend", (1, ""))[1] == "running":
        dj = yield djshell.command(query_script(DJANGO_QUERY), container=ctx.vars["backend"],
                                   label="django shell probe", timeout=step.timeout or 90)
        out = interpret(dj, 10)
        if out.status == "ok" and isinstance(out.facts.get("result"), dict):
            info = {"django": out.facts.get("django"), **out.facts["result"]}
            facts["django"] = info
            ok = len(info.get("models", [])) == 4
            checks.append({"check": "django_shell", "ok": ok,
                           "detail": f"Django {info.get('django')}, TIME_ZONE {info.get('tz')}, models {', '.join(info.get('models', []))}",
                           "hint": "" if ok else "apps.nutrition models missing"})
        else:
            checks.append({"check": "django_shell", "ok": False, "detail": out.message[-200:],
                           "hint": "python manage.py shell must work in the backend container"})
            missing.append("django_shell")
    else:
        checks.append({"check": "django_shell", "ok": False, "detail": "backend container not running", "hint": "start the backend"})
        missing.append("django_shell")
    facts["checks"] = checks
    for c in checks:
        yield Note(f"{'ok  ' if c['ok'] else 'MISSING'} {c['check']:<13} {c['detail']}" + (f"  -> {c['hint']}" if c["hint"] else ""),
                   "info" if c["ok"] else "error")
    findings = [Finding(id=f"doctor_{c['check']}", severity="P0", title=c["detail"], status="ok" if c["ok"] else "alert",
                        action=c["hint"], check="doctor") for c in checks]
    if missing:
        return StepOutcome(status="failed", message=f"missing: {', '.join(missing)}", facts=facts, cannot_run=True,
                           findings=findings)
    return StepOutcome(status="ok", message="target is ready", facts=facts, findings=findings)
