"""Rollback step kinds (playbooks/rollback.yml). Steps yield requests; the runner does I/O.

Every mutating step first yields ONE explicit Confirm naming all the commands it may run
(so a follow-up such as `git revert --abort` after a failed revert does not ask again),
and re-reads the host's real state afterwards instead of assuming the command worked.

The preflight is in preflight.py, the always-steps in guards.py; importing this module
(the `rollback` kinds' module, runbooks/steps) registers them all.
"""

from __future__ import annotations

from typing import Any

from runbooks.model import Confirm, Note, StepOutcome
from runbooks.packs.eatfit24.rollback import cmds, djshell, guards, preflight  # noqa: F401  (guards, preflight: their kinds)
from runbooks.packs.eatfit24.rollback.common import (
    STUCK_AFTER_S,
    affected_cmd,
    conflict_lines,
    no_params,
    parse_head,
    preflight_facts,
    reverts,
    short,
    tail,
)
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

# --- stop-worker ----------------------------------------------------------------------

@step_kind("rollback.stop_worker", no_params)
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
        return StepOutcome(status="failed", message=f"docker compose stop exited {res.exit_code}: {tail(res)}")
    st = yield cmds.worker_state(v)
    states = cmds.parse_states(st.stdout)
    state = states.get(v["worker"])
    if state is None:
        if st.exit_code != 0 and "No such" in (st.stderr + st.stdout):
            yield Note(f"worker container {v['worker']} does not exist: not processing")
            return StepOutcome(status="ok", message="worker container absent", facts={"worker_state": None})
        return StepOutcome(status="failed", message=f"cannot read the worker's state (exit {st.exit_code}): {tail(st)}")
    yield Note(f"worker {v['worker']} now: {state['status']} (exit code {state['exit_code']}, restarts {state['restarts']})")
    if state["running"] or state["status"] in ("running", "restarting"):
        return StepOutcome(status="failed", facts={"worker_state": state},
                           message=f"the worker is still {state['status']} after docker compose stop")
    return StepOutcome(status="ok", message=f"worker {state['status']}", facts={"worker_state": state})


# --- check-affected -------------------------------------------------------------------

@step_kind("rollback.check_affected", no_params)
def check_affected(step: Step, ctx: StepContext) -> StepGen:
    res = yield affected_cmd(ctx.vars)
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

@step_kind("rollback.git_revert", no_params)
def git_revert(step: Step, ctx: StepContext) -> StepGen:
    v = ctx.vars
    pf = preflight_facts(ctx)
    full = pf.get("commit_full")
    if not full:
        return StepOutcome(status="failed", message="preflight did not resolve the commit")
    h = yield cmds.head(v)
    if not h.ok:
        return StepOutcome(status="failed", message=f"cannot read HEAD: {tail(h)}")
    head, body = parse_head(h.stdout)
    facts: dict[str, Any] = {"head_before": head}
    reset_full = pf.get("reset_full")
    if reset_full:
        if head == reset_full:
            yield Note(f"HEAD already is {reset_full}: nothing to reset")
            return StepOutcome(status="skipped", message=f"HEAD already is {short(reset_full)}",
                               facts={**facts, "head_after": head})
        reset = cmds.reset_hard(v, reset_full)
        discarded = pf.get("discarded") or []
        yield Note(f"git reset --hard discards {len(discarded)} commit(s) from HEAD {short(head)}:\n"
                   + "\n".join(f"    {ln}" for ln in discarded), "warn")
        yield Confirm(f"HARD RESET {v['project_dir']} from {short(head)} to {short(reset_full)}, discarding "
                      f"{len(discarded)} commit(s) (they stay reachable in the reflog)", commands=(reset.display(),),
                      typed=True)
        res = yield reset
        if not res.ok:
            return StepOutcome(status="failed", facts=facts, message=f"git reset --hard exited {res.exit_code}: {tail(res)}")
        h2 = yield cmds.head(v)
        after, _ = parse_head(h2.stdout)
        facts["head_after"] = after
        if after != reset_full:
            return StepOutcome(status="failed", facts=facts, message=f"HEAD is {short(after)}, not {short(reset_full)}")
        yield Note(f"HEAD after: {after} (was {head})")
        return StepOutcome(status="ok", facts=facts, message=f"HEAD reset to {short(after)}")
    if reverts(body, full):
        yield Note(f"HEAD {head} already reverts {full}: nothing to do")
        return StepOutcome(status="skipped", message=f"HEAD {short(head)} already reverts {short(full)}",
                           facts={**facts, "head_after": head, "revert_sha": head})
    ident = None if pf.get("git_identity") else cmds.identity_for(v)
    if ident:
        yield Note(f"the host's git has no user.email in {v['project_dir']}: committing as {ident[0]} <{ident[1]}>")
    rev = cmds.revert(v, full, ident)
    yield Confirm(f"Revert {full} ({pf.get('commit_subject', '')}) on top of HEAD {short(head)}; on a conflict the "
                  "revert is aborted (tree restored)", commands=(rev.display(), cmds.revert_abort(v).display()))
    res = yield rev
    if not res.ok:
        ab = yield cmds.revert_abort(v)
        state = "aborted, the tree is restored" if ab.ok else f"`git revert --abort` ALSO FAILED: {tail(ab)}"
        conflicts = conflict_lines(res.stdout + "\n" + res.stderr)
        why = "; ".join(conflicts) if conflicts else tail(res)
        return StepOutcome(status="failed", facts=facts,
                           message=f"git revert exited {res.exit_code}: {why}; revert {state}")
    h2 = yield cmds.head(v)
    after, body2 = parse_head(h2.stdout)
    facts.update(head_after=after, revert_sha=after)
    if not reverts(body2, full):
        return StepOutcome(status="failed", facts=facts, message=f"HEAD {short(after)} is not the revert of {short(full)}")
    yield Note(f"HEAD after: {after} (was {head}), reverting {full}")
    return StepOutcome(status="ok", facts=facts, message=f"HEAD {short(after)} reverts {short(full)}")


# --- rebuild --------------------------------------------------------------------------

@step_kind("rollback.rebuild", no_params)
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
                           message=f"docker compose up exited {res.exit_code}: {tail(res, 200)}")
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


@step_kind("rollback.cleanup", no_params)
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

@step_kind("rollback.verify", no_params)
def verify(step: Step, ctx: StepContext) -> StepGen:
    v = ctx.vars
    pf = preflight_facts(ctx)
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
            problems.append(f"HEAD {short(head)} is not {short(pf['reset_full'])}")
    elif not reverts(body, pf.get("commit_full") or "?"):
        problems.append(f"HEAD {short(head)} is not the revert of {short(pf.get('commit_full'))}")
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
