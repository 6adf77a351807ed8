"""Task orchestration shared by every task: config -> targets -> checks -> run(s) -> output.

Tasks (runbooks/tasks/*) parse flags and call `run_task`; nothing else. Fan-out: a
read-only playbook runs on every named target in parallel (one connection and one
transcript each; the combined verdict is the worst); a mutating playbook refuses more
than one target.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbooks.config import Config, Target, load_config
from runbooks.engine.options import RunOptions
from runbooks.engine.plan import Plan, check_can_run
from runbooks.engine.run import run_playbook
from runbooks.engine.verdict import RANK as VERDICT_RANK
from runbooks.engine.verdict import exit_for, refused
from runbooks.errors import CANNOT_RUN, InputError, RunbooksError, Terminated
from runbooks.lang.model import Playbook
from runbooks.lang.parse import load_playbook
from runbooks.lang.plan import Selection
from runbooks.lang.serial import SerialRun, run_serial
from runbooks.model import RunResult
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.record.transcript import default_transcript_dir, ensure_writable, iso, utcnow
from runbooks.summary import SIMULATED
from runbooks.transcripts.seal import seal_run


@dataclass
class TaskSpec:
    task: str  # "monitor.p0"
    playbook: str | Path  # name in playbooks/ or a path
    target: str | None = None
    json: bool = False
    transcript_dir: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    yes: bool = False
    start_at: str | None = None
    single_target: bool = False  # mutating playbooks: refuse fan-out
    resume: str | None = None  # "inv rollback --commit X --start-at {step}"
    resume_unclean: str | None = None  # the same when the always-steps could not finish (lock left)
    validate: Callable[[Target], None] | None = None  # extra per-target refusal (role checks)
    after: Callable[[RunResult, Target, Out], None] | None = None  # history, metrics-out, ...
    quiet_summary: bool = False
    secrets: list[str] = field(default_factory=list)  # more values to mask (--var api_token=...)
    selection: Selection = field(default_factory=Selection)  # --tags / --skip-tags
    verbose: bool = False  # -v: each command's key output on the console


# A --var whose NAME looks like a credential has its VALUE masked everywhere.
SECRET_VAR_NAME = re.compile(r"(?i)(token|secret|passw(or)?d|passwd|pwd|credential|api_?key|private_?key|"
                             r"(^|_)key($|_)|init_?data|auth|cookie|session_?id)")


def secret_vars(variables: dict[str, Any]) -> list[str]:
    return [str(v) for k, v in variables.items() if SECRET_VAR_NAME.search(k) and isinstance(v, (str, int))]


def build_redactor(config: Config, targets: list[Target], secrets: list[str] | None = None) -> Redactor:
    r = Redactor(config.secrets())
    for t in targets:
        r.add(t.secrets())
    for name in ("RUNBOOKS_SANDBOX_INIT_DATA",):
        if os.environ.get(name):
            r.add([os.environ[name]])
    r.add(secrets or [])
    return r


def resolve_targets(spec_target: str | None, single: bool, task: str) -> tuple[Config, list[Target]]:
    config = load_config()
    names = config.target_names(spec_target)
    if len(names) > 1 and single:
        raise InputError(f"{task} runs on one target at a time; got {', '.join(names)}")
    return config, [config.target(n) for n in names]


def resolve(spec: TaskSpec) -> tuple[Config, list[Target], Playbook, Path]:
    playbook = load_playbook(spec.playbook)
    spec.selection.check(playbook)
    # a mutating playbook runs on one target, or with `serial: 1` on several one at a time
    config, targets = resolve_targets(spec.target, spec.single_target or (playbook.mutating and not playbook.serial),
                                      spec.task)
    tdir = Path(spec.transcript_dir) if spec.transcript_dir else default_transcript_dir()
    return config, targets, playbook, tdir


def run_task(spec: TaskSpec, argv: list[str] | None = None) -> int:
    out = Out(json_mode=spec.json, verbose=spec.verbose)
    argv = argv if argv is not None else sys.argv
    try:
        config, targets, playbook, tdir = resolve(spec)
        redactor = build_redactor(config, targets, spec.secrets)
        cancel = threading.Event()
        opts = []
        plans: list[Plan] = []
        for t in targets:
            if spec.validate is not None:
                spec.validate(t)
            o = RunOptions(task=spec.task, vars=dict(spec.vars), dry_run=spec.dry_run, yes=spec.yes, selection=spec.selection,
                           start_at=spec.start_at, transcript_dir=tdir, argv=[redactor.text(a) for a in argv],
                           resume=spec.resume, cancel=cancel, cast_takes_summary=True,
                           resume_unclean=spec.resume_unclean, signing_key=config.signing_key)
            plans.append(check_can_run(playbook, t, o))  # once per run: the run takes this plan
            opts.append(o)
        ensure_writable(tdir)  # last of the refusals: a run that cannot be recorded does not start
    except RunbooksError as exc:
        return _fail(out, spec, exc.message, exc.exit_code)

    serial: SerialRun | None = None
    restore = _sigterm_as_interrupt()
    lost: list[str] = []  # targets whose requested outputs could not be written
    after_lock = threading.Lock()

    def run_one(t: Target, o: RunOptions, plan: Plan) -> RunResult:
        # each target's after-hook (alert history, metrics) right after its run: with many
        # targets it overlaps the others' remote commands instead of following them all
        r = run_playbook(playbook, t, o, out, redactor, plan)
        with after_lock:
            if not _after(spec, out, r, t):
                lost.append(t.name)
        return r

    try:
        if len(targets) == 1:
            results = [run_one(targets[0], opts[0], plans[0])]
        elif playbook.serial:
            out.prefix_targets = True
            serial = run_serial(playbook, targets, opts, plans, out, redactor)
            results = serial.results
            targets = targets[:len(results)]  # the ones a failure (or a warning not gone on from) stopped: not run
            for r, t in zip(results, targets, strict=True):  # one at a time already: the hooks after
                if not _after(spec, out, r, t):
                    lost.append(t.name)
        else:
            out.prefix_targets = True
            with ThreadPoolExecutor(max_workers=min(64, len(targets))) as pool:
                futures = [pool.submit(run_one, t, o, p) for t, o, p in zip(targets, opts, plans, strict=True)]
                try:
                    results = [f.result() for f in futures]
                except KeyboardInterrupt:
                    cancel.set()
                    results = [f.result() for f in futures]
    except RunbooksError as exc:  # refused inside a run before it started (its record could not be created)
        return _fail(out, spec, exc.message, exc.exit_code)
    finally:
        restore()
    try:
        return _report(spec, out, redactor, results, bool(lost), serial)
    finally:
        out.close_records()  # each run's transcript.cast ends with its summary block
        # Sealed again now the record is complete: the after-hook (alert lifecycle) appends
        # events and re-renders transcript.md, and the cast ends with the summary.
        for r, t in zip(results, targets, strict=True):
            if r.transcript:
                seal_run(Path(r.transcript).parent, config.signing_key, _warner(out, t.name))


def _after(spec: TaskSpec, out: Out, r: RunResult, t: Target) -> bool:
    """The task's after-hook for one run; False when an output it was asked for was lost."""
    if spec.after is None:
        return True
    try:
        spec.after(r, t, out)
    except RunbooksError as exc:
        out.error(exc.message)
        return False
    except OSError as exc:  # --metrics-out unwritable, history on a full disk, ...
        out.error(f"{t.name}: could not write the run's outputs: {exc.strerror or exc}"
                  + (f": {exc.filename}" if getattr(exc, "filename", None) else ""))
        return False
    return True


def _report(spec: TaskSpec, out: Out, redactor: Redactor, results: list[RunResult], lost_outputs: bool,
            serial: SerialRun | None = None) -> int:
    worst = max(results, key=lambda r: VERDICT_RANK[r.verdict])
    verdict, code = worst.verdict, worst.exit_code
    stopped = serial.stopped if serial is not None else ""
    if serial is not None and serial.verdict and VERDICT_RANK[serial.verdict] > VERDICT_RANK[verdict]:
        verdict, code = serial.verdict, exit_for(serial.verdict)  # the rest not run: not a mere warning
    if spec.json:
        doc: dict[str, Any]
        if len(results) == 1 and not stopped:
            doc = results[0].to_dict()
        else:
            doc = {"playbook": spec.task, "target": ",".join(r.target for r in results),
                   "started_at": min(r.started_at for r in results), "finished_at": max(r.finished_at for r in results),
                   "verdict": verdict, "exit_code": code,
                   "simulated": any(r.simulated for r in results), "runs": [r.to_dict() for r in results]}
            if stopped:
                doc.update(message=stopped, not_run=serial.not_run if serial else [])
        sys.stdout.write(json.dumps(redactor.obj(doc), ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
    if not spec.quiet_summary or spec.json:
        for r in results:
            out.summary(r, r.resume)
        if len(results) > 1 or stopped:
            sim = [r.target for r in results if r.simulated]
            out.line(f"COMBINED VERDICT {verdict.upper()} (exit {code}) over {len(results)} "
                     + ("targets" if len(results) > 1 else "target") + (f": {stopped}" if stopped else "")
                     + (f"  ·  {SIMULATED}: {', '.join(sim)}" if sim else ""))
    # A requested output (metrics file) that could not be written: a clean run is not a
    # clean exit (3), but a P0, a failure or an abort keeps its own code.
    if lost_outputs and code < 2:
        return CANNOT_RUN
    return code


def _warner(out: Out, target: str) -> Callable[[str], None]:
    return lambda message: out.note(target, message, "warn")


def _fail(out: Out, spec: TaskSpec, message: str, code: int) -> int:
    out.error(message)
    if spec.json:
        now = iso(utcnow())
        doc: dict[str, Any] = {"playbook": spec.task, "target": spec.target or "", "started_at": now, "finished_at": now,
                              "verdict": refused(code), "exit_code": code, "simulated": False,
                              "message": message,
                              "findings": [], "metrics": {}, "steps": [], "transcript": None}
        sys.stdout.write(json.dumps(doc) + "\n")
    return code


def _sigterm_as_interrupt() -> Callable[[], None]:
    """Treat SIGTERM like Ctrl-C so a killed run still records and releases its lock; it is
    recorded as SIGTERM (errors.Terminated is a KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(signal.Signals(signum).name)

    prev = signal.signal(signal.SIGTERM, handler)

    def restore() -> None:
        signal.signal(signal.SIGTERM, prev)

    return restore


def exit_with(code: int) -> None:
    """Leave an Invoke task with `code` (Invoke maps Exit to the process exit code)."""
    if code:
        from invoke.exceptions import Exit

        raise Exit(code=code)


__all__ = ["TaskSpec", "run_task", "exit_with", "CANNOT_RUN"]
