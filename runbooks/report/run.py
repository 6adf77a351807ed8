"""The body of `inv report`: one fresh monitor run (the P0 checks plus the race guard
anomaly rule), earlier runs and history of the window, the criteria, report.md."""

from __future__ import annotations

import getpass
import json
import socket
import sys
from pathlib import Path
from typing import Any

from runbooks import __version__
from runbooks.app import build_redactor
from runbooks.config import load_config
from runbooks.engine.options import RunOptions, runbooks_commit
from runbooks.engine.run import run_playbook
from runbooks.errors import InputError, RunbooksError
from runbooks.lang.parse import load_playbook
from runbooks.model import RunResult
from runbooks.record.console import Out
from runbooks.record.render import render_template
from runbooks.record.transcript import default_transcript_dir, iso, read_events, utcnow
from runbooks.report.criteria import CRITERIA, FAIL, MANUAL, UNKNOWN, FreshRun, evaluate, exit_code, overall
from runbooks.report.problems import load as load_problems
from runbooks.report.sources import earlier_alerts, history_rows, rel
from runbooks.summary import SIMULATED_SHORT
from runbooks.transcripts.runs import window_start
from runbooks.transcripts.seal import seal_run

# the P0 run's checks plus what the criteria rest on
EXTRA_CHECKS = tuple(dict.fromkeys(f for c in CRITERIA for f in c.findings))


def fresh_vars(since: str) -> dict[str, Any]:
    from runbooks.packs.eatfit24.monitor.sections import needs_for, run_vars

    v = run_vars("monitor.p0", since=since)
    v["checks"] = list(v["checks"]) + [c for c in EXTRA_CHECKS if c not in v["checks"]]
    v["needs"] = needs_for(v["checks"])
    v["section"] = "report"
    return v


def _fresh(result: RunResult, link_base: Path) -> FreshRun:
    md = Path(result.transcript)
    seqs = {e.get("id"): e.get("seq") for e in read_events(md.parent / "events.jsonl") if e.get("type") == "finding"}
    findings = {f.id: {**f.to_dict(), "seq": seqs.get(f.id)} for f in result.findings}
    return FreshRun(findings, rel(md, link_base), result.verdict, result.message, result.started_at)


def _alert_lifecycle(result: RunResult, tgt: Any, out: Out, hist_path: Path) -> None:
    """The fresh run is a monitor run too: it moves the problems along (never notifies)."""
    from runbooks.alerts.hook import process

    try:
        process(result, tgt, out, hist_path, None)
    except Exception as exc:  # noqa: BLE001 - the report stands whatever happens here
        out.line(f"alert lifecycle failed: {exc!r}", "yellow")


def report(target: str | None, since: str, out_file: str | None, as_json: bool, transcript_dir: str | None,
           argv: list[str] | None = None) -> int:
    out = Out(json_mode=as_json)
    argv = argv if argv is not None else sys.argv
    try:
        if not since:
            raise InputError("--since: must not be empty (e.g. 24h)")
        start = window_start(since)
        config = load_config()
        names = config.target_names(target)
        if len(names) != 1:
            raise InputError(f"report covers one target at a time; got {', '.join(names)}")
        tgt = config.target(names[0])
        redactor = build_redactor(config, [tgt])
        playbook = load_playbook("monitor")
        variables = fresh_vars(since)
        tdir = Path(transcript_dir) if transcript_dir else default_transcript_dir()
        from runbooks.packs.eatfit24.monitor.history import history_path
        from runbooks.record.transcript import ensure_writable

        ensure_writable(tdir)  # a run that cannot be recorded does not start (exit 3)

        hist_path = history_path(tdir)
        # Read the history BEFORE the fresh run records itself into it.
        hist, hist_problem = history_rows(hist_path, tgt.name, start)
        opts = RunOptions(task="report", vars=variables, transcript_dir=tdir, argv=[redactor.text(a) for a in argv],
                          signing_key=config.signing_key)
    except RunbooksError as exc:
        out.error(exc.message)
        if as_json:
            sys.stdout.write(json.dumps({"report": "success-criteria", "verdict": "error", "exit_code": exc.exit_code,
                                         "message": exc.message, "criteria": []}) + "\n")
        return exc.exit_code

    result = run_playbook(playbook, tgt, opts, out, redactor)
    _alert_lifecycle(result, tgt, out, hist_path)
    run_dir = Path(result.transcript).parent
    md_path = Path(out_file) if out_file else run_dir / "report.md"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    base = md_path.resolve().parent
    fresh = _fresh(result, base)
    alerts, earlier_runs = earlier_alerts(tdir, tgt.name, since, run_dir, base)
    outcomes = evaluate(fresh, alerts, hist)
    problems = load_problems(hist_path, tgt.name, start, base)
    for o in outcomes:
        if o.status == FAIL and problems.problems:
            n = sum(1 for p in problems.problems if set(p.findings) & set(o.criterion.findings))
            if n:
                o.summary += f"; {n} distinct problem(s)"
    code = exit_code(outcomes, result.verdict)
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("PASS", FAIL, UNKNOWN, MANUAL)}
    ctx = {
        "target": tgt.name, "address": tgt.address, "role": tgt.role, "since": since,
        "window_start": iso(start) if start else None, "generated": iso(utcnow()),
        "operator": getpass.getuser(), "client_host": socket.gethostname(), "version": __version__,
        "commit": runbooks_commit(), "argv": " ".join(opts.argv), "fresh": fresh, "fresh_result": result, "fresh_dir": run_dir.name,
        "outcomes": outcomes, "earlier_runs": [{"name": r.dir.name, "link": rel(r.dir / "transcript.md", base),
                                                "ts": r.started.get("ts"), "playbook": r.playbook,
                                                "verdict": (r.finished or {}).get("verdict", "not finished")}
                                               for r in earlier_runs],
        "history_count": len(hist), "history_problem": hist_problem, "history_path": str(hist_path),
        "exit_code": code, "overall": overall(code),
        "counts": counts, "problems": problems,
    }
    text = redactor.text(render_template("report.md.j2", **ctx))
    md_path.write_text(text, encoding="utf-8")
    # Sealed again: the alert lifecycle appended events, and report.md (when written into
    # the run folder) is covered too.
    seal_run(run_dir, config.signing_key, lambda m: out.note(tgt.name, m, "warn"))

    out.table(f"Success criteria (after {since}) on {tgt.name}", ["", "Criterion", "Result", "Why"],
              [[o.icon, o.criterion.text, o.status, o.summary] for o in outcomes])
    style = {0: "bold green", 1: "bold yellow", 2: "bold white on red"}.get(code, "bold red")
    if problems.problems:
        out.table(f"Distinct problems in the window on {tgt.name}: {len(problems.problems)} over {problems.runs} run(s)",
                  ["Sev", "Problem", "State", "First seen", "Last seen", "Seen"],
                  [[p.severity, p.key, p.state, p.first_seen, p.last_seen, f"{p.seen} run(s)"] for p in problems.problems])
    sim = f"  ·  {SIMULATED_SHORT}" if tgt.simulated else ""
    out.line(f"REPORT {overall(code)} (exit {code}) on {tgt.name}{sim}: {counts[FAIL]} failed, "
             f"{counts[UNKNOWN]} unknown, {counts[MANUAL]} to check by hand", style)
    out.line(f"Report: {md_path}", "dim")
    if as_json:
        doc = {"report": "success-criteria", "target": tgt.name, "since": since, "generated_at": ctx["generated"],
               "verdict": overall(code).lower().replace(" ", "_"), "exit_code": code, "simulated": tgt.simulated,
               "report_file": str(md_path),
               "criteria": [o.to_dict() for o in outcomes], "fresh_run": result.to_dict(),
               "earlier_runs": ctx["earlier_runs"], "history_records": len(hist),
               "problems": problems.to_dict()}
        sys.stdout.write(json.dumps(redactor.obj(doc), ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
    return code
