"""`inv monitor.*`: the checklist's production checks (one task per section), watch."""

from __future__ import annotations

from invoke import Collection

from runbooks.tasks.core import COMMON_HELP, finish
from runbooks.tasks.flags import task

MONITOR_HELP = {
    **COMMON_HELP,
    "since": "log/DB window, a docker --since value: 24h (default), 90m, 1h30m, or an RFC 3339 time",
    "tail": "also cap each log scan at the last N lines (like the checklist's --tail 1000)",
    "metrics_out": "also write the run's metrics in Prometheus text format to FILE (node_exporter textfile dir)",
    "notify": "tell the team about new, escalated and resolved problems: telegram, webhook or telegram,webhook "
              "(TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID / RUNBOOKS_WEBHOOK_URL from the environment)",
}


def _run(name: str, target, since, tail, json, transcript_dir, metrics_out, notify=None, verbose=False) -> int:
    from runbooks.connectors import early
    from runbooks.errors import RunbooksError
    from runbooks.packs.eatfit24.monitor.window import parse_since, parse_tail

    task_name = f"monitor.{name}"
    try:
        # the flags run_vars checks, checked here with its own functions: the registry of
        # checks it reads (and Jinja2 with it) loads after the handshake has started
        parse_since(since or "24h")
        parse_tail(tail)
        channels = None
        if notify:
            from runbooks.alerts import notify as notifier

            channels = notifier.parse(notify)
        if metrics_out:
            from runbooks.record.transcript import ensure_writable_file

            ensure_writable_file(metrics_out, "--metrics-out")  # before anything runs, not after the verdict
    except RunbooksError as exc:
        from runbooks.app import TaskSpec, _fail
        from runbooks.record.console import Out

        return _fail(Out(json_mode=json), TaskSpec(task=task_name, playbook="monitor", target=target, json=json),
                     exc.message, exc.exit_code)
    from runbooks.packs.eatfit24.target import require

    early.start_for(target, transcript_dir, require)  # the handshake runs while the rest loads
    early.when_busy(_after_imports)  # what the verdict needs, loaded while the host works

    from runbooks.app import TaskSpec, run_task
    from runbooks.packs.eatfit24.monitor import run_vars

    variables = run_vars(task_name, since=since or "24h", tail=tail)  # the flags are valid: cannot refuse now

    runs: list = []  # every target's run: one exposition file for all of them (fan-out)

    def after(result, tgt, out) -> None:
        _alerts(result, tgt, out, transcript_dir, channels)
        if metrics_out:
            from runbooks.packs.eatfit24.monitor.prometheus import run_metrics, write_runs

            runs.append(run_metrics(result, tgt.name))
            write_runs(metrics_out, runs)
            if len(runs) == 1:
                out.line(f"Metrics: {metrics_out}", "dim")

    return run_task(TaskSpec(task=task_name, playbook="monitor", target=target, json=json,
                             transcript_dir=transcript_dir, vars=variables, after=after, verbose=verbose))


def _after_imports() -> None:
    import runbooks.alerts.hook  # noqa: F401
    import runbooks.transcripts.seal  # noqa: F401


def _alerts(result, tgt, out, transcript_dir, channels) -> None:
    """Alert lifecycle + notifications (runbooks/alerts): never changes the verdict."""
    from runbooks.alerts.hook import process
    from runbooks.packs.eatfit24.monitor.history import history_path

    try:
        process(result, tgt, out, history_path(transcript_dir), channels)
    except Exception as exc:  # noqa: BLE001 - the verdict stands whatever happens here
        out.line(f"alert lifecycle failed: {exc!r}", "yellow", tgt.name)


def _section_task(name: str, doc: str):
    def body(c, target=None, since="24h", tail=None, json=False, transcript_dir=None, metrics_out=None, notify=None,
             verbose=False):
        finish(_run(name, target, since, tail, json, transcript_dir, metrics_out, notify, verbose))

    body.__name__ = name.replace("-", "_")
    body.__doc__ = doc
    return task(help=MONITOR_HELP)(body)


@task(help={**MONITOR_HELP,
            "every": "repeat the P0 checks every DURATION (e.g. 6h), each run with its own transcript",
            "for_": "with --every: keep repeating for DURATION (e.g. 24h); without it, until Ctrl-C"})
def p0(c, target=None, since="24h", tail=None, json=False, transcript_dir=None, metrics_out=None, every=None, for_=None,
       notify=None, verbose=False):
    """Every P0 check of the checklist: a verdict in seconds (exit 2 on any P0 finding)."""
    if every is None and for_ is None:
        finish(_run("p0", target, since, tail, json, transcript_dir, metrics_out, notify, verbose))
        return
    from runbooks.errors import RunbooksError
    from runbooks.packs.eatfit24.monitor.repeat import repeat
    from runbooks.packs.eatfit24.monitor.schedule import run_times
    from runbooks.record.console import Out

    out = Out(json_mode=json)
    try:
        from datetime import datetime, timezone

        from runbooks.alerts.notify import parse

        run_times(datetime.now(timezone.utc), every, for_)  # validate before the first run
        parse(notify)
    except RunbooksError as exc:
        from runbooks.app import TaskSpec, _fail

        finish(_fail(out, TaskSpec(task="monitor.p0", playbook="monitor", target=target, json=json), exc.message,
                     exc.exit_code))
        return

    def once() -> tuple[int, str, str]:
        code = _run("p0", target, since, tail, json, transcript_dir, metrics_out, notify, verbose)
        from runbooks.engine.verdict import verdict_for_exit

        return code, verdict_for_exit(code), ""

    from runbooks.app import _sigterm_as_interrupt

    restore = _sigterm_as_interrupt()  # SIGTERM between runs stops the loop like Ctrl-C
    try:
        code = repeat(once, every, for_, out)
    finally:
        restore()
    finish(code)


all_ = _section_task("all", "Every check of the checklist (sections 1-6, cheatsheet, anomaly rules).")
race_guard = _section_task("race-guard", "Section 1: race guard triggers by state; spike vs baseline.")
finalization = _section_task("finalization", "Section 2: finalized COMPLETE vs FAILED; FAILED ratio.")
stuck = _section_task("stuck", "Section 3: photos PENDING/PROCESSING > 60 s; meals stuck in PROCESSING.")
api = _section_task("api", "Sections 4-5: results on CANCELLED photos; non-SUCCESS photos / FAILED meals in the API.")
cancel_events = _section_task("cancel-events", "Section 6: cancel endpoint logs and the CancelEvent table.")
errors = _section_task("errors", "Exceptions and tracebacks near cancel and finalization, with context.")


@task(help={"target": COMMON_HELP["target"], "transcript_dir": COMMON_HELP["transcript_dir"],
            "tail": "lines of history to show first (default 50)",
            "duration": "stop after SECONDS (default: until Ctrl-C)"})
def watch(c, target=None, tail=None, duration=None, transcript_dir=None):
    """Live follow of both containers' marker lines, coloured by kind, with running counters."""
    import sys
    from pathlib import Path

    from runbooks.app import _sigterm_as_interrupt, build_redactor, resolve_targets
    from runbooks.errors import RunbooksError
    from runbooks.packs.eatfit24.monitor.watch import watch as live_watch
    from runbooks.packs.eatfit24.monitor.window import parse_tail
    from runbooks.record.console import Out
    from runbooks.record.transcript import default_transcript_dir, ensure_writable
    from runbooks.tasks.core import parse_seconds

    out = Out()
    restore = _sigterm_as_interrupt()  # SIGTERM stops the follow on the host too, like Ctrl-C
    try:
        lines = parse_tail(tail if tail is not None else 50) or 50
        seconds = parse_seconds("--duration", duration)
        config, targets = resolve_targets(target, single=True, task="monitor.watch")
        tdir = Path(transcript_dir) if transcript_dir else default_transcript_dir()
        ensure_writable(tdir)
        res = live_watch(targets[0], out, build_redactor(config, targets), tdir, tail=lines,
                         duration=seconds, argv=sys.argv, signing_key=config.signing_key)
    except RunbooksError as exc:
        out.error(exc.message)
        finish(exc.exit_code)
        return
    finally:
        restore()
    finish(res.exit_code)


all_.__name__ = "all"
collection = Collection("monitor", p0, all_, race_guard, finalization, stuck, api, cancel_events, errors, watch)
