"""All terminal output. Rich on a terminal, plain lines otherwise; with --json every
human line goes to stderr so stdout carries exactly one JSON document."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import IO, Any

from rich.color import ColorSystem
from rich.console import Console
from rich.markup import escape
from rich.style import Style
from rich.table import Table

from runbooks.model import Event, Finding, Result, RunResult, StepResult
from runbooks.record.redact import Redactor
from runbooks.safetext import clean
from runbooks.summary import SIMULATED, block, kv

_STATUS_STYLE = {"ok": "green", "failed": "bold red", "timeout": "bold red", "skipped": "dim",
                 "aborted": "yellow", "alert": "bold red", "no_baseline": "dim", "warn": "yellow"}
_VERDICT_STYLE = {"ok": "bold green", "warn": "bold yellow", "p0": "bold white on red",
                  "failed": "bold red", "error": "bold red", "aborted": "bold yellow", "unknown": "bold magenta"}
_SEV_STYLE = {"P0": "bold red", "P1": "yellow", "P2": "cyan"}
SHORT_LINES = 8  # a successful shell step: its output's last lines
FULL_HEAD, FULL_TAIL = 150, 150  # a failed one (or -v): whole up to 300 lines, else head ... tail
FULL_WIDTH = 4000  # characters of one line


def ansi(text: str, style: str | None) -> str:
    """`text` in a Rich style as raw ANSI escapes (for the asciicast recording)."""
    if not style or not text:
        return text
    try:
        return Style.parse(style).render(text, color_system=ColorSystem.STANDARD)
    except Exception:  # noqa: BLE001 - an unknown style name must not lose the text
        return text


def alert_mark(f: Finding) -> str:
    """" [NEW key]" / " [ongoing since T, seen N, key]" for a finding with an alert lifecycle."""
    a = f.alert
    if not a:
        return ""
    acked = f", acked by {a['acked'].get('by')} until {a['acked'].get('until')}" if a.get("acked") else ""
    if a.get("state") == "new":
        return f" [NEW {a.get('key')}{acked}]"
    return f" [ongoing since {a.get('first_seen')}, seen {a.get('seen')}x, {a.get('key')}{acked}]"


class Out:
    """One console per process. Thread-safe: fan-out runs print from several threads."""

    def __init__(self, json_mode: bool = False, stream: IO[str] | None = None, prefix_targets: bool = False,
                 verbose: bool = False) -> None:
        self.json_mode = json_mode
        self.verbose = verbose  # -v: each command's key output on the console too
        self.stream = stream or (sys.stderr if json_mode else sys.stdout)
        self.rich = Console(file=self.stream, highlight=False, soft_wrap=True)
        self.fancy = self.rich.is_terminal
        self.prefix_targets = prefix_targets
        self._lock = threading.Lock()
        # Recorders (e.g. a run's transcript.cast) get every text written: (target, text, style),
        # or only one target's text (with many targets, each line would reach every recorder).
        self.listeners: list[tuple[Callable[[str | None, str, str | None], None], str | None]] = []
        self._closers: list[Callable[[], None]] = []  # recorders that also take the summary block
        self._summary_target: str | None = None  # whose summary is being printed (fan-out)

    def close_after_summary(self, fn: Callable[[], None]) -> None:
        """Call `fn` (close a recording) once the summaries are printed: `close_records()`."""
        with self._lock:
            self._closers.append(fn)

    def close_records(self) -> None:
        with self._lock:
            closers, self._closers = self._closers, []
        for fn in closers:
            try:
                fn()
            except Exception:  # noqa: BLE001 - a failing recorder never disturbs the run
                pass

    def add_listener(self, fn: Callable[[str | None, str, str | None], None], only: str | None = None) -> None:
        """`fn` gets every text written, or with `only` the text of that target alone."""
        with self._lock:
            self.listeners.append((fn, only))

    def remove_listener(self, fn: Callable[[str | None, str, str | None], None]) -> None:
        with self._lock:
            self.listeners = [(f, only) for f, only in self.listeners if f != fn]

    def _tell(self, target: str | None, text: str, style: str | None = None) -> None:
        """Call under self._lock. A failing recorder never disturbs the run."""
        for fn, only in self.listeners:
            if only is not None and only != target:
                continue
            try:
                fn(target, text, style)
            except Exception:  # noqa: BLE001
                pass

    # -- low level ---------------------------------------------------------------------
    def line(self, text: str, style: str | None = None, target: str | None = None) -> None:
        text = clean(text)  # nothing that reaches the terminal can drive it
        with self._lock:
            pre = f"[{target}] " if (self.prefix_targets and target) else ""
            self._tell(target or self._summary_target, text + "\n", style)
            if self.fancy:
                self.rich.print(escape(pre) + (f"[{style}]{escape(text)}[/]" if style else escape(text)))
            else:
                self.stream.write(pre + text + "\n")
                self.stream.flush()

    def error(self, text: str) -> None:
        text = clean(text)
        with self._lock:
            if self.fancy:
                Console(file=sys.stderr, highlight=False).print(f"[bold red]error:[/] {escape(text)}")
            else:
                sys.stderr.write(f"error: {text}\n")
                sys.stderr.flush()

    # -- run events ----------------------------------------------------------------------
    def run_started(self, playbook: str, target: str, address: str, host_key: str | None, dry_run: bool,
                    simulated: bool = False) -> None:
        extra = f" host key {host_key}" if host_key else ""
        self.line(f"▶ {playbook} on {target} ({address}){extra}{'  [DRY-RUN]' if dry_run else ''}", "bold", target)
        if simulated:
            self.line(f"  {SIMULATED}: nothing here touches a real eatfit24", "bold magenta", target)

    def step_started(self, target: str, name: str, index: int, total: int, description: str = "") -> None:
        desc = f": {description}" if description else ""
        self.line(f"[{index}/{total}] {name}{desc}", "bold cyan", target)

    def command(self, target: str, display: str, mutates: bool, dry_run: bool) -> None:
        tag = " (dry-run: not sent)" if dry_run and mutates else ""
        lines = display.strip().splitlines() or [""]
        if len(lines) > 3 and not mutates:  # long scripts: the transcript keeps them whole
            display = "\n".join(lines[:2]) + f"\n    … (+{len(lines) - 2} lines in the transcript)"
        self.line(f"  $ {display}{tag}", "magenta" if mutates else "dim", target)

    def output(self, target: str, stream: str, text: str) -> None:
        text = clean(text)
        with self._lock:
            self._tell(target, text)
            self.stream.write(text)
            self.stream.flush()

    def command_output(self, target: str, res: Result, show: bool = False, full: bool = False,
                       record: str = "") -> None:
        """A command's output (text from the host, already masked; the transcript keeps all of
        it). `full` (a failed command, or -v on a shell step): all of it, a very long one as
        its head and tail with the elided count and `record`, where it is whole; else (-v, or
        `show`: a playbook's shell step) its last SHORT_LINES lines."""
        if not (self.verbose or show or full) or res.dry_run:
            return
        if not full:
            lines = [ln for ln in (res.stdout + ("\n" + res.stderr if res.stderr else "")).splitlines() if ln.strip()]
            if len(lines) > SHORT_LINES:
                self.line(f"    … {len(lines) - SHORT_LINES} more line(s) in the transcript", "dim", target)
            for ln in lines[-SHORT_LINES:]:
                self.line(f"    | {ln[:400]}", "dim", target)
            return
        out, err = res.stdout.rstrip("\n").splitlines(), res.stderr.rstrip("\n").splitlines()
        lines = out + (["-- stderr --"] if out and err else []) + err
        where = f": all of it in {record}" if record else ": all of it in the transcript"
        if len(lines) > FULL_HEAD + FULL_TAIL:
            lines = [*lines[:FULL_HEAD], f"... {len(lines) - FULL_HEAD - FULL_TAIL} lines elided{where} ...",
                     *lines[-FULL_TAIL:]]
        for ln in lines:
            self.line(f"    | {ln[:FULL_WIDTH]}" + ("…" if len(ln) > FULL_WIDTH else ""), None, target)

    def command_done(self, target: str, exit_code: int, duration: float, timed_out: bool) -> None:
        if timed_out:
            self.line(f"    TIMEOUT after {duration:.1f}s (killed on the host)", "bold red", target)
        elif exit_code != 0:
            self.line(f"    exit {exit_code} ({duration:.2f}s)", "yellow", target)

    def note(self, target: str, text: str, level: str = "info") -> None:
        style = {"info": None, "warn": "yellow", "error": "bold red"}.get(level)
        self.line(f"  {text}", style, target)

    def step_finished(self, target: str, res: StepResult) -> None:
        style = _STATUS_STYLE.get(res.status, None)
        msg = f": {res.message}" if res.message else ""
        self.line(f"  → {res.name} {res.status.upper()} ({res.duration_s:.2f}s){msg}", style, target)

    # -- operator ------------------------------------------------------------------------
    def ask(self, prompt: str, timeout: float | None = None) -> str:
        """Read one answer from the operator's terminal (stdin is a TTY here).

        With `timeout`, raise TimeoutError when no full line arrived in time."""
        prompt = clean(prompt)
        with self._lock:
            self._tell(None, prompt, "bold yellow")
            if self.fancy:
                self.rich.print(f"[bold yellow]{escape(prompt)}[/]", end="")
            else:
                self.stream.write(prompt)
                self.stream.flush()
        if timeout is not None:
            import select

            ready, _, _ = select.select([sys.stdin], [], [], max(0.0, timeout))
            if not ready:
                self.line("")
                raise TimeoutError(f"no answer within {timeout:g} s")
        line = sys.stdin.readline()
        if line == "":
            raise EOFError
        return line.rstrip("\r\n")

    # -- summaries -----------------------------------------------------------------------
    def summary(self, result: RunResult, resume_hint: str | None = None) -> None:
        self._summary_target = result.target  # the run's recording takes its summary block too
        try:
            self._summary(result, resume_hint)
        finally:
            self._summary_target = None

    def _print_table(self, table: Table) -> None:
        """A Rich table on the terminal, and its text to the recorders."""
        with self._lock:
            with self.rich.capture() as cap:
                self.rich.print(table)
            text = cap.get()
            self.stream.write(text)
            self.stream.flush()
            self._tell(self._summary_target, text)

    def _summary(self, result: RunResult, resume_hint: str | None = None) -> None:
        """The details first (they may scroll away), then the summary block: the last screen."""
        shown = [f for f in result.findings if f.status != "ok"] if not self.fancy else result.findings
        if shown:
            self.findings_table(result.findings)
        if self.fancy and result.steps:
            self.steps_table(result.steps)
        width = self.rich.width if self.fancy else 80
        for ln in block(result, resume_hint, width):
            style = _VERDICT_STYLE.get(result.verdict, "bold") if ln.text.startswith("VERDICT ") else ln.style
            self.line(ln.text, style)

    def findings_table(self, findings: list[Finding]) -> None:
        order = {"alert": 0, "skipped": 1, "no_baseline": 2, "ok": 3}
        sev = {"P0": 0, "P1": 1, "P2": 2}
        rows = sorted(findings, key=lambda f: (order.get(f.status, 9), sev.get(f.severity, 9), f.id))
        if self.fancy:
            t = Table(title="Checks", show_lines=False)
            for col in ("Sev", "Check", "Status", "Count", "Threshold", "Detail / next action"):
                t.add_column(col, no_wrap=col == "Check")  # a finding id is never cut
            for f in rows:
                detail = f.reason if f.status in ("skipped", "no_baseline") else (f.action if f.status == "alert" else f.title)
                t.add_row(f"[{_SEV_STYLE.get(f.severity, '')}]{f.severity}[/]", escape(clean(f.id)),
                          f"[{_STATUS_STYLE.get(f.status, '')}]{f.status}[/]" + escape(alert_mark(f)), str(f.count),
                          escape(clean(f.threshold)), escape(clean(detail)))
            self._print_table(t)
        else:
            for f in rows:
                if f.status == "ok":
                    continue
                detail = f.reason if f.status in ("skipped", "no_baseline") else f"{f.title}; {f.action}".strip("; ")
                self.line(f"  {f.severity} {f.status.upper():8} {f.id} count={f.count}{alert_mark(f)} {detail}")
                if f.status == "alert":
                    for ev in f.evidence[:5]:
                        self.line(f"      evidence: {kv(ev) if isinstance(ev, dict) else ev}")

    def steps_table(self, steps: list[StepResult]) -> None:
        t = Table(title="Steps")
        for col in ("Step", "Status", "Time", "Message"):
            t.add_column(col)
        not_run = [s.name for s in steps if s.status == "skipped" and s.message.startswith("when:")]
        for s in steps:
            if s.name in not_run:
                continue
            t.add_row(escape(clean(s.name)), f"[{_STATUS_STYLE.get(s.status, '')}]{s.status}[/]", f"{s.duration_s:.2f}s",
                      escape(clean(s.message)))
        if not_run:  # one row, not one "when: ... is false" per step
            t.add_row(f"({len(not_run)} not run)", "[dim]skipped[/]", "", escape(clean(", ".join(not_run))))
        self._print_table(t)

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        if self.fancy:
            t = Table(title=escape(clean(title)))
            for c in columns:
                t.add_column(escape(clean(c)))
            for r in rows:
                t.add_row(*[escape(clean(str(x))) for x in r])
            self._print_table(t)
        else:
            self.line(title)
            self.line("  " + " | ".join(columns))
            for r in rows:
                self.line("  " + " | ".join(str(x) for x in r))


class RunView:
    """One run's events on the console (a consumer of the run's event stream, see
    engine/events.py). Several runs may share one `Out` (fan-out): each view prints its
    own target's events. Text from the host or the playbook is masked here."""

    def __init__(self, out: Out, target: str, redactor: Redactor, record: str = "") -> None:
        self.out = out
        self.target = target
        self.redactor = redactor
        self.record = record  # the run's events.jsonl: where a long output is whole
        self._started: dict[str, Any] = {}  # the run_started event: what run_started() prints
        self._short: dict[str, tuple[Result, str]] = {}  # step -> its last output shown short, where it is whole

    SHOWN = frozenset({"run_started", "connected", "step_started", "step_finished", "command", "output",
                       "command_finished", "http_finished", "confirm", "note", "line", "error"})

    def on_event(self, event: Event) -> None:
        if event.show and event.type in self.SHOWN:
            getattr(self, "_" + event.type)(event.data, event.result)

    def _run_started(self, data: dict[str, Any], result: Any) -> None:
        self._started = data

    def _connected(self, data: dict[str, Any], result: Any) -> None:
        if data.get("reconnect"):
            self.out.note(self.target, f"reconnected to {data['address']} to run the always-steps", "warn")
            return
        s = self._started
        self.out.run_started(s.get("playbook", ""), self.target, data["address"], data.get("host_key"),
                             bool(s.get("options", {}).get("dry_run")), simulated=bool(s.get("simulated")))

    def _step_started(self, data: dict[str, Any], result: Any) -> None:
        if "index" in data:  # a step its `when:` skips is recorded, not announced
            self.out.step_started(self.target, data["step"], data["index"], data["total"], data.get("description", ""))

    def _step_finished(self, data: dict[str, Any], result: Any) -> None:
        short = self._short.pop(data.get("step", ""), None)
        if isinstance(result, StepResult) and result.status in ("failed", "timeout") and short is not None:
            # the step failed on its output (not JSON, `until:` still false): all of it
            self.out.line(f"    {data.get('step')}: its last command's whole output:", "dim", self.target)
            self.out.command_output(self.target, short[0], full=True, record=short[1])
        if isinstance(result, StepResult):  # an aborted step is told by the interruption
            self.out.step_finished(self.target, result)

    def _command(self, data: dict[str, Any], result: Any) -> None:
        self.out.command(self.target, data["command"], data["mutates"], data["dry_run"])

    def _output(self, data: dict[str, Any], result: Any) -> None:
        self.out.output(self.target, data["stream"], data["text"])

    def _command_finished(self, data: dict[str, Any], result: Any) -> None:
        if isinstance(result, Result):
            self.out.command_done(self.target, result.exit_code, result.duration_s, result.timed_out)
            shell = bool(data.get("show_output"))  # a playbook's shell step
            if self.out.verbose or shell:  # text from the host: masked
                masked = replace(result, stdout=self.redactor.text(result.stdout), stderr=self.redactor.text(result.stderr))
                full = bool(data.get("failed")) or (shell and self.out.verbose)
                where = f"{self.record} (command {data['command_seq']})" if self.record and "command_seq" in data else ""
                self.out.command_output(self.target, masked, show=shell, full=full, record=where)
                if shell and not full:
                    self._short[data.get("step", "")] = (masked, where)
                else:
                    self._short.pop(data.get("step", ""), None)

    def _http_finished(self, data: dict[str, Any], result: Any) -> None:
        self.out.note(self.target, f"HTTP {data['method']} {self.redactor.text(data['url'])} -> "
                                   f"{data['status'] or data['error']}")

    def _confirm(self, data: dict[str, Any], result: Any) -> None:
        if str(data.get("by", "")).startswith("--yes"):
            self.out.note(self.target, self.redactor.text(f"confirmed by --yes: {data['prompt']}"), "warn")

    def _note(self, data: dict[str, Any], result: Any) -> None:
        self.out.note(self.target, self.redactor.text(data["text"]), data.get("level", "info"))

    def _line(self, data: dict[str, Any], result: Any) -> None:
        self.out.line(self.redactor.text(data["text"]), data.get("style"), self.target)

    def _error(self, data: dict[str, Any], result: Any) -> None:
        self.out.error(self.redactor.text(data["message"]))
