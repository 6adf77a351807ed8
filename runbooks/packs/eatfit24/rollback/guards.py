"""The rollback's always-steps: whatever happened (done, failed, declined, Ctrl-C), say if
the worker is left stopped, record the host's state, release the lock."""

from __future__ import annotations

from typing import Any

from runbooks.model import Note, Prompt, StepOutcome
from runbooks.packs.eatfit24.rollback import cmds, lock
from runbooks.packs.eatfit24.rollback.common import no_params, parse_head, preflight_facts, short, tail
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

AFTER_STOP = ("check-affected", "git-revert", "rebuild", "cleanup", "verify")


def worker_stopped_note(v: dict[str, Any], restart: str) -> str:
    return f"WORKER STOPPED: {v['worker']} on {v['target']} processes nothing; start it again on the host: {restart}"


@step_kind("rollback.worker_guard", no_params)
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
            yield Note(f"{note} (the start just tried failed: exit {res.exit_code}: {tail(res, 200)})", "error",
                       verdict=True)
    return StepOutcome(status="ok", message=f"worker {state['status']}: left stopped",
                       facts={"worker_state": state, "restart": start.display()})


@step_kind("rollback.host_state", no_params)
def host_state(step: Step, ctx: StepContext) -> StepGen:
    """The host's state at the end of the run, whatever happened: the incident record's
    "after" (and what an operator needs to decide on a resume)."""
    v = ctx.vars
    h = yield cmds.head(v)
    head, body = parse_head(h.stdout)
    st = yield cmds.container_states(v)
    states = cmds.parse_states(st.stdout)
    before = preflight_facts(ctx).get("head")
    yield Note(f"HEAD after: {head or '?'} (before: {before or '?'})" + (" — unchanged" if head == before else ""))
    for name in (v["backend"], v["worker"]):
        s = states.get(name)
        yield Note(f"container {name}: " + (f"{s['status']} (exit {s['exit_code']}, restarts {s['restarts']})" if s
                                            else "NOT FOUND"))
    return StepOutcome(status="ok", facts={"head_before": before, "head_after": head, "containers": states},
                       message=f"HEAD {short(head)}; " + ", ".join(f"{n} {s['status']}" for n, s in states.items()))


@step_kind("rollback.release_lock", no_params)
def release_lock(step: Step, ctx: StepContext) -> StepGen:
    token = preflight_facts(ctx).get("lock_token")
    if not token:
        yield from ()
        return StepOutcome(status="skipped", message="this run holds no lock")
    res = yield lock.release(ctx.vars, token)
    if "RUNBOOKS_LOCK released" in res.stdout:
        return StepOutcome(status="ok", message=f"lock released: {lock.lock_dir(ctx.vars['project_dir'])}")
    holder = lock.parse_holder(res.stdout)
    return StepOutcome(status="failed", message=f"lock not released (exit {res.exit_code}): now held by "
                       f"{lock.describe_holder(holder)}")
