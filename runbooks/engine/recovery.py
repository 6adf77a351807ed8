"""What a run does when it does not go to the end: the interruption recorded once, the
`always: true` steps still run (on a new connection when the old one was lost), the
lost-connection verdict line and the resume hint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbooks.connectors import connect
from runbooks.errors import Aborted, ConnectError, ConnectionLost, RunbooksError, Terminated

if TYPE_CHECKING:
    from runbooks.engine.plan import Plan
    from runbooks.engine.run import Run


class Recovery:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.lost: ConnectError | None = None  # the connection dropped while a step ran
        self.interrupt_recorded = False
        self.always_unfinished: list[str] = []  # always-steps that could not run or failed
        self.always_after_loss: list[str] = []  # always-steps run on a new connection

    def interrupted(self, exc: BaseException) -> str:
        """Emit `interrupted` once, at the first place that sees it (a second Ctrl-C during
        the always-steps is part of the same interruption)."""
        if isinstance(exc, Aborted):
            message = exc.message
        elif isinstance(exc, Terminated):
            message = f"terminated by {exc.signame} (handled like Ctrl-C)"
        else:
            message = "interrupted by the operator (Ctrl-C)"
        if not self.interrupt_recorded:
            self.run.events("interrupted", message=message)
            self.interrupt_recorded = True
        return message

    def resume_hint(self) -> str | None:
        current, options = self.run.current_step, self.run.options
        template = options.resume
        if self.always_unfinished and options.resume_unclean:
            template = options.resume_unclean
        if template and current:
            return template.format(step=current)
        return None

    def lost_message(self) -> str:
        assert self.lost is not None
        run = self.run
        parts = [f"connection lost during step {run.current_step}: {self.lost.message}"]
        after = [r for r in run.steps if r.name in self.always_after_loss and r.status in ("ok", "skipped")]
        if run.session.mutated and not after:
            parts.append("the host was changed by this run and its state after that step is unknown")
        if after:  # reconnected: what the always-steps found and did (host state, lock)
            parts.append("after reconnecting: " + "; ".join(f"{r.name}: {r.message or r.status}" for r in after))
        if self.always_unfinished:
            parts.append(f"always-steps not completed: {', '.join(self.always_unfinished)} "
                         "(anything this run holds on the host, such as a lock, may still be held)")
        return "; ".join(parts)

    def _alive(self) -> bool:
        conn = self.run.session.conn
        alive = getattr(conn, "is_alive", None)
        return bool(alive()) if callable(alive) else conn is not None

    def run_always(self, plan: Plan, owned: bool = True) -> None:
        """After a failed, declined or interrupted step: run the `always: true` steps that
        have not run yet (e.g. release a lock), on the same connection (a new one when the
        connection was lost and it is ours to reopen). Their outcome is recorded but does not
        change the verdict; an error in one does not stop the next."""
        run = self.run
        done = {r.name for r in run.steps}
        pending = [s for s in plan.steps if s.always and s.name not in done]
        if not pending or run.session.conn is None:
            return
        current, run.finalizing = run.current_step, True
        if not self._alive() and not self._reconnect(owned, current):
            self.always_unfinished = [s.name for s in pending]
            text = (f"always-steps NOT run (no connection): {', '.join(self.always_unfinished)}; "
                    "the host's state and any lock this run took are unknown")
            run.events("note", step=current, text=text, level="error")
            run.current_step, run.finalizing = current, False
            return
        run.events("note", show=False, step=current, text=f"running always-steps: {', '.join(s.name for s in pending)}",
                   level="warn")
        if self.lost is not None:
            self.always_after_loss = [s.name for s in pending]
        try:
            for step in pending:
                try:
                    res = run.absorb(step, run.run_step(step, plan.position(step), len(plan.steps), plan.variables))
                except (Aborted, KeyboardInterrupt, RunbooksError):
                    self.always_unfinished.append(step.name)
                    continue  # recorded by run_step as aborted
                if res.status not in ("ok", "skipped"):
                    self.always_unfinished.append(step.name)
        finally:
            run.current_step, run.finalizing = current, False

    def _reconnect(self, owned: bool, step: str | None) -> bool:
        """The connection dropped: open a new one for the always-steps (state, lock)."""
        run = self.run
        ev, session = run.events, run.session
        if not owned:
            return False
        try:
            old, session.conn = session.conn, connect(run.target)
            if old is not None:
                try:
                    old.close()
                except Exception:  # noqa: BLE001 - already dead
                    pass
        except Exception as exc:  # noqa: BLE001 - unreachable, auth, host key: say so
            msg = exc.message if isinstance(exc, RunbooksError) else str(exc)
            ev("note", show=False, step=step, text=f"could not reconnect for the always-steps: {msg}", level="error")
            return False
        conn = session.conn
        assert conn is not None
        ev("connected", address=conn.description, host_key=conn.host_key_fingerprint,
           transport=run.target.transport, reconnect=True)
        pgid = self.lost.pgid if isinstance(self.lost, ConnectionLost) else None
        if pgid:  # the lost command may still run on the host (no pty, no SIGHUP): stop it first
            res = conn.run(f"kill -TERM -- -{int(pgid)} 2>/dev/null; sleep 1; kill -KILL -- -{int(pgid)} 2>/dev/null; "
                           "exit 0", timeout=30)
            ev("note", step=step, text=f"stopped the lost command's process group {pgid} on the host "
                                        f"(exit {res.exit_code})", level="warn")
        return True
