"""`doctor`: can this target run the playbooks? One shell probe for what the target
configures: connection and host key (by connecting), the host's tools (docker when a
container is configured or a pack needs it, setsid, grep, date, the log-scan filter on the
host's awk), each `containers.<role>` and its state, `project_dir` as a git checkout with a
compose file. What the target does not configure is listed, not an error.

A pack adds its own part (runbooks/steps: DOCTOR_PARTS; e.g. eatfit24's Django probe) when
the target has the pack's keys: its required keys are checked before connecting, its
container hints and log filter join the probe, and its own commands run after it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from runbooks.blocks.logscan import ScanSpec, parse_scan
from runbooks.commands import Command
from runbooks.initdata import stale_notes
from runbooks.model import Finding, Note, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

if TYPE_CHECKING:
    from types import ModuleType

    from runbooks.config import Target

# Each probe prints "@@rb <name> <exit code>" then its output, so parsing never depends on
# the wording of a tool's messages. Containers are probed by index (`container_0`, ...):
# a role is a config key, never part of the shell text.
PROBE = r"""
rb() { n=$1; shift; o=$("$@" 2>&1); c=$?; printf '@@rb %s %s\n%s\n' "$n" "$c" "$o"; }
{% if docker %}
rb docker docker version --format {{ '{{.Client.Version}}' }}
{% endif %}
rb setsid sh -c 'command -v setsid'
rb grep sh -c 'command -v grep'
rb date date -u +%Y-%m-%dT%H:%M:%SZ
rb awk_filter sh -c 'printf "%s\\n" "$2" | awk -v B=1 -v A=1 "$1"' rb {{ filter }} {{ filter_sample }}
rb awk_flavour sh -c 'awk -W version 2>&1 </dev/null | head -n 1; exit 0'
{% for name in container_names %}
rb container_{{ loop.index0 }} docker inspect --format {{ '{{.State.Status}}' }} {{ name }}
{% endfor %}
{% if project_dir %}
rb project_dir test -d {{ project_dir }}
rb git_head git -C {{ project_dir }} rev-parse HEAD
rb git_branch git -C {{ project_dir }} rev-parse --abbrev-ref HEAD
rb git_dirty git -C {{ project_dir }} status --porcelain --untracked-files=no
rb compose_file sh -c 'cd "$1" && ls compose.yml compose.yaml docker-compose.yml docker-compose.yaml 2>/dev/null | head -n 1 | grep .' rb {{ project_dir }}
{% endif %}
"""

# The generic log-scan filter (runbooks/blocks/logscan) run on one marker line; a pack may
# bring its own (LOG_FILTER: spec, sample line) so its real program is the one tried.
FILTER = ScanSpec(markers=(("marker", r"rb-doctor-marker"),), context=r"Traceback|ERROR", before=1, after=1)
FILTER_SAMPLE = "2026-01-01T00:00:00.000000000Z rb-doctor-marker id=1"

HINTS = {
    "docker": "install the docker CLI on the host, or fix PATH for the SSH user",
    "setsid": "util-linux `setsid` starts the host-side guard that kills a command whose client vanished (lost link, killed laptop)",
    "grep": "grep is needed on the host (the compose file probe, the playbooks' checks)",
    "date": "`date -u` tells the host's clock: log coverage is measured against it",
    "awk_filter": "the log-scan filter (logs.scan, the monitor) needs a POSIX awk (mawk, gawk or busybox awk) that runs its program",
    "project_dir": "check targets.<t>.project_dir",
    "git_head": "project_dir must be a git checkout (the playbooks read and revert commits there)",
    "compose_file": "no compose.yml in project_dir (the playbooks run docker compose there)",
}
DOCKER_DAEMON_HINT = "start the docker daemon, or let the SSH user use its socket (the docker group)"
SKEW_WARN_S = 60  # the host's clock this far from this machine's: said, not an error
# what a target may configure that doctor checks when it does
CONFIGURABLE = ("containers", "project_dir")


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


def parts(target: "Target") -> list["ModuleType"]:
    """The packs' doctor parts that apply to this target (it has the pack's keys)."""
    from runbooks.steps import DOCTOR_PARTS

    mods = [importlib.import_module(m) for m in DOCTOR_PARTS]
    return [m for m in mods if m.applies(target)]


def variables(target: "Target", kind: str = "doctor") -> dict[str, Any]:
    """Before connecting: what the applying parts need of the target (ConfigError naming a
    missing key) and the variables they read. A target with none of a pack's keys: {}."""
    out: dict[str, Any] = {}
    for part in parts(target):
        out.update(part.variables(target))
    return out


def _awk_check(probe: dict[str, tuple[int, str]]) -> tuple[bool, str]:
    code, text = probe.get("awk_filter", (127, "no answer"))
    # the real filter program on one marker line: passes it as a marker, counts it on the host
    scan = parse_scan(text)
    ok = code == 0 and bool(text) and [(ln.nr, ln.tag) for ln in scan.lines] == [(1, "M")] \
        and scan.lines_read == 1 and scan.counts.get(1) == 1
    flavour = probe.get("awk_flavour", (0, ""))[1].splitlines()[:1]
    text = ("runs the log filter" if ok else f"the log filter failed: {text[-200:]}") + (
        f" ({flavour[0][:60]}{'; watch uses -W interactive' if 'mawk' in flavour[0] else ''})"
        if flavour and "usage" not in flavour[0].lower() and "warning" not in flavour[0].lower() else "")
    return ok, text


def clock_skew(text: str, now: datetime | None = None) -> float | None:
    """Seconds the host's `date -u` is ahead of this machine (None: not a date)."""
    try:
        host = datetime.strptime(text.strip().splitlines()[-1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (ValueError, IndexError):
        return None
    return (host - (now or datetime.now(timezone.utc))).total_seconds()


def _check(name: str, ok: bool, text: str, hint: str) -> dict[str, Any]:
    detail = text.splitlines()[-1] if text else ""
    return {"check": name, "ok": ok, "detail": detail[:200], "hint": "" if ok else hint}


def host_checks(ctx: StepContext, probe: dict[str, tuple[int, str]], docker: bool,
                role_hints: dict[str, str]) -> Iterator[dict[str, Any]]:
    tgt = ctx.target.name
    names = ["docker"] if docker else []
    for name in (*names, "setsid", "grep", "date"):
        code, text = probe.get(name, (127, "no answer"))
        hint = DOCKER_DAEMON_HINT if name == "docker" and "docker daemon" in text.lower() else HINTS[name]
        skew = clock_skew(text) if name == "date" and code == 0 else None
        if skew is not None:
            text = f"{text} (clock {skew:+.0f}s from this machine's)"
        yield _check(name, code == 0 and bool(text), text, hint)
    ok, text = _awk_check(probe)
    yield _check("awk_filter", ok, text, HINTS["awk_filter"])
    for i, (role, container) in enumerate(ctx.target.containers.items()):
        code, text = probe.get(f"container_{i}", (127, "no answer"))
        ok = code == 0 and text == "running"
        if code == 0 and text and not ok:
            text = f"container state: {text}"
        hint = f"check targets.{tgt}.containers.{role} ({container!r}: docker ps -a)" + role_hints.get(role, "")
        yield _check(role, ok, text, hint)
    if ctx.target.project_dir:
        for name in ("project_dir", "git_head", "compose_file"):
            code, text = probe.get(name, (127, "no answer"))
            yield _check(name, code == 0 and bool(text or name == "project_dir"), text,
                         HINTS[name].replace("<t>", tgt))


@step_kind("doctor")
def doctor(step: Step, ctx: StepContext) -> StepGen:
    mine = parts(ctx.target)
    spec, sample = next((p.LOG_FILTER for p in mine if getattr(p, "LOG_FILTER", None)), (FILTER, FILTER_SAMPLE))
    docker = bool(ctx.target.containers) or any(getattr(p, "NEEDS_DOCKER", False) for p in mine)
    role_hints: dict[str, str] = {}
    for p in mine:
        role_hints.update(getattr(p, "ROLE_HINTS", {}))
    probe_vars = {**ctx.vars, "filter": spec.program(), "filter_sample": sample, "docker": docker,
                  "container_names": list(ctx.target.containers.values()), "project_dir": ctx.target.project_dir}
    res = yield Command(template=PROBE, vars=probe_vars, label="host probe", timeout=step.timeout or 60)
    if res.timed_out:
        return StepOutcome(status="timeout", message="host probe timed out")
    probe = parse_probe(res.stdout)
    checks = list(host_checks(ctx, probe, docker, role_hints))
    dirty_code, dirty = probe.get("git_dirty", (1, ""))
    if dirty_code == 0 and dirty:
        yield Note(f"working tree of {ctx.target.project_dir} has uncommitted changes:\n{dirty}", "warn")
    yield from stale_notes(ctx.target.api)
    facts: dict[str, Any] = {}
    if ctx.target.project_dir:
        facts.update(head=probe.get("git_head", (1, ""))[1], branch=probe.get("git_branch", (1, ""))[1])
    states = {role: probe.get(f"container_{i}", (1, ""))[1] for i, role in enumerate(ctx.target.containers)}
    for p in mine:
        part_checks, part_facts = yield from p.run(step, ctx, states)
        checks.extend(part_checks)
        facts.update(part_facts)
    facts["checks"] = checks
    skew = clock_skew(probe.get("date", (1, ""))[1])
    if skew is not None and abs(skew) > SKEW_WARN_S:
        yield Note(f"the host's clock is {skew:+.0f}s from this machine's: times in reports are the host's", "warn")
    unset = [k for k in CONFIGURABLE if not getattr(ctx.target, k)]
    facts["not_configured"] = unset
    for c in checks:
        yield Note(f"{'ok  ' if c['ok'] else 'MISSING'} {c['check']:<13} {c['detail']}" + (f"  -> {c['hint']}" if c["hint"] else ""),
                   "info" if c["ok"] else "error")
    if unset:
        yield Note(f"not configured (not checked): {', '.join(f'targets.{ctx.target.name}.{k}' for k in unset)}", "info")
    findings = [Finding(id=f"doctor_{c['check']}", severity="P0", title=c["detail"], status="ok" if c["ok"] else "alert",
                        action=c["hint"], check="doctor") for c in checks]
    findings += [Finding(id=f"doctor_{k}", severity="P0", title=f"targets.{ctx.target.name}.{k} is not configured",
                         status="not_configured", check="doctor") for k in unset]
    missing = [c["check"] for c in checks if not c["ok"]]
    if missing:
        return StepOutcome(status="failed", message=f"missing: {', '.join(missing)}", facts=facts, cannot_run=True,
                           findings=findings)
    return StepOutcome(status="ok", message="target is ready", facts=facts, findings=findings)
