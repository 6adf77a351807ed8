"""Rollback step kinds (playbooks/rollback.yml). Steps yield requests; the runner does I/O.

Every mutating step first yields ONE explicit Confirm naming all the commands it may run
(so a follow-up such as `git revert --abort` after a failed revert does not ask again),
and re-reads the host's real state afterwards instead of assuming the command worked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbooks.model import Confirm, Note, Prompt, Result, StepOutcome
from runbooks.packs.eatfit24.rollback import cmds, djshell, lock, plan
from runbooks.steps.base import Step, StepContext, StepGen, step_kind
from runbooks.steps.doctor import parse_probe

AFFECTED_LIMIT = 200
STUCK_AFTER_S = 60  # DESIGN.md's stuck threshold, for cleanup without check-affected ids


def _tail(res: Result, limit: int = 300) -> str:
    text = (res.stderr or res.stdout or "").strip()
    return text[-limit:] if text else "(no output)"


def _short(sha: str | None) -> str:
    return (sha or "?")[:12]


def reverts(body: str, full_sha: str) -> bool:
    """git's revert message says `This reverts commit <full sha>.`"""
    return f"This reverts commit {full_sha}" in (body or "")


def parse_head(stdout: str) -> tuple[str, str]:
    """`git log -1 --format=%H%n--body--%n%B` -> (sha, body)."""
    sha, _, body = (stdout or "").partition("\n--body--\n")
    return sha.strip(), body


def _pf(ctx: StepContext) -> Mapping[str, Any]:
    return ctx.facts.get("preflight") or {}


# --- preflight ------------------------------------------------------------------------

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
            problems.append(f"--reset-to {reset} is not an ancestor of HEAD {_short(facts['head'])}: refusing to "
                            "reset to a commit that is not in the deployed history")
    elif acode == 1:
        problems.append(f"commit {full} is not an ancestor of HEAD {_short(facts['head'])}: it is not deployed here")
    elif acode != 0:
        problems.append(f"git merge-base --is-ancestor failed: {aout[-200:]}")
    elif not facts["already_reverted"]:
        problems += _revert_applies(full, facts["head"], p.get("revert_check", (2, "revert check did not run")))
    return facts, problems


def conflict_lines(text: str) -> list[str]:
    """git's `CONFLICT (...)` lines, as git printed them."""
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip().startswith("CONFLICT (")]


def _revert_applies(full: str, head: str, check: tuple[int, str]) -> list[str]:
    """Preflight's proof that `git revert` applies cleanly, before anything is stopped."""
    code, out = check
    if code == 0:
        return []
    conflicts = conflict_lines(out)
    if conflicts:
        return [f"git revert {_short(full)} would not apply cleanly on HEAD {_short(head)}: {conflicts[0]}"
                + "".join(f"\n{c}" for c in conflicts[1:])
                + "\nnothing was stopped or changed; resolve the revert by hand (or pick another commit / --reset-to)"]
    return [f"could not prove that git revert {_short(full)} applies cleanly (exit {code}): {out.strip()[-300:]}"]


def _affected_cmd(v: dict[str, Any]) -> Any:
    return djshell.command(v["backend"], "rollback_affected.py.j2", {"limit": AFFECTED_LIMIT},
                           label="django shell: PROCESSING meals/photos (read-only)", timeout=180)


def _validate_none(params: Mapping[str, Any]) -> None:
    if params:
        raise ValueError(f"{sorted(params)[0]}: this step kind takes no params")


@step_kind("rollback.preflight", _validate_none)
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
    dj = yield _affected_cmd(v)
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
                why = f"could not take the lock {facts['lock_path']} (exit {r.exit_code}): {_tail(r)}"
            yield Note(why, "error")
            return StepOutcome(status="failed", message=why, facts=facts, cannot_run=True)
        facts["lock_token"] = v["lock_token"]
        facts["lock"] = lock.owner_record(v)
        yield Note(f"lock taken: {facts['lock_path']} ({v.get('operator')}@{v.get('client_host')} pid {v.get('client_pid')})")
    steps = plan.build(v, facts)
    facts["plan"] = steps
    yield Note(plan.render(steps, v, facts))
    return StepOutcome(status="ok", message=f"HEAD {_short(facts['head'])}; rolling back {_short(facts['commit_full'])}",
                       facts=facts)


# --- stop-worker ----------------------------------------------------------------------

@step_kind("rollback.stop_worker", _validate_none)
def stop_worker(step: Step, ctx: StepContext) -> StepGen:
    """`docker compose stop <worker service>`, not the checklist's `docker exec ... pkill -f
    "celery worker"`: pkill may kill the container's main process, after which the container
    restarts or stays down depending on its restart policy (eatfit24.md). compose stop is
    deterministic: the container stays stopped whatever the policy, and the rebuild brings
    it back. Either way we then read the worker's REAL state with docker inspect."""
    v = ctx.vars
    stop = cmds.stop_worker(v)
    yield Confirm(f"Stop the worker ({v['worker']}): no new AI tasks are processed until the rebuild.",
                  commands=(stop.display(),))
    res = yield stop
    if res.timed_out:
        return StepOutcome(status="timeout", message="docker compose stop timed out")
    if not res.ok:
        return StepOutcome(status="failed", message=f"docker compose stop exited {res.exit_code}: {_tail(res)}")
    st = yield cmds.worker_state(v)
    states = cmds.parse_states(st.stdout)
    state = states.get(v["worker"])
    if state is None:
        if st.exit_code != 0 and "No such" in (st.stderr + st.stdout):
            yield Note(f"worker container {v['worker']} does not exist: not processing")
            return StepOutcome(status="ok", message="worker container absent", facts={"worker_state": None})
        return StepOutcome(status="failed", message=f"cannot read the worker's state (exit {st.exit_code}): {_tail(st)}")
    yield Note(f"worker {v['worker']} now: {state['status']} (exit code {state['exit_code']}, restarts {state['restarts']})")
    if state["running"] or state["status"] in ("running", "restarting"):
        return StepOutcome(status="failed", facts={"worker_state": state},
                           message=f"the worker is still {state['status']} after docker compose stop")
    return StepOutcome(status="ok", message=f"worker {state['status']}", facts={"worker_state": state})


# --- check-affected -------------------------------------------------------------------

@step_kind("rollback.check_affected", _validate_none)
def check_affected(step: Step, ctx: StepContext) -> StepGen:
    res = yield _affected_cmd(ctx.vars)
    data = djshell.parse(res.stdout)
    if data is None:
        why = f"Django shell exit {res.exit_code}: {djshell.failure_excerpt(res.stdout, res.stderr)}"
        yield Note(f"affected meals/photos unknown ({why}); cleanup, if asked, falls back to PROCESSING rows "
                   f"older than {STUCK_AFTER_S}s", "error")
        return StepOutcome(status="ok", message=f"degraded: {why}")
    facts: dict[str, Any] = {}
    for key in ("meals_processing", "photos_processing", "photos_pending"):
        item = data[key]
        facts[key] = item
        more = " (truncated)" if item.get("truncated") else ""
        yield Note(f"{key}: {item['count']}" + (f" ids {item['ids']}{more}" if item["ids"] else ""))
    facts["photo_ids"] = data["photos_processing"]["ids"]
    facts["meal_ids"] = data["meals_processing"]["ids"]
    facts["complete"] = not (data["photos_processing"].get("truncated") or data["meals_processing"].get("truncated"))
    return StepOutcome(status="ok", facts=facts, message=f"{data['meals_processing']['count']} meal(s), "
                       f"{data['photos_processing']['count']} photo(s) in PROCESSING")


# --- git-revert -----------------------------------------------------------------------

@step_kind("rollback.git_revert", _validate_none)
def git_revert(step: Step, ctx: StepContext) -> StepGen:
    v = ctx.vars
    pf = _pf(ctx)
    full = pf.get("commit_full")
    if not full:
        return StepOutcome(status="failed", message="preflight did not resolve the commit")
    h = yield cmds.head(v)
    if not h.ok:
        return StepOutcome(status="failed", message=f"cannot read HEAD: {_tail(h)}")
    head, body = parse_head(h.stdout)
    facts: dict[str, Any] = {"head_before": head}
    reset_full = pf.get("reset_full")
    if reset_full:
        if head == reset_full:
            yield Note(f"HEAD already is {reset_full}: nothing to reset")
            return StepOutcome(status="skipped", message=f"HEAD already is {_short(reset_full)}",
                               facts={**facts, "head_after": head})
        reset = cmds.reset_hard(v, reset_full)
        discarded = pf.get("discarded") or []
        yield Note(f"git reset --hard discards {len(discarded)} commit(s) from HEAD {_short(head)}:\n"
                   + "\n".join(f"    {ln}" for ln in discarded), "warn")
        yield Confirm(f"HARD RESET {v['project_dir']} from {_short(head)} to {_short(reset_full)}, discarding "
                      f"{len(discarded)} commit(s) (they stay reachable in the reflog)", commands=(reset.display(),),
                      typed=True)
        res = yield reset
        if not res.ok:
            return StepOutcome(status="failed", facts=facts, message=f"git reset --hard exited {res.exit_code}: {_tail(res)}")
        h2 = yield cmds.head(v)
        after, _ = parse_head(h2.stdout)
        facts["head_after"] = after
        if after != reset_full:
            return StepOutcome(status="failed", facts=facts, message=f"HEAD is {_short(after)}, not {_short(reset_full)}")
        yield Note(f"HEAD after: {after} (was {head})")
        return StepOutcome(status="ok", facts=facts, message=f"HEAD reset to {_short(after)}")
    if reverts(body, full):
        yield Note(f"HEAD {head} already reverts {full}: nothing to do")
        return StepOutcome(status="skipped", message=f"HEAD {_short(head)} already reverts {_short(full)}",
                           facts={**facts, "head_after": head, "revert_sha": head})
    ident = None if pf.get("git_identity") else cmds.identity_for(v)
    if ident:
        yield Note(f"the host's git has no user.email in {v['project_dir']}: committing as {ident[0]} <{ident[1]}>")
    rev = cmds.revert(v, full, ident)
    yield Confirm(f"Revert {full} ({pf.get('commit_subject', '')}) on top of HEAD {_short(head)}; on a conflict the "
                  "revert is aborted (tree restored)", commands=(rev.display(), cmds.revert_abort(v).display()))
    res = yield rev
    if not res.ok:
        ab = yield cmds.revert_abort(v)
        state = "aborted, the tree is restored" if ab.ok else f"`git revert --abort` ALSO FAILED: {_tail(ab)}"
        conflicts = conflict_lines(res.stdout + "\n" + res.stderr)
        why = "; ".join(conflicts) if conflicts else _tail(res)
        return StepOutcome(status="failed", facts=facts,
                           message=f"git revert exited {res.exit_code}: {why}; revert {state}")
    h2 = yield cmds.head(v)
    after, body2 = parse_head(h2.stdout)
    facts.update(head_after=after, revert_sha=after)
    if not reverts(body2, full):
        return StepOutcome(status="failed", facts=facts, message=f"HEAD {_short(after)} is not the revert of {_short(full)}")
    yield Note(f"HEAD after: {after} (was {head}), reverting {full}")
    return StepOutcome(status="ok", facts=facts, message=f"HEAD {_short(after)} reverts {_short(full)}")


# --- rebuild --------------------------------------------------------------------------

@step_kind("rollback.rebuild", _validate_none)
def rebuild(step: Step, ctx: StepContext) -> StepGen:
    c = cmds.rebuild(ctx.vars)
    yield Confirm("Rebuild and recreate the backend and the worker from the rolled-back tree (takes minutes; "
                  "output is streamed)", commands=(c.display(),))
    res = yield c
    if res.timed_out:
        return StepOutcome(status="timeout", message=f"docker compose up timed out after {c.timeout:.0f}s",
                           facts={"exit_code": res.exit_code})
    if not res.ok:
        return StepOutcome(status="failed", facts={"exit_code": res.exit_code},
                           message=f"docker compose up exited {res.exit_code}: {_tail(res, 200)}")
    return StepOutcome(status="ok", facts={"exit_code": 0}, message=f"rebuilt in {res.duration_s:.1f}s")


# --- cleanup --------------------------------------------------------------------------

def _cleanup_params(ctx: StepContext, apply: bool) -> dict[str, Any]:
    seen = ctx.facts.get("check-affected") or {}
    by_ids = "photo_ids" in seen and seen.get("complete", False)
    return {
        "apply": apply,
        "photo_ids": list(seen["photo_ids"]) if by_ids else None,
        "meal_ids": list(seen["meal_ids"]) if by_ids else None,
        "older_than_s": STUCK_AFTER_S,
        "selection": ("rows seen in PROCESSING by check-affected while the worker was stopped" if by_ids else
                      f"PROCESSING rows created more than {STUCK_AFTER_S}s ago (no complete check-affected ids)"),
        "error_code": "ROLLBACK_CLEANUP",
        "error_message": f"stuck in PROCESSING during rollback of {ctx.vars['commit']}; marked FAILED by runbooks",
    }


@step_kind("rollback.cleanup", _validate_none)
def cleanup(step: Step, ctx: StepContext) -> StepGen:
    """Photos that were PROCESSING when the worker stopped will never finish (their tasks
    died with it). Only those rows are touched (a photo the rebuilt worker is processing
    right now is not), in one transaction; meals are then finalized as the app does."""
    v = ctx.vars
    preview_params = _cleanup_params(ctx, apply=False)
    yield Note(f"selection: {preview_params['selection']}")
    res = yield djshell.command(v["backend"], "rollback_cleanup.py.j2", preview_params,
                                label="django shell: cleanup preview (rolled back)")
    pre = djshell.parse(res.stdout)
    if pre is None:
        return StepOutcome(status="failed", message=f"cleanup preview failed (exit {res.exit_code}): "
                           f"{djshell.failure_excerpt(res.stdout, res.stderr)}")
    n_ph, meals = len(pre["photos_failed"]), pre["meals_changed"]
    yield Note(f"would mark {n_ph} photo(s) FAILED: {pre['photos_failed']}; finalize {len(meals)} meal(s): "
               f"{[(m['meal_id'], m['to']) for m in meals]}; left PROCESSING (active photos): {pre['meals_left_processing']}")
    if not n_ph and not meals:
        return StepOutcome(status="ok", message="nothing to clean up", facts={"photos_failed": [], "meals_changed": []})
    apply = djshell.command(v["backend"], "rollback_cleanup.py.j2", _cleanup_params(ctx, apply=True), mutates=True,
                            label="django shell: cleanup (one transaction)")
    yield Confirm(f"Mark {n_ph} stuck photo(s) FAILED and finalize {len(meals)} meal(s) in one transaction",
                  commands=(apply.display() + "  (script templates/rollback_cleanup.py.j2 on stdin)",))
    res = yield apply
    done = djshell.parse(res.stdout)
    if done is None or not done.get("applied"):
        return StepOutcome(status="failed", message=f"cleanup failed (exit {res.exit_code}): "
                           f"{djshell.failure_excerpt(res.stdout, res.stderr)}; the transaction was not committed")
    facts = {"photos_failed": done["photos_failed"], "meals_changed": done["meals_changed"],
             "meals_left_processing": done["meals_left_processing"], "selection": done["selection"]}
    yield Note(f"changed: photos -> FAILED {done['photos_failed']}; meals {done['meals_changed']}")
    return StepOutcome(status="ok", facts=facts,
                       message=f"{len(done['photos_failed'])} photo(s) FAILED, {len(done['meals_changed'])} meal(s) finalized")


# --- verify ---------------------------------------------------------------------------

@step_kind("rollback.verify", _validate_none)
def verify(step: Step, ctx: StepContext) -> StepGen:
    v = ctx.vars
    pf = _pf(ctx)
    problems: list[str] = []
    st = yield cmds.container_states(v)
    states = cmds.parse_states(st.stdout)
    for name in (v["backend"], v["worker"]):
        s = states.get(name)
        yield Note(f"container {name}: {s['status'] if s else 'NOT FOUND'}")
        if not s or not s["running"]:
            problems.append(f"{name} is {s['status'] if s else 'missing'}")
    h = yield cmds.head(v)
    head, body = parse_head(h.stdout)
    if pf.get("reset_full"):
        if head != pf["reset_full"]:
            problems.append(f"HEAD {_short(head)} is not {_short(pf['reset_full'])}")
    elif not reverts(body, pf.get("commit_full") or "?"):
        problems.append(f"HEAD {_short(head)} is not the revert of {_short(pf.get('commit_full'))}")
    ready, evidence = None, "none"
    if states.get(v["worker"], {}).get("running"):
        r = yield cmds.worker_ready(v)
        ready = "RUNBOOKS_WORKER ready" in r.stdout
        evidence = "its `ready.` log line"
        if not ready:  # a worker logging at WARNING prints none: ask the worker itself
            p = yield cmds.worker_ping(v)
            ready = p.exit_code == 0 and cmds.pinged(p.stdout)
            evidence = ("no `ready.` line (log level above INFO?) but it answered `celery inspect ping`" if ready
                        else f"no `ready.` line and no answer to `celery inspect ping` (exit {p.exit_code})")
            if not ready:
                problems.append(f"the worker is not ready: {evidence}")
    yield Note(f"HEAD: {head}; worker ready: {ready} (evidence: {evidence})")
    facts = {"head": head, "containers": states, "worker_ready": ready, "worker_ready_evidence": evidence}
    if problems:
        return StepOutcome(status="failed", facts=facts, message="; ".join(problems))
    return StepOutcome(status="ok", facts=facts,
                       message=f"containers running, HEAD is the rollback, worker ready ({evidence})")


# --- always: worker-guard, host-state, release-lock ------------------------------------

AFTER_STOP = ("check-affected", "git-revert", "rebuild", "cleanup", "verify")


def worker_stopped_note(v: dict[str, Any], restart: str) -> str:
    return f"WORKER STOPPED: {v['worker']} on {v['target']} processes nothing; start it again on the host: {restart}"


@step_kind("rollback.worker_guard", _validate_none)
def worker_guard(step: Step, ctx: StepContext) -> StepGen:
    """When the run ends (done, failed, declined, Ctrl-C) with the worker stopped by this
    rollback (or by the run it resumes), the verdict names it and the command that starts
    it; at a terminal (without --yes) the operator is offered to start it now."""
    v = ctx.vars
    stopped_here = "stop-worker" in ctx.facts or v.get("start_at") in AFTER_STOP
    st = yield cmds.worker_state(v)
    state = cmds.parse_states(st.stdout).get(v["worker"])
    if state is None or state["running"] or not stopped_here:
        return StepOutcome(status="ok", message=f"worker {state['status'] if state else 'not found'}",
                           facts={"worker_state": state})
    start = cmds.start_worker(v)
    note = worker_stopped_note(v, start.display())
    yield Note(note, "error", verdict=True)  # said first: a Ctrl-C at the offer cannot lose it
    if v.get("offer_restart"):
        answer = yield Prompt(f"Start the worker {v['worker']} again now, on the code it was built from? [y/N]",
                              abort_on=())
        if (answer or "").strip().lower() in ("y", "yes"):
            res = yield start
            st = yield cmds.worker_state(v)
            state = cmds.parse_states(st.stdout).get(v["worker"]) or state
            if res.ok and state.get("running"):
                yield Note(f"worker {v['worker']} was stopped by this rollback and started again at the operator's "
                           "request, on the code it was built from", "warn", verdict=True)
                return StepOutcome(status="ok", message="worker started again at the operator's request",
                                   facts={"worker_state": state, "restarted": True})
            yield Note(f"{note} (the start just tried failed: exit {res.exit_code}: {_tail(res, 200)})", "error",
                       verdict=True)
    return StepOutcome(status="ok", message=f"worker {state['status']}: left stopped",
                       facts={"worker_state": state, "restart": start.display()})


@step_kind("rollback.host_state", _validate_none)
def host_state(step: Step, ctx: StepContext) -> StepGen:
    """The host's state at the end of the run, whatever happened: the incident record's
    "after" (and what an operator needs to decide on a resume)."""
    v = ctx.vars
    h = yield cmds.head(v)
    head, body = parse_head(h.stdout)
    st = yield cmds.container_states(v)
    states = cmds.parse_states(st.stdout)
    before = _pf(ctx).get("head")
    yield Note(f"HEAD after: {head or '?'} (before: {before or '?'})" + (" — unchanged" if head == before else ""))
    for name in (v["backend"], v["worker"]):
        s = states.get(name)
        yield Note(f"container {name}: " + (f"{s['status']} (exit {s['exit_code']}, restarts {s['restarts']})" if s
                                            else "NOT FOUND"))
    return StepOutcome(status="ok", facts={"head_before": before, "head_after": head, "containers": states},
                       message=f"HEAD {_short(head)}; " + ", ".join(f"{n} {s['status']}" for n, s in states.items()))


@step_kind("rollback.release_lock", _validate_none)
def release_lock(step: Step, ctx: StepContext) -> StepGen:
    token = _pf(ctx).get("lock_token")
    if not token:
        yield from ()
        return StepOutcome(status="skipped", message="this run holds no lock")
    res = yield lock.release(ctx.vars, token)
    if "RUNBOOKS_LOCK released" in res.stdout:
        return StepOutcome(status="ok", message=f"lock released: {lock.lock_dir(ctx.vars['project_dir'])}")
    holder = lock.parse_holder(res.stdout)
    return StepOutcome(status="failed", message=f"lock not released (exit {res.exit_code}): now held by "
                       f"{lock.describe_holder(holder)}")
