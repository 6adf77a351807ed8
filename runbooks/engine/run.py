"""The run loop: one playbook on one target, from the plan to the verdict.

Steps yield requests (see steps/base.py); handlers perform each one and every outcome goes
out as an event (events.py) that the transcript, the console and the cast consume. The
loop is the only place with side effects, so the guarantees hold for every playbook:
  * a playbook that needs confirmations, run without a TTY and without --yes, is refused
    before anything runs (exit 3): never half-run, never hang on a prompt (plan.py);
  * under --dry-run a mutating command is rendered and recorded, never sent;
  * a failed/timed-out step stops the run and says how to resume (--start-at);
  * Ctrl-C stops the run, kills the remote command, records it and exits 4;
  * `always: true` steps still run after a failure or an interruption (on a new
    connection when the old one was lost).

Seams for the playbook language: the loop iterates `Plan.steps` (a list the plan may
filter or expand); `run_step(step, index, total, variables)` runs ONE step instance with
the variables given and returns its StepResult and StepOutcome (a loop item, a retry);
`absorb(step, step_run)` folds it into the run (facts, findings, verdict inputs).
"""

from __future__ import annotations

import getpass
import socket
import time
import traceback
from dataclasses import dataclass
from typing import Any

from runbooks import __version__
from runbooks.config import Target
from runbooks.connectors import connect
from runbooks.connectors.base import hop_fields
from runbooks.engine import verdict as verdicts
from runbooks.engine.events import EventStream
from runbooks.engine.handlers import Handlers, Session, StepScope
from runbooks.engine.operator import Operator
from runbooks.engine.options import RunOptions, runbooks_commit
from runbooks.engine.plan import Plan, check_can_run
from runbooks.engine.recovery import Recovery
from runbooks.errors import Aborted, ConnectError, InputError, RunbooksError
from runbooks.http import UrllibTransport
from runbooks.lang.control import run_controlled
from runbooks.lang.covering import covering
from runbooks.lang.model import Playbook
from runbooks.lang.outputs import step_output
from runbooks.lang.scope import RunScope
from runbooks.model import Finding, RunResult, StepOutcome, StepResult
from runbooks.record.cast import open_cast
from runbooks.record.console import Out, RunView
from runbooks.record.redact import Redactor
from runbooks.record.transcript import Transcript, iso, utcnow
from runbooks.steps.base import Step, StepContext, get_kind
from runbooks.transcripts.seal import seal_run


@dataclass(frozen=True)
class StepRun:
    """One step instance, run: what the operator sees and what the step found."""

    result: StepResult
    outcome: StepOutcome


class Run:
    def __init__(self, playbook: Playbook, target: Target, options: RunOptions, out: Out, redactor: Redactor,
                 plan: Plan | None = None) -> None:
        self.playbook, self.target, self.options, self.out, self.redactor = playbook, target, options, out, redactor
        self.plan = plan
        self.task = options.task or playbook.name
        self.events = EventStream()
        self.session = Session(target, options, redactor, self.events,
                               Operator(target, options, self.events, out.ask), options.http or UrllibTransport())
        self.handlers = Handlers(self.session)
        self.recovery = Recovery(self)
        self.findings: list[Finding] = []
        self.metrics: dict[str, Any] = {}
        self.steps: list[StepResult] = []
        self.facts: dict[str, Any] = {}
        self.coverage: dict[str, dict[str, Any]] = {}
        self.ran = ""  # "7/7 P0 checks ran ..." from the step that evaluated the checks
        self.cannot_run: list[str] = []
        self.current_step: str | None = None
        self.finalizing = False  # running `always` steps after a failure/abort: no cancel checks
        self.lang: RunScope | None = None  # what the steps see: variables and earlier outputs
        self.shared: dict[str, Any] = {}  # StepContext.shared: one per run, for the packs' steps

    # ------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        started = utcnow()
        plan = self.plan or check_can_run(self.playbook, self.target, self.options)
        try:
            tr = Transcript(self.options.transcript_dir, self.task, self.target.name, self.redactor, started)
        except OSError as exc:  # checked writable a moment ago (app.run_task); still one line, exit 3
            raise InputError(f"cannot create the run's record in {self.options.transcript_dir}: {exc.strerror or exc}; "
                             "nothing was run") from None
        ev, opts, tgt = self.events, self.options, self.target
        ev.record = tr
        ev.add(RunView(self.out, tgt.name, self.redactor, str(tr.dir / "events.jsonl")))
        cast = open_cast(tr.dir, tgt.name, f"{self.task} on {tgt.name}", self.redactor, self.out,
                         opts.cast_takes_summary)
        if cast is not None:
            ev.add(cast)
        serial: dict[str, Any] = {"serial": opts.serial} if opts.serial else {}  # a serial rollout's runs only
        ev("run_started", playbook=self.task, playbook_file=self.playbook.source, target=tgt.name,
           address=tgt.address, role=tgt.role, simulated=tgt.simulated, operator=getpass.getuser(),
           client_host=socket.gethostname(), argv=" ".join(opts.argv) or self.task, version=__version__,
           commit=runbooks_commit(), options={"dry_run": opts.dry_run, "yes": opts.yes, "start_at": opts.start_at,
                                              "vars": dict(opts.vars)},
           steps=plan.names, **serial)
        verdict: verdicts.Verdict = "ok"
        message = ""
        resume: str | None = None
        try:
            owned = opts.connector is None
            conn = self.session.conn = self._connect() if opts.connector is None else opts.connector
            tr.events[0]["host_key"] = conn.host_key_fingerprint  # for the md header
            ev("connected", address=conn.description, host_key=conn.host_key_fingerprint, transport=tgt.transport,
               **hop_fields(conn))
            not_run: list[str] = []  # dry-run: steps whose `when:` excludes them, said once
            try:
                for i, step in enumerate(plan.steps, 1):
                    res = self.absorb(step, self.run_step(step, i, len(plan.steps), plan.variables))
                    if self.options.dry_run and res.status == "skipped" and res.message.startswith("when:"):
                        not_run.append(res.name)
                    if self.cannot_run:
                        verdict, message = "error", "; ".join(self.cannot_run)
                        break
                    if res.status in ("failed", "timeout"):
                        verdict = "failed"
                        message = f"step {step.name} {res.status}" + (f": {res.message}" if res.message else "")
                        if opts.resume:
                            resume = opts.resume.format(step=step.name)
                        break
            except (Aborted, KeyboardInterrupt) as exc:
                self.recovery.interrupted(exc)  # when it happened: before the always-steps it triggers
                raise
            finally:
                if not_run:
                    ev.line(f"  dry-run: not run: {', '.join(not_run)} (the plan above says what a real run "
                            "would do)", "dim")
                try:
                    self.recovery.run_always(plan, owned)
                finally:
                    if owned and self.session.conn is not None:
                        self.session.conn.close()
        except (Aborted, KeyboardInterrupt) as exc:
            verdict, message = "aborted", self.recovery.interrupted(exc)
            resume = self.recovery.resume_hint()
        except RunbooksError as exc:
            verdict, message = verdicts.refused(exc.exit_code), exc.message
            if self.recovery.lost is not None:
                # Read-only: the verdict is unknown (3). Once something mutating was sent, the
                # host was changed by a run that did not finish: a failed run (2).
                verdict = "failed" if self.session.mutated else "error"
                message = self.recovery.lost_message()
                resume = self.recovery.resume_hint()
            ev("error", message=message, exit_code=verdicts.exit_for(verdict))
        if verdict == "ok":
            verdict, message = verdicts.judge(self.findings, self.ran)
        # a step may leave the host in a state the verdict must name (e.g. the worker STOPPED)
        for note in self.session.verdict_notes.values():
            message = f"{message}; {note}" if message else note
        return self._finish(tr, started, verdict, message, resume)

    def _connect(self) -> Any:
        try:
            return connect(self.target)
        except RunbooksError:
            raise
        except Exception as exc:  # paramiko/fabric surprises: still exit 3 with one line
            raise ConnectError(f"cannot connect to {self.target.address}: {exc}") from exc

    def _finish(self, tr: Transcript, started: Any, verdict: verdicts.Verdict, message: str,
                resume: str | None) -> RunResult:
        ev = self.events
        exit_code = verdicts.exit_for(verdict)
        if resume:  # the operator's own command line: a secret passed in a flag is masked here too
            resume = self.redactor.text(resume)
        for f in self.findings:
            ev("finding", **f.to_dict())
        finished = utcnow()
        ev("run_finished", verdict=verdict, exit_code=exit_code, message=message, metrics=self.metrics,
           coverage=self.coverage, remote_commands=self.session.remote_commands, resume=resume,
           steps=[s.to_dict() for s in self.steps])
        tr.close()
        tr.render_markdown()
        if tr.incomplete:  # disk full or read-only mid-run: the verdict stands, the record does not
            message = f"{message}; {tr.incomplete}" if message else tr.incomplete
            ev("error", record=False, message=tr.incomplete)
        ev("run_closed", record=False, verdict=verdict, exit_code=exit_code, message=message)
        seal_run(tr.dir, self.options.signing_key, lambda m: ev.note(m, "warn"))
        return RunResult(
            playbook=self.task, target=self.target.name, started_at=iso(started), finished_at=iso(finished),
            verdict=verdict, exit_code=exit_code, findings=self.findings, metrics=self.metrics, steps=self.steps,
            transcript=str(tr.md_path), message=self.redactor.text(message), facts=self.facts, resume=resume,
            coverage=self.coverage, simulated=self.target.simulated,
            verdict_notes=list(self.session.verdict_notes.values()),
        )

    # ------------------------------------------------------------------------------------
    def run_step(self, step: Step, index: int, total: int, variables: dict[str, Any]) -> StepRun:
        """Run one step instance with `variables` and record it; the caller folds the result
        into the run (`absorb`). Aborted, Ctrl-C and a lost connection are recorded (the
        step as aborted, already in `self.steps`) and raised."""
        ev = self.events
        self.current_step = step.name
        ev("step_entered", record=False, show=False, step=step.name)
        start = time.monotonic()
        lang = self._scope(variables)
        seen = lang.for_step(step)
        if step.when:
            try:
                ok = lang.runs(step, seen)
            except Exception as exc:
                return self._done(step, start, StepOutcome(status="failed", message=f"when: {exc}"))
            if not ok:
                ev("step_started", step=step.name, kind=step.kind, description=step.description)
                outcome = StepOutcome(status="skipped", message=f"when: {step.when} is false")
                lang.record(step.name, step_output(step.name, outcome))
                return self._done(step, start, outcome)
        ev("step_started", step=step.name, kind=step.kind, description=RunScope.describe(step, seen), index=index,
           total=total)
        try:
            covered = self._confirm_all(step, seen, start)
        except Aborted:
            raise
        except RunbooksError as exc:  # no terminal to ask (the plan refuses that before the run)
            return self._done(step, start, StepOutcome(status="failed", message=exc.message))
        outcome, output = run_controlled(step, seen, lambda s: self._drive(step, s, start, covered),
                                         lambda seconds: self._wait(step, start, seconds),
                                         dry_run=self.options.dry_run)
        lang.record(step.name, output)
        return self._done(step, start, outcome)

    def _confirm_all(self, step: Step, seen: dict[str, Any], start: float) -> bool:
        """A confirmed loop/until step: ONE confirmation for all its items and attempts, with
        each item shown (lang/covering.py). True when granted; declining runs none of them."""
        cover = None if self.options.dry_run else covering(step, seen, self.target.name, self.redactor)
        if cover is None:
            return False
        try:
            return self.session.operator.confirm(step, cover.question, list(cover.lines), None, covers=cover.covers)
        except (Aborted, KeyboardInterrupt):
            self.steps.append(StepResult(step.name, step.kind, "aborted", time.monotonic() - start))
            self.events("step_finished", step=step.name, status="aborted", duration_s=time.monotonic() - start)
            raise

    def _scope(self, variables: dict[str, Any]) -> RunScope:
        """What the steps see (lang/scope.py): made once per run, from the plan's variables."""
        if self.lang is None:
            self.lang = RunScope(variables, self.options.vars, self.playbook.steps, facts=self.facts)
        return self.lang

    def _wait(self, step: Step, start: float, seconds: float) -> None:
        """Between `until:` attempts: a real wait that Ctrl-C (or a fan-out cancel) ends; the
        step is then recorded as aborted, as one interrupted inside a command is."""
        cancel = self.options.cancel
        try:
            if cancel is None:
                time.sleep(seconds)
            elif cancel.wait(seconds) and not self.finalizing:
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            self.steps.append(StepResult(step.name, step.kind, "aborted", time.monotonic() - start))
            self.events("step_finished", step=step.name, status="aborted", duration_s=time.monotonic() - start)
            raise

    def _drive(self, step: Step, variables: dict[str, Any], start: float, covered: bool = False) -> StepOutcome:
        """Drive ONE instance of the step's generator (a loop item, an attempt) to its outcome.
        `covered`: the operator confirmed the whole loop/until: its `confirm:` is not asked again."""
        ev = self.events
        ctx = StepContext(target=self.target, vars=variables, facts=self.facts, dry_run=self.options.dry_run,
                          playbook=self.task, steps=self._scope(variables).outputs, confirmed=covered,
                          shared=self.shared)
        scope = StepScope(step, armed=covered,
                          question=RunScope.text(step.confirm_text, variables) if step.confirm_text else "")
        gen = get_kind(step.kind)(step, ctx)
        cancel = self.options.cancel
        try:
            request = next(gen)
            while True:
                if cancel is not None and cancel.is_set() and not self.finalizing:
                    raise KeyboardInterrupt
                request = gen.send(self.handlers.handle(scope, request))
        except StopIteration as stop:
            return stop.value if isinstance(stop.value, StepOutcome) else StepOutcome()
        except (Aborted, KeyboardInterrupt, ConnectError) as exc:
            if isinstance(exc, ConnectError) and self.recovery.lost is None:
                self.recovery.lost = exc
            gen.close()
            self.steps.append(StepResult(step.name, step.kind, "aborted", time.monotonic() - start))
            ev("step_finished", step=step.name, status="aborted", duration_s=time.monotonic() - start)
            raise
        except RunbooksError as exc:
            return StepOutcome(status="failed", message=exc.message)
        except Exception as exc:  # a bug in a step: record it fully, fail the step
            ev("error", show=False, step=step.name, message=f"internal error: {exc!r}",
               traceback=traceback.format_exc())
            return StepOutcome(status="failed", message=f"internal error in step {step.name}: {exc!r}")

    def _done(self, step: Step, start: float, outcome: StepOutcome) -> StepRun:
        dur = time.monotonic() - start
        res = StepResult(step.name, step.kind, outcome.status, dur, self.redactor.text(outcome.message))
        # under --dry-run the steps a `when:` excludes are said once, after the loop
        quiet = self.options.dry_run and res.status == "skipped" and res.message.startswith("when:")
        self.events("step_finished", show=self.finalizing or not quiet, result=res, step=step.name,
                    status=outcome.status, duration_s=round(dur, 3), message=outcome.message,
                    facts_keys=sorted(outcome.facts))
        return StepRun(res, outcome)

    def absorb(self, step: Step, done: StepRun) -> StepResult:
        """Fold one step instance into the run: its result, facts, findings, verdict inputs."""
        outcome = done.outcome
        self.steps.append(done.result)
        self.facts[step.name] = outcome.facts
        self.findings.extend(outcome.findings)
        self.metrics.update(outcome.metrics)
        self.coverage.update(outcome.coverage)
        if outcome.ran:
            self.ran = outcome.ran
        if outcome.cannot_run:
            self.cannot_run.append(f"{step.name}: {outcome.message}")
        return done.result


def run_playbook(playbook: Playbook, target: Target, options: RunOptions, out: Out, redactor: Redactor,
                 plan: Plan | None = None) -> RunResult:
    """Run one playbook on one target. `plan`: from check_can_run (already checked)."""
    return Run(playbook, target, options, out, redactor, plan).run()
