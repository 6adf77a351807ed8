"""The runner: order, plan/dry-run, confirmations, --start-at, timeouts, Ctrl-C, results.

Steps yield requests (see steps/base.py); the runner performs each one, records it in the
transcript and sends the answer back. It is the only place with side effects, so the
guarantees hold for every playbook:
  * a playbook that needs confirmations, run without a TTY and without --yes, is refused
    before anything runs (exit 3) — never half-run, never hang on a prompt;
  * under --dry-run a mutating command is rendered and recorded, never sent;
  * a failed/timed-out step stops the run and says how to resume (--start-at);
  * Ctrl-C stops the run, kills the remote command, records it and exits 4.
"""

from __future__ import annotations

import getpass
import socket
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from runbooks import __version__
from runbooks.commands import Command
from runbooks.conditions import evaluate
from runbooks.config import ApiConfig, Target
from runbooks.connectors import Connector, connect
from runbooks.connectors.base import hop_fields
from runbooks.engine.options import RunOptions, runbooks_commit
from runbooks.engine.plan import Plan, check_can_run
from runbooks.engine.verdict import EXIT_FOR_VERDICT, judge, refused
from runbooks.errors import Aborted, ConnectError, ConnectionLost, InputError, RunbooksError, Terminated
from runbooks.http import UrllibTransport
from runbooks.model import (
    Batch,
    Confirm,
    Finding,
    HttpRequest,
    HttpResponse,
    Note,
    Prompt,
    Result,
    RunResult,
    StepOutcome,
    StepResult,
    Verdict,
)
from runbooks.playbook import Playbook
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.record.transcript import Transcript, iso, utcnow
from runbooks.steps.base import Step, StepContext, get_kind
from runbooks.transcripts.seal import seal_run

if TYPE_CHECKING:
    from runbooks.record.cast import CastWriter

DEFAULT_TIMEOUT = 300.0
MAX_RECORDED_OUTPUT = 2_000_000  # chars per stream kept in events.jsonl



class Runner:
    def __init__(self, playbook: Playbook, target: Target, options: RunOptions, out: Out,
                 redactor: Redactor, plan: Plan | None = None) -> None:
        self.plan = plan
        self.playbook = playbook
        self.target = target
        self.options = options
        self.out = out
        self.redactor = redactor
        self.task = options.task or playbook.name
        self.http = options.http or UrllibTransport()
        self.conn: Connector | None = None
        self.transcript: Transcript | None = None
        self.findings: list[Finding] = []
        self.metrics: dict[str, Any] = {}
        self.steps: list[StepResult] = []
        self.facts: dict[str, Any] = {}
        self.remote_commands = 0
        self.coverage: dict[str, dict[str, Any]] = {}
        self.ran = ""  # "7/7 P0 checks ran ..." from the step that evaluated the checks
        self.verdict_notes: dict[str, str] = {}  # step -> what the verdict must say
        self._armed = False  # a Confirm was granted for the current step
        self._cannot_run: list[str] = []
        self.cast: CastWriter | None = None  # transcript.cast, fed by the console
        self._lost: ConnectError | None = None  # the connection dropped while a step ran
        self._mutated = False  # a mutating command was sent to the host
        self._always_unfinished: list[str] = []  # always-steps that could not run or failed
        self._always_after_loss: list[str] = []  # always-steps run on a new connection

    # ------------------------------------------------------------------------------------
    def run(self) -> RunResult:
        started = utcnow()
        plan = self.plan or check_can_run(self.playbook, self.target, self.options)
        steps = list(plan.steps)
        try:
            self.transcript = Transcript(self.options.transcript_dir, self.task, self.target.name, self.redactor, started)
        except OSError as exc:  # checked writable a moment ago (app.run_task); still one line, exit 3
            raise InputError(f"cannot create the run's record in {self.options.transcript_dir}: {exc.strerror or exc}; "
                             "nothing was run") from None
        tr = self.transcript
        self.cast = self._open_cast(tr)
        variables = plan.variables
        tr.emit(
            "run_started", playbook=self.task, playbook_file=self.playbook.source, target=self.target.name,
            address=self.target.address, role=self.target.role, simulated=self.target.simulated,
            operator=getpass.getuser(),
            client_host=socket.gethostname(), argv=" ".join(self.options.argv) or self.task, version=__version__,
            commit=runbooks_commit(), options={"dry_run": self.options.dry_run, "yes": self.options.yes,
                                                 "start_at": self.options.start_at,
                                                 "vars": {k: v for k, v in self.options.vars.items()}},
            steps=[s.name for s in steps],
        )
        verdict: Verdict = "ok"
        message = ""
        resume: str | None = None
        try:
            if self.options.connector is not None:
                self.conn = self.options.connector
                owned = False
            else:
                try:
                    self.conn = connect(self.target)
                except RunbooksError:
                    raise
                except Exception as exc:  # paramiko/fabric surprises: still exit 3 with one line
                    raise ConnectError(f"cannot connect to {self.target.address}: {exc}") from exc
                owned = True
            tr.emit("connected", address=self.conn.description, host_key=self.conn.host_key_fingerprint,
                    transport=self.target.transport, **hop_fields(self.conn))
            tr.events[0]["host_key"] = self.conn.host_key_fingerprint  # for the md header
            self.out.run_started(self.task, self.target.name, self.conn.description,
                                 self.conn.host_key_fingerprint, self.options.dry_run, simulated=self.target.simulated)
            not_run: list[str] = []  # dry-run: steps whose `when:` excludes them, said once
            try:
                for i, step in enumerate(steps, 1):
                    res = self._run_step(step, i, len(steps), variables)
                    self.steps.append(res)
                    if self.options.dry_run and res.status == "skipped" and res.message.startswith("when:"):
                        not_run.append(res.name)
                    else:
                        self.out.step_finished(self.target.name, res)
                    if self._cannot_run:
                        verdict, message = "error", "; ".join(self._cannot_run)
                        break
                    if res.status in ("failed", "timeout"):
                        verdict = "failed"
                        message = f"step {step.name} {res.status}" + (f": {res.message}" if res.message else "")
                        if self.options.resume:
                            resume = self.options.resume.format(step=step.name)
                        break
            except (Aborted, KeyboardInterrupt) as exc:
                self._record_interrupt(exc)  # when it happened: before the always-steps it triggers
                raise
            finally:
                if not_run:
                    self.out.line(f"  dry-run: not run: {', '.join(not_run)} (the plan above says what a real run "
                                  "would do)", "dim", self.target.name)
                try:
                    self._run_always(steps, variables, owned)
                finally:
                    if owned and self.conn is not None:
                        self.conn.close()
        except (Aborted, KeyboardInterrupt) as exc:
            verdict, message = "aborted", self._record_interrupt(exc)
            resume = self._resume_hint()
        except RunbooksError as exc:
            verdict, message = refused(exc.exit_code), exc.message
            if self._lost is not None:
                # Read-only: the verdict is unknown (3). Once something mutating was sent, the
                # host was changed by a run that did not finish: a failed run (2).
                verdict = "failed" if self._mutated else "error"
                message = self._lost_message()
                resume = self._resume_hint()
            tr.emit("error", message=message, exit_code=EXIT_FOR_VERDICT[verdict])
            self.out.error(self.redactor.text(message))
        if verdict == "ok":
            verdict, message = judge(self.findings, self.ran)
        # a step may leave the host in a state the verdict must name (e.g. the worker STOPPED)
        for note in self.verdict_notes.values():
            message = f"{message}; {note}" if message else note
        exit_code = EXIT_FOR_VERDICT[verdict]
        if resume:  # the operator's own command line: a secret passed in a flag is masked here too
            resume = self.redactor.text(resume)
        for f in self.findings:
            tr.emit("finding", **f.to_dict())
        finished = utcnow()
        tr.emit("run_finished", verdict=verdict, exit_code=exit_code, message=message, metrics=self.metrics,
                coverage=self.coverage,
                remote_commands=self.remote_commands, resume=resume,
                steps=[s.to_dict() for s in self.steps])
        tr.close()
        tr.render_markdown()
        if tr.incomplete:  # disk full or read-only mid-run: the verdict stands, the record does not
            message = f"{message}; {tr.incomplete}" if message else tr.incomplete
            self.out.error(tr.incomplete)
        if self.cast is not None:
            cast = self.cast
            if self.options.cast_takes_summary:
                def close_cast() -> None:
                    self.out.remove_listener(cast.on_text)
                    cast.close()
                self.out.close_after_summary(close_cast)
            else:
                self.out.remove_listener(cast.on_text)
                cast.close(f"VERDICT {verdict.upper()} (exit {exit_code})" + (f": {message}" if message else ""))
        seal_run(tr.dir, self.options.signing_key, lambda m: self.out.note(self.target.name, m, "warn"))
        return RunResult(
            playbook=self.task, target=self.target.name, started_at=iso(started), finished_at=iso(finished),
            verdict=verdict, exit_code=exit_code, findings=self.findings, metrics=self.metrics, steps=self.steps,
            transcript=str(tr.md_path), message=self.redactor.text(message), facts=self.facts, resume=resume,
            coverage=self.coverage,
            simulated=self.target.simulated, verdict_notes=list(self.verdict_notes.values()),
        )

    def _open_cast(self, tr: Transcript) -> CastWriter | None:
        """transcript.cast next to events.jsonl: this run's own terminal output (asciicast v2)."""
        from runbooks.record.cast import FILENAME, CastWriter

        try:
            cast = CastWriter(tr.dir / FILENAME, self.target.name, f"{self.task} on {self.target.name}",
                              self.redactor, solo=not self.out.prefix_targets)
        except OSError:
            return None
        self.out.add_listener(cast.on_text)
        return cast

    _interrupt_recorded = False

    def _record_interrupt(self, exc: BaseException) -> str:
        """Emit `interrupted` once, at the first place that sees it (a second Ctrl-C during
        the always-steps is part of the same interruption)."""
        if isinstance(exc, Aborted):
            message = exc.message
        elif isinstance(exc, Terminated):
            message = f"terminated by {exc.signame} (handled like Ctrl-C)"
        else:
            message = "interrupted by the operator (Ctrl-C)"
        if not self._interrupt_recorded:
            assert self.transcript is not None
            self.transcript.emit("interrupted", message=message)
            self._interrupt_recorded = True
        return message

    def _resume_hint(self) -> str | None:
        current = self._current_step
        template = self.options.resume
        if self._always_unfinished and self.options.resume_unclean:
            template = self.options.resume_unclean
        if template and current:
            return template.format(step=current)
        return None

    def _lost_message(self) -> str:
        assert self._lost is not None
        parts = [f"connection lost during step {self._current_step}: {self._lost.message}"]
        after = [r for r in self.steps if r.name in self._always_after_loss and r.status in ("ok", "skipped")]
        if self._mutated and not after:
            parts.append("the host was changed by this run and its state after that step is unknown")
        if after:  # reconnected: what the always-steps found and did (host state, lock)
            parts.append("after reconnecting: " + "; ".join(f"{r.name}: {r.message or r.status}" for r in after))
        if self._always_unfinished:
            parts.append(f"always-steps not completed: {', '.join(self._always_unfinished)} "
                         "(anything this run holds on the host, such as a lock, may still be held)")
        return "; ".join(parts)

    def _connection_alive(self) -> bool:
        alive = getattr(self.conn, "is_alive", None)
        return bool(alive()) if callable(alive) else self.conn is not None

    _current_step: str | None = None
    _finalizing = False  # running `always` steps after a failure/abort: no cancel checks

    def _run_always(self, steps: list[Step], variables: dict[str, Any], owned: bool = True) -> None:
        """After a failed, declined or interrupted step: run the `always: true` steps that
        have not run yet (e.g. release a lock), on the same connection (a new one when the
        connection was lost and it is ours to reopen). Their outcome is recorded but does not
        change the verdict; an error in one does not stop the next."""
        done = {r.name for r in self.steps}
        pending = [s for s in steps if s.always and s.name not in done]
        if not pending or self.conn is None:
            return
        assert self.transcript is not None
        current, self._finalizing = self._current_step, True
        if not self._connection_alive() and not self._reconnect(owned, current):
            self._always_unfinished = [s.name for s in pending]
            text = (f"always-steps NOT run (no connection): {', '.join(self._always_unfinished)}; "
                    "the host's state and any lock this run took are unknown")
            self.transcript.emit("note", step=current, text=text, level="error")
            self.out.note(self.target.name, text, "error")
            self._current_step, self._finalizing = current, False
            return
        self.transcript.emit("note", step=current, text=f"running always-steps: {', '.join(s.name for s in pending)}",
                             level="warn")
        if self._lost is not None:
            self._always_after_loss = [s.name for s in pending]
        try:
            for step in pending:
                try:
                    res = self._run_step(step, steps.index(step) + 1, len(steps), variables)
                except (Aborted, KeyboardInterrupt, RunbooksError):
                    self._always_unfinished.append(step.name)
                    continue  # recorded by _run_step as aborted
                self.steps.append(res)
                if res.status not in ("ok", "skipped"):
                    self._always_unfinished.append(step.name)
                self.out.step_finished(self.target.name, res)
        finally:
            self._current_step, self._finalizing = current, False

    def _reconnect(self, owned: bool, step: str | None) -> bool:
        """The connection dropped: open a new one for the always-steps (state, lock)."""
        assert self.transcript is not None
        if not owned:
            return False
        try:
            old, self.conn = self.conn, connect(self.target)
            if old is not None:
                try:
                    old.close()
                except Exception:  # noqa: BLE001 - already dead
                    pass
        except Exception as exc:  # noqa: BLE001 - unreachable, auth, host key: say so
            msg = exc.message if isinstance(exc, RunbooksError) else str(exc)
            self.transcript.emit("note", step=step, text=f"could not reconnect for the always-steps: {msg}", level="error")
            return False
        assert self.conn is not None
        self.transcript.emit("connected", address=self.conn.description, host_key=self.conn.host_key_fingerprint,
                             transport=self.target.transport, reconnect=True)
        self.out.note(self.target.name, f"reconnected to {self.conn.description} to run the always-steps", "warn")
        pgid = self._lost.pgid if isinstance(self._lost, ConnectionLost) else None
        if pgid:  # the lost command may still run on the host (no pty, no SIGHUP): stop it first
            res = self.conn.run(f"kill -TERM -- -{int(pgid)} 2>/dev/null; sleep 1; kill -KILL -- -{int(pgid)} 2>/dev/null; "
                                "exit 0", timeout=30)
            text = f"stopped the lost command's process group {pgid} on the host (exit {res.exit_code})"
            self.transcript.emit("note", step=step, text=text, level="warn")
            self.out.note(self.target.name, text, "warn")
        return True

    # ------------------------------------------------------------------------------------
    def _run_step(self, step: Step, index: int, total: int, variables: dict[str, Any]) -> StepResult:
        assert self.transcript is not None
        tr = self.transcript
        self._current_step = step.name
        if self.cast is not None:
            self.cast.marker(step.name)
        self._armed = False
        start = time.monotonic()
        if step.when:
            try:
                ok = evaluate(step.when, {**variables, "facts": self.facts})
            except Exception as exc:
                return self._finish(step, start, StepOutcome(status="failed", message=f"when: {exc}"))
            if not ok:
                tr.emit("step_started", step=step.name, kind=step.kind, description=step.description)
                return self._finish(step, start, StepOutcome(status="skipped", message=f"when: {step.when} is false"))
        tr.emit("step_started", step=step.name, kind=step.kind, description=step.description, index=index, total=total)
        self.out.step_started(self.target.name, step.name, index, total, step.description)
        ctx = StepContext(target=self.target, vars=variables, facts=self.facts, dry_run=self.options.dry_run,
                          playbook=self.task)
        gen = get_kind(step.kind)(step, ctx)
        try:
            request = next(gen)
            while True:
                if self.options.cancel is not None and self.options.cancel.is_set() and not self._finalizing:
                    raise KeyboardInterrupt
                answer = self._handle(step, request)
                request = gen.send(answer)
        except StopIteration as stop:
            outcome = stop.value if isinstance(stop.value, StepOutcome) else StepOutcome()
        except (Aborted, KeyboardInterrupt, ConnectError) as exc:
            if isinstance(exc, ConnectError) and self._lost is None:
                self._lost = exc
            gen.close()
            self.steps.append(StepResult(step.name, step.kind, "aborted", time.monotonic() - start))
            tr.emit("step_finished", step=step.name, status="aborted", duration_s=time.monotonic() - start)
            raise
        except RunbooksError as exc:
            outcome = StepOutcome(status="failed", message=exc.message)
        except Exception as exc:  # a bug in a step: record it fully, fail the step
            tr.emit("error", step=step.name, message=f"internal error: {exc!r}", traceback=traceback.format_exc())
            outcome = StepOutcome(status="failed", message=f"internal error in step {step.name}: {exc!r}")
        return self._finish(step, start, outcome)

    def _finish(self, step: Step, start: float, outcome: StepOutcome) -> StepResult:
        assert self.transcript is not None
        self.facts[step.name] = outcome.facts
        self.findings.extend(outcome.findings)
        self.metrics.update(outcome.metrics)
        self.coverage.update(outcome.coverage)
        if outcome.ran:
            self.ran = outcome.ran
        if outcome.cannot_run:
            self._cannot_run.append(f"{step.name}: {outcome.message}")
        dur = time.monotonic() - start
        self.transcript.emit("step_finished", step=step.name, status=outcome.status, duration_s=round(dur, 3),
                             message=outcome.message, facts_keys=sorted(outcome.facts))
        return StepResult(step.name, step.kind, outcome.status, dur, self.redactor.text(outcome.message))

    # ------------------------------------------------------------------------------------
    def _handle(self, step: Step, request: Any) -> Any:
        if isinstance(request, Command):
            return self._command(step, request)
        if isinstance(request, Batch):
            return self._batch(step, request)
        if isinstance(request, HttpRequest):
            return self._http(step, request)
        if isinstance(request, Confirm):
            granted = self._confirm(step, request.prompt, list(request.commands), request.typed)
            self._armed = granted
            return granted
        if isinstance(request, Prompt):
            return self._prompt(step, request)
        if isinstance(request, Note):
            assert self.transcript is not None
            self.transcript.emit("note", step=step.name, text=request.text, level=request.level,
                                 **({"verdict": True} if request.verdict else {}))
            if request.verdict:
                self.verdict_notes[step.name] = self.redactor.text(request.text)
            self.out.note(self.target.name, self.redactor.text(request.text), request.level)
            return None
        raise TypeError(f"step {step.name} yielded {type(request).__name__}, not a request")

    def _command(self, step: Step, cmd: Command) -> Result:
        assert self.transcript is not None and self.conn is not None
        rendered = cmd.render()
        display = self.redactor.text(cmd.display(self.redactor.secrets))
        dry = self.options.dry_run and cmd.mutates
        if cmd.mutates and step.confirm and not self._armed and not dry:
            self._confirm(step, f"Run this mutating command on {self.target.name}?", [display], None)
        if cmd.mutates and not step.mutates and not dry:
            raise RunbooksError(f"step {step.name} yielded a mutating command but is not marked `mutates: true`")
        timeout = cmd.timeout or step.timeout or DEFAULT_TIMEOUT
        self.out.command(self.target.name, display, cmd.mutates, self.options.dry_run)
        started = self.transcript.emit("command", step=step.name, command=display, mutates=cmd.mutates,
                                       timeout=timeout, dry_run=dry, stdin_bytes=len(cmd.stdin or ""))
        if dry:
            res = Result(command=display, exit_code=0, stdout="", stderr="", duration_s=0.0, dry_run=True)
        else:
            on_output = None
            maskers = {"stdout": self.redactor.stream(), "stderr": self.redactor.stream()}
            if cmd.stream:
                def on_output(stream: str, text: str) -> None:
                    shown = maskers[stream].feed(text)  # whole lines: a split secret is still masked
                    if shown:
                        self.out.output(self.target.name, stream, shown)
            self.remote_commands += 1
            self._mutated = self._mutated or cmd.mutates
            try:
                res = self.conn.run(rendered, timeout=timeout, stdin=cmd.stdin, on_output=on_output, display=display)
            finally:
                if cmd.stream:
                    for name, masker in maskers.items():
                        rest = masker.flush()
                        if rest:
                            self.out.output(self.target.name, name, rest + "\n")
        self.transcript.emit(
            "command_finished", step=step.name, command=display, command_seq=started["seq"], exit_code=res.exit_code,
            duration_s=round(res.duration_s, 3), timed_out=res.timed_out, timeout=timeout, dry_run=res.dry_run,
            mutates=cmd.mutates, stdout=res.stdout[-MAX_RECORDED_OUTPUT:], stderr=res.stderr[-MAX_RECORDED_OUTPUT:],
        )
        self.out.command_done(self.target.name, res.exit_code, res.duration_s, res.timed_out)
        self.out.command_output(self.target.name, res)
        return res

    def _batch(self, step: Step, batch: Batch) -> tuple[Result, ...]:
        """Run read-only commands concurrently on the one connection (a channel each).

        Every command is recorded as it starts and as it finishes, exactly as a single
        command would be. Ctrl-C (or a fan-out cancel) sets one event that every command's
        loop watches: each kills its process group on the host before the interrupt goes on.
        """
        assert self.transcript is not None and self.conn is not None
        cmds: list[Command] = list(batch.commands)
        if any(c.mutates for c in cmds):
            raise RunbooksError(f"step {step.name}: a Batch may hold only read-only commands")
        if len(cmds) <= 1:
            return tuple(self._command(step, c) for c in cmds)
        conn = self.conn
        prepared = []
        seqs: list[int] = []  # each result names its own command: they finish in any order
        for c in cmds:
            display = self.redactor.text(c.display(self.redactor.secrets))
            timeout = c.timeout or step.timeout or DEFAULT_TIMEOUT
            self.out.command(self.target.name, display, False, self.options.dry_run)
            ev = self.transcript.emit("command", step=step.name, command=display, mutates=False, timeout=timeout,
                                      dry_run=False, stdin_bytes=len(c.stdin or ""), batch=len(cmds))
            prepared.append((c.render(), display, timeout, c.stdin))
            seqs.append(ev["seq"])
        stop = threading.Event()
        self.remote_commands += len(prepared)
        results: list[Result | None] = [None] * len(prepared)
        with ThreadPoolExecutor(max_workers=len(prepared)) as pool:
            futures = {pool.submit(conn.run, rendered, timeout=timeout, stdin=stdin, display=display, cancel=stop): i
                       for i, (rendered, display, timeout, stdin) in enumerate(prepared)}
            pending = set(futures)
            try:
                while pending:
                    if self.options.cancel is not None and self.options.cancel.is_set():
                        raise KeyboardInterrupt
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = futures[fut]
                        res = fut.result()
                        results[i] = res
                        self.transcript.emit(
                            "command_finished", step=step.name, command=prepared[i][1], command_seq=seqs[i],
                            exit_code=res.exit_code,
                            duration_s=round(res.duration_s, 3), timed_out=res.timed_out, timeout=prepared[i][2],
                            dry_run=False, mutates=False, stdout=res.stdout[-MAX_RECORDED_OUTPUT:],
                            stderr=res.stderr[-MAX_RECORDED_OUTPUT:])
                        self.out.command_done(self.target.name, res.exit_code, res.duration_s, res.timed_out)
                        self.out.command_output(self.target.name, res)
            except BaseException:
                stop.set()  # every command still running is killed on the host
                for fut in pending:
                    try:
                        fut.result(timeout=30)
                    except BaseException:  # noqa: BLE001 - they end by raising KeyboardInterrupt
                        pass
                raise
        return tuple(r for r in results if r is not None)

    def _http(self, step: Step, req: HttpRequest) -> HttpResponse:
        assert self.transcript is not None
        # The target's configured headers plus the request's own; ${VAR} references in
        # either are resolved here, at the last moment, and every value becomes a secret.
        merged = ApiConfig(headers={**self.target.api.headers, **req.headers})
        headers, missing = merged.resolved_headers()
        self.redactor.add(headers.values())
        if missing:
            resp = HttpResponse(0, {}, b"", 0.0, error=f"credentials not set: ${{{'}, ${'.join(missing)}}}")
        else:
            self.transcript.emit("http", step=step.name, method=req.method, url=req.url, header_names=sorted(headers))
            resp = self.http.send(req, headers, self.target.api.verify_tls, follow_redirects=self.target.api.follow_redirects)
        body_preview = resp.body[:4000].decode("utf-8", "replace")
        self.transcript.emit("http_finished", step=step.name, method=req.method, url=req.url, status=resp.status,
                             duration_s=round(resp.duration_s, 3), error=resp.error, body=body_preview)
        self.out.note(self.target.name, f"HTTP {req.method} {self.redactor.text(req.url)} -> {resp.status or resp.error}")
        return resp

    def _confirm(self, step: Step, prompt: str, commands: list[str], typed: bool | None) -> bool:
        assert self.transcript is not None
        need_typed = typed if typed is not None else (self.target.confirm == "typed" or step.confirm == "typed")
        expected = self.target.name if need_typed else None
        if self.options.dry_run:
            self.transcript.emit("confirm", step=step.name, prompt=prompt, commands=commands,
                                 answer="not asked (dry-run)", by="dry-run")
            return True
        if self.options.yes:
            self.transcript.emit("confirm", step=step.name, prompt=prompt, commands=commands, answer="yes",
                                 by=f"--yes on behalf of {getpass.getuser()}")
            self.out.note(self.target.name, f"confirmed by --yes: {prompt}", "warn")
            return True
        if not self.options.is_interactive():
            raise InputError("a confirmation is needed but stdin is not a terminal (use --yes)")
        self.out.line(f"  CONFIRM on {self.target.name} ({self.target.address}, role {self.target.role}): {prompt}",
                      "bold yellow", self.target.name)
        for c in commands:
            self.out.line(f"    $ {c}", "magenta", self.target.name)
        if need_typed:
            question = f"  Type the target name '{self.target.name}' to proceed (anything else aborts): "
        else:
            question = "  Proceed? [y/N] "
        try:
            answer = self.out.ask(question)
        except Terminated:
            raise  # SIGTERM at a prompt is an interruption, not an answer
        except (EOFError, KeyboardInterrupt):
            answer = "<EOF>"
        ok = answer.strip() == expected if need_typed else answer.strip().lower() in ("y", "yes")
        self.transcript.emit("confirm", step=step.name, prompt=prompt, commands=commands, answer=answer,
                             by=f"operator {getpass.getuser()} (typed)" if need_typed else f"operator {getpass.getuser()}",
                             expected=expected, granted=ok)
        if not ok:
            raise Aborted(f"operator declined at step {step.name}" + (f" (typed {answer!r}, expected {expected!r})" if need_typed else ""))
        return True


    def _prompt(self, step: Step, req: Prompt) -> str | None:
        """Operator input (see model.Prompt): the line, None on timeout, Aborted on `abort_on`."""
        assert self.transcript is not None
        tr = self.transcript
        if self.options.dry_run or (self.options.yes and req.default is not None):
            by = "dry-run" if self.options.dry_run else f"--yes on behalf of {getpass.getuser()}"
            tr.emit("prompt", step=step.name, prompt=req.text, answer=req.default or "", by=by)
            return req.default or ""
        if not self.options.is_interactive():
            raise InputError(f"step {step.name} waits for the operator ({req.text}) but stdin is not a terminal")
        try:
            answer: str | None = self.out.ask(f"  {req.text} ", timeout=req.timeout)
        except TimeoutError:
            answer = None
        except EOFError:
            tr.emit("prompt", step=step.name, prompt=req.text, answer="<EOF>", by=f"operator {getpass.getuser()}")
            raise Aborted(f"stdin closed while step {step.name} waited for the operator") from None
        shown = "<timeout>" if answer is None else answer
        tr.emit("prompt", step=step.name, prompt=req.text, answer=shown, timeout=req.timeout,
                by="nobody (timed out)" if answer is None else f"operator {getpass.getuser()}")
        if answer is not None and answer.strip().lower() in {a.lower() for a in req.abort_on}:
            raise Aborted(f"operator aborted at step {step.name} (answered {answer.strip()!r})")
        return None if answer is None else answer.strip()


def run_playbook(playbook: Playbook, target: Target, options: RunOptions, out: Out,
                 redactor: Redactor, plan: Plan | None = None) -> RunResult:
    """Run one playbook on one target. `plan`: from check_can_run (already checked)."""
    return Runner(playbook, target, options, out, redactor, plan).run()


__all__ = ["RunOptions", "Runner", "run_playbook", "check_can_run"]
