"""`rollback.preflight`: read-only checks before anything is stopped (the commit exists and
is deployed, the revert applies cleanly, the tree is clean, the containers, the rows in
flight), then the lock, then the plan."""

from __future__ import annotations

from typing import Any

from runbooks.model import Confirm, Note, StepOutcome
from runbooks.packs.eatfit24.rollback import cmds, djshell, lock, plan
from runbooks.packs.eatfit24.rollback.common import affected_cmd, conflict_lines, no_params, reverts, short, tail
from runbooks.steps.base import Step, StepContext, StepGen, step_kind
from runbooks.steps.doctor import parse_probe


def _check_git(v: dict[str, Any], p: dict[str, tuple[int, str]]) -> tuple[dict[str, Any], list[str]]:
    facts: dict[str, Any] = {}
    problems: list[str] = []
    d = v["project_dir"]
    code, out = p.get("project_dir", (127, ""))
    if code != 0:
        return facts, [f"project_dir {d} does not exist on the host"]
    head_code, head = p.get("head", (1, ""))
    if head_code != 0:
        return facts, [f"{d} is not a git checkout: {head[-200:]}"]
    facts["head"] = head.strip()
    facts["head_body"] = p.get("head_body", (1, ""))[1]
    code, out = p.get("commit", (1, ""))
    if code != 0 or not out.strip():
        return facts, [f"commit {v['commit']} does not exist in {d} on the host (git fetch? wrong repo?)"]
    full = out.strip().splitlines()[-1]
    facts["commit_full"] = full
    facts["commit_subject"] = p.get("subject", (1, ""))[1].strip()
    facts["already_reverted"] = reverts(facts["head_body"], full)
    dcode, dirty = p.get("dirty", (1, ""))
    if dcode != 0:
        problems.append(f"git status failed: {dirty[-200:]}")
    elif dirty.strip():
        problems.append(f"working tree of {d} is not clean (commit or stash first):\n{dirty.strip()}")
    icode, ident = p.get("identity", (1, ""))
    facts["git_identity"] = icode == 0 and bool(ident.strip())
    acode, aout = p.get("ancestor", (2, ""))
    reset = v.get("reset_to")
    if reset:
        rcode, rout = p.get("reset", (1, ""))
        if rcode != 0 or not rout.strip():
            return facts, problems + [f"--reset-to {reset} does not exist in {d} on the host"]
        rfull = rout.strip().splitlines()[-1]
        facts["reset_full"] = rfull
        facts["discarded"] = [ln for ln in p.get("discarded", (1, ""))[1].splitlines() if ln.strip()]
        if p.get("reset_keeps", (1, ""))[0] == 0:
            problems.append(f"--reset-to {reset} still contains commit {full}: that reset would not roll it back")
        elif facts["head"] == rfull:
            facts["already_reset"] = True
        elif p.get("reset_ancestor", (1, ""))[0] != 0:
            problems.append(f"--reset-to {reset} is not an ancestor of HEAD {short(facts['head'])}: refusing to "
                            "reset to a commit that is not in the deployed history")
    elif acode == 1:
        problems.append(f"commit {full} is not an ancestor of HEAD {short(facts['head'])}: it is not deployed here")
    elif acode != 0:
        problems.append(f"git merge-base --is-ancestor failed: {aout[-200:]}")
    elif not facts["already_reverted"]:
        problems += _revert_applies(full, facts["head"], p.get("revert_check", (2, "revert check did not run")))
    return facts, problems


def _revert_applies(full: str, head: str, check: tuple[int, str]) -> list[str]:
    """Preflight's proof that `git revert` applies cleanly, before anything is stopped."""
    code, out = check
    if code == 0:
        return []
    conflicts = conflict_lines(out)
    if conflicts:
        return [f"git revert {short(full)} would not apply cleanly on HEAD {short(head)}: {conflicts[0]}"
                + "".join(f"\n{c}" for c in conflicts[1:])
                + "\nnothing was stopped or changed; resolve the revert by hand (or pick another commit / --reset-to)"]
    return [f"could not prove that git revert {short(full)} applies cleanly (exit {code}): {out.strip()[-300:]}"]


@step_kind("rollback.preflight", no_params)
def preflight(step: Step, ctx: StepContext) -> StepGen:
    v = ctx.vars
    res = yield cmds.probe(v)
    if res.timed_out:
        return StepOutcome(status="timeout", message="preflight probe timed out")
    p = parse_probe(res.stdout)
    facts, problems = _check_git(v, p)
    facts["containers"] = cmds.parse_states(p.get("containers", (1, ""))[1])
    if facts.get("head"):
        yield Note(f"HEAD before: {facts['head']}")
    if facts.get("commit_full"):
        yield Note(f"rolling back: {facts['commit_full']} {facts.get('commit_subject', '')}")
    for name in (v["backend"], v["worker"]):
        st = facts["containers"].get(name)
        yield Note(f"container {name}: " + (f"{st['status']} (restarts {st['restarts']}, started {st['started_at']})"
                                            if st else "NOT FOUND"), "info" if st else "warn")
    if facts.get("already_reverted"):
        yield Note(f"HEAD already reverts {facts['commit_full']}: git-revert will be skipped (re-run/resume)")
    if facts.get("already_reset"):
        yield Note(f"HEAD already is {facts['reset_full']}: the reset will be skipped (re-run/resume)")
    if problems:
        for pr in problems:
            yield Note(pr, "error")
        return StepOutcome(status="failed", message="; ".join(x.splitlines()[0] for x in problems), facts=facts,
                           cannot_run=True)
    # PROCESSING counts: best effort (a crashed backend must not block the rollback)
    dj = yield affected_cmd(v)
    counts = djshell.parse(dj.stdout)
    if counts:
        facts["affected"] = {k: counts[k]["count"] for k in ("meals_processing", "photos_processing", "photos_pending")}
        yield Note("in flight: " + ", ".join(f"{k}={n}" for k, n in facts["affected"].items()))
    else:
        yield Note(f"PROCESSING counts unavailable (Django shell exit {dj.exit_code}): "
                   f"{djshell.failure_excerpt(dj.stdout, dj.stderr)}", "warn")
    # the lock
    holder_code, holder_text = p.get("lock", (1, ""))
    held_by = lock.parse_holder(holder_text) if holder_code == 0 else None
    facts["lock_path"] = lock.lock_dir(v["project_dir"])
    if ctx.dry_run:
        if holder_code == 0:
            yield Note(f"the rollback lock is held by {lock.describe_holder(held_by)}: a real run would be refused", "warn")
        yield Note("dry-run: the lock is not taken")
    else:
        if holder_code == 0 and v.get("break_lock"):
            yield Note(f"the rollback lock is held by {lock.describe_holder(held_by)}", "warn")
            take = lock.break_and_take(v)
            yield Confirm(f"Break the rollback lock held by {lock.describe_holder(held_by)} and take it? Only if that "
                          "run is dead.", commands=(take.display(),))
        else:
            take = lock.take(v)
        r = yield take
        if r.exit_code == lock.HELD_EXIT or "RUNBOOKS_LOCK taken" not in r.stdout:
            holder = lock.parse_holder(r.stdout)
            why = (f"another rollback holds the lock {facts['lock_path']}: {lock.describe_holder(holder)}; "
                   "if that run is dead, re-run with --break-lock")
            if r.exit_code != lock.HELD_EXIT:
                why = f"could not take the lock {facts['lock_path']} (exit {r.exit_code}): {tail(r)}"
            yield Note(why, "error")
            return StepOutcome(status="failed", message=why, facts=facts, cannot_run=True)
        facts["lock_token"] = v["lock_token"]
        facts["lock"] = lock.owner_record(v)
        yield Note(f"lock taken: {facts['lock_path']} ({v.get('operator')}@{v.get('client_host')} pid {v.get('client_pid')})")
    steps = plan.build(v, facts)
    facts["plan"] = steps
    yield Note(plan.render(steps, v, facts))
    return StepOutcome(status="ok", message=f"HEAD {short(facts['head'])}; rolling back {short(facts['commit_full'])}",
                       facts=facts)
