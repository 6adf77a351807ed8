"""One handler per request type a step yields, chosen by the request's type.

    Command      run it on the target (or render it only, under --dry-run if it mutates)
    Batch        read-only commands, concurrently on the run's one connection (and any
                 HttpRequest in it, at the same time, from the operator's machine)
    HttpRequest  from the operator's machine, with the target's credentials
    Confirm      the operator policy (engine/operator.py)
    Prompt       the operator policy
    Note         the record, the console, and the verdict line when it asks to

Single commands and batches share one recorder (`_started`, `_finished`): each command
is recorded as it starts and as it finishes, whichever way it ran.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runbooks.commands import Command
from runbooks.config import ApiConfig
from runbooks.errors import RunbooksError
from runbooks.http import origin
from runbooks.model import Batch, Confirm, HttpRequest, HttpResponse, Note, Prompt, Result

if TYPE_CHECKING:
    from runbooks.config import Target
    from runbooks.connectors import Connector
    from runbooks.engine.events import EventStream
    from runbooks.engine.operator import Operator
    from runbooks.engine.options import RunOptions
    from runbooks.http import HttpTransport
    from runbooks.record.redact import Redactor
    from runbooks.steps.base import Step

DEFAULT_TIMEOUT = 300.0
MAX_RECORDED_OUTPUT = 2_000_000  # chars per stream kept in events.jsonl


@dataclass
class Session:
    """What the handlers of one run share: the target, its one connection, the stream."""

    target: Target
    options: RunOptions
    redactor: Redactor
    events: EventStream
    operator: Operator
    http: HttpTransport
    conn: Connector | None = None
    remote_commands: int = 0  # recorded in run_finished (the bench counts them)
    mutated: bool = False  # a mutating command was sent to the host
    verdict_notes: dict[str, str] = field(default_factory=dict)  # step -> what the verdict must say


@dataclass
class StepScope:
    """One step instance being driven."""

    step: Step
    armed: bool = False  # a Confirm was granted for this step: its mutating commands need no other
    question: str = ""  # the step's `confirm:` text, rendered for this instance


@dataclass(frozen=True)
class _Prepared:
    command: Command
    display: str
    timeout: float
    seq: int


class Handlers:
    def __init__(self, session: Session) -> None:
        self.s = session
        self._table: dict[type, Callable[[StepScope, Any], Any]] = {
            Command: self.command, Batch: self.batch, HttpRequest: self.http,
            Confirm: self.confirm, Prompt: self.prompt, Note: self.note,
        }

    def handle(self, scope: StepScope, request: Any) -> Any:
        """The answer to `request`, sent back into the step's generator."""
        handler = self._table.get(type(request))
        if handler is None:
            raise TypeError(f"step {scope.step.name} yielded {type(request).__name__}, not a request")
        return handler(scope, request)

    # -- commands: one recorder ----------------------------------------------------------
    def _started(self, scope: StepScope, c: Command, dry: bool, batch: int | None = None) -> _Prepared:
        display = self.s.redactor.text(c.display(self.s.redactor.secrets))
        timeout = c.timeout or scope.step.timeout or DEFAULT_TIMEOUT
        extra: dict[str, Any] = {"batch": batch} if batch is not None else {}
        ev = self.s.events("command", step=scope.step.name, command=display, mutates=c.mutates, timeout=timeout,
                           dry_run=dry, stdin_bytes=len(c.stdin or ""), **extra)
        return _Prepared(c, display, timeout, ev["seq"] if ev else 0)

    def _finished(self, scope: StepScope, p: _Prepared, res: Result) -> None:
        shown: dict[str, Any] = {}
        if p.command.show:  # a failed command's output is shown whole on the console
            ok = p.command.ok_exit
            shown = {"show_output": True,
                     "failed": res.timed_out or (ok is not None and res.exit_code not in ok and not res.dry_run)}
        self.s.events("command_finished", result=res, **shown, step=scope.step.name, command=p.display,
                      command_seq=p.seq,
                      exit_code=res.exit_code, duration_s=round(res.duration_s, 3), timed_out=res.timed_out,
                      timeout=p.timeout, dry_run=res.dry_run, mutates=p.command.mutates,
                      stdout=res.stdout[-MAX_RECORDED_OUTPUT:], stderr=res.stderr[-MAX_RECORDED_OUTPUT:])

    def command(self, scope: StepScope, c: Command) -> Result:
        s, step = self.s, scope.step
        assert s.conn is not None
        dry = s.options.dry_run and c.mutates
        if c.mutates and step.confirm and not scope.armed and not dry:
            display = s.redactor.text(c.display(s.redactor.secrets))
            s.operator.confirm(step, scope.question or f"Run this mutating command on {s.target.name}?", [display], None)
        if c.mutates and not step.mutates and not dry:
            raise RunbooksError(f"step {step.name} yielded a mutating command but is not marked `mutates: true`")
        p = self._started(scope, c, dry)
        if dry:
            res = Result(command=p.display, exit_code=0, stdout="", stderr="", duration_s=0.0, dry_run=True)
        else:
            on_output = None
            maskers = {"stdout": s.redactor.stream(), "stderr": s.redactor.stream()}
            if c.stream:
                def on_output(stream: str, text: str) -> None:
                    shown = maskers[stream].feed(text)  # whole lines: a split secret is still masked
                    if shown:
                        s.events("output", record=False, stream=stream, text=shown)
            s.remote_commands += 1
            s.mutated = s.mutated or c.mutates
            try:
                res = s.conn.run(c.render(), timeout=p.timeout, stdin=c.stdin, on_output=on_output, display=p.display)
            finally:
                if c.stream:
                    for name, masker in maskers.items():
                        rest = masker.flush()
                        if rest:
                            s.events("output", record=False, stream=name, text=rest + "\n")
        self._finished(scope, p, res)
        return res

    def batch(self, scope: StepScope, batch: Batch) -> tuple[Any, ...]:
        """Run read-only commands concurrently on the one connection (a channel each), and
        any HttpRequest in the batch from the operator's machine at the same time: the step
        gets a Result or an HttpResponse for each item, in the order given.

        Ctrl-C (or a fan-out cancel) sets one event that every command's loop watches:
        each kills its process group on the host before the interrupt goes on."""
        s = self.s
        items = list(batch.commands)
        cmds: list[Command] = [c for c in items if not isinstance(c, HttpRequest)]
        if any(c.mutates for c in cmds):
            raise RunbooksError(f"step {scope.step.name}: a Batch may hold only read-only commands")
        if len(items) <= 1:
            return tuple(self.handle(scope, c) for c in items)
        conn = s.conn
        assert conn is not None or not cmds
        prepared = {i: self._started(scope, c, False, batch=len(cmds)) for i, c in enumerate(items)
                    if not isinstance(c, HttpRequest)}
        stop = threading.Event()
        s.remote_commands += len(prepared)
        results: list[Any] = [None] * len(items)
        cancel = s.options.cancel
        with ThreadPoolExecutor(max_workers=len(items)) as pool:
            futures: dict[Any, int] = {}
            for i, item in enumerate(items):
                if i in prepared:
                    p = prepared[i]
                    assert conn is not None
                    futures[pool.submit(conn.run, p.command.render(), timeout=p.timeout, stdin=p.command.stdin,
                                        display=p.display, cancel=stop)] = i
                    continue
                headers, answered = self._http_begin(scope, item)
                if answered is not None:
                    results[i] = self._http_end(scope, item, answered)
                else:
                    futures[pool.submit(self._http_send, item, headers)] = i
            pending = set(futures)
            try:
                while pending:
                    if cancel is not None and cancel.is_set():
                        raise KeyboardInterrupt
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    for fut in done:  # each result names its own item: they finish in any order
                        i = futures[fut]
                        if i in prepared:
                            res = results[i] = fut.result()
                            self._finished(scope, prepared[i], res)
                        else:
                            results[i] = self._http_end(scope, items[i], fut.result())
            except BaseException:
                stop.set()  # every command still running is killed on the host
                for fut in pending:
                    try:
                        fut.result(timeout=30)
                    except BaseException:  # noqa: BLE001 - they end by raising KeyboardInterrupt
                        pass
                raise
        return tuple(results)

    # -- the rest ------------------------------------------------------------------------
    def http(self, scope: StepScope, req: HttpRequest) -> HttpResponse:
        headers, resp = self._http_begin(scope, req)
        return self._http_end(scope, req, resp if resp is not None else self._http_send(req, headers))

    def _http_begin(self, scope: StepScope, req: HttpRequest) -> tuple[dict[str, str], HttpResponse | None]:
        """Headers to send, or the answer already (credentials not set)."""
        s = self.s
        # The target's configured headers (credentials) go only to the target's own API
        # origin, never to another host a playbook names; plus the request's own headers.
        # ${VAR} references in either are resolved here, at the last moment, and every
        # value becomes a secret.
        api = s.target.api
        own = api.base_url is not None and origin(req.url) == origin(api.base_url)
        merged = ApiConfig(headers={**(api.headers if own else {}), **req.headers})
        headers, missing = merged.resolved_headers()
        s.redactor.add(headers.values())
        if missing:
            return headers, HttpResponse(0, {}, b"", 0.0, error=f"credentials not set: ${{{'}, ${'.join(missing)}}}")
        s.events("http", step=scope.step.name, method=req.method, url=req.url, header_names=sorted(headers))
        return headers, None

    def _http_send(self, req: HttpRequest, headers: dict[str, str]) -> HttpResponse:
        s = self.s
        return s.http.send(req, headers, s.target.api.verify_tls, follow_redirects=s.target.api.follow_redirects)

    def _http_end(self, scope: StepScope, req: HttpRequest, resp: HttpResponse) -> HttpResponse:
        self.s.events("http_finished", step=scope.step.name, method=req.method, url=req.url, status=resp.status,
                      duration_s=round(resp.duration_s, 3), error=resp.error,
                      body=resp.body[:4000].decode("utf-8", "replace"))
        return resp

    def confirm(self, scope: StepScope, req: Confirm) -> bool:
        scope.armed = self.s.operator.confirm(scope.step, req.prompt, list(req.commands), req.typed)
        return scope.armed

    def prompt(self, scope: StepScope, req: Prompt) -> str | None:
        return self.s.operator.prompt(scope.step, req)

    def note(self, scope: StepScope, req: Note) -> None:
        step = scope.step
        self.s.events("note", step=step.name, text=req.text, level=req.level,
                      **({"verdict": True} if req.verdict else {}))
        if req.verdict:
            self.s.verdict_notes[step.name] = self.s.redactor.text(req.text)
