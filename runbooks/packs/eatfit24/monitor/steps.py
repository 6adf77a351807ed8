"""Monitor step kinds. Gather steps yield requests and return facts; `monitor.evaluate`
turns all gathered facts into findings and metrics locally.

    monitor.gather    params: serializer, api (bool), path  facts: {worker_logs, backend_logs, db, api}
    monitor.api       params: path (/api/v1/meals/)         facts: {api: {...}}
    monitor.evaluate  (no params)                           findings + metrics
Run vars read: since, tail, checks, needs, monitor (playbook overrides): once per run, by the
first of these steps that runs (frame.py: every step then has the same window, settings and
instant); transcript_dir, record_baseline (evaluate stores the metrics as a baseline; default true).
Failure handling. The runner stops at a failed step, but one broken fact source must not
hide the other checks (a dead API must not hide a stuck-photo P0). So a gather step that
fails *degrades*: it returns status ok with a "degraded:" message, an error Note and
`errors: {part: why}`; every check that needed the part is then `skipped` with that
reason, and `monitor.evaluate` fails the run (exit 2) after reporting everything it could.
A host that cannot run the monitor at all (docker/awk missing, no such container,
no manage.py) is `cannot_run` instead: exit 3, as the contract says.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from runbooks.errors import InputError
from runbooks.model import Batch, Finding, HttpResponse, Note, Result, StepOutcome
from runbooks.packs.eatfit24.monitor import api, coverage, gather
from runbooks.packs.eatfit24.monitor.anomaly import ANOMALY_RULES
from runbooks.packs.eatfit24.monitor.custom import evaluate_custom
from runbooks.packs.eatfit24.monitor.frame import frame_of
from runbooks.packs.eatfit24.monitor.history import History, history_path
from runbooks.packs.eatfit24.monitor.parse import extract_result, summarize_log
from runbooks.packs.eatfit24.monitor.rules import evaluate
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

PARTS = ("worker_logs", "backend_logs", "db", "api")


def _tail_excerpt(res: Result, limit: int = 600) -> str:
    text = (res.stderr or res.stdout or "").strip()
    return text[-limit:] if text else "(no output)"


_CANNOT_RUN_HINTS = ("No such container", "command not found", "not found", "can't open file",
                     "Cannot connect to the Docker daemon", "is not running")


def _failed(part: str, why: str) -> StepOutcome:
    """A degraded gather (see the module docstring): the evaluate step fails the run."""
    return StepOutcome(status="ok", message=f"degraded: {why}", facts={"errors": {part: why}})


def _cannot_run(part: str, why: str) -> StepOutcome:
    return StepOutcome(status="failed", message=why, facts={"errors": {part: why}}, cannot_run=True)


def _host_cannot_run(res: Result, text: str) -> bool:
    return res.exit_code in (126, 127) or any(h in text for h in _CANNOT_RUN_HINTS)


# --- interpreting what the gather got -----------------------------------------------

def interpret_logs(part: str, container: str, res: Result) -> Generator[Note, Any, StepOutcome]:
    """Facts from one filtered log scan (or why there are none)."""
    if res.timed_out:
        yield Note(f"docker logs {container} timed out", level="error")
        return _failed(part, f"docker logs {container} timed out")
    summary = summarize_log(res.stdout, container)
    if summary["exit_code"] is None:
        why = f"log scan of {container} gave no exit status (exit {res.exit_code}): {_tail_excerpt(res)}"
        if _host_cannot_run(res, why):
            return _cannot_run(part, why)
        yield Note(why, level="error")
        return _failed(part, why)
    if summary["exit_code"] != 0:
        lines = " | ".join(b["lines"][0]["line"] for b in summary["error_blocks"][:2] if b["lines"]) or _tail_excerpt(res)
        why = f"docker logs {container} exited {summary['exit_code']}: {lines}"
        if summary["exit_code"] in (126, 127) or _host_cannot_run(res, lines):
            return _cannot_run(part, why)
        yield Note(why, level="error")
        return _failed(part, why)
    c = summary["counts"]
    counts = ", ".join(f"{k}={v}" for k, v in sorted(c.items()))
    msg = f"{summary['lines_passed']} lines passed the host filter" + (f"; {counts}" if counts else "")
    return StepOutcome(status="ok", message=msg, facts={part: summary})


def _validate_serializer(params: Mapping[str, Any]) -> None:
    if "serializer" in params and not isinstance(params["serializer"], bool):
        raise ValueError("serializer: must be true or false")


def _gathered(ctx: StepContext, part: str) -> Any:
    for facts in ctx.facts.values():
        if isinstance(facts, Mapping) and facts.get(part) is not None:
            return facts[part]
    return None


def interpret_db(res: Result) -> Generator[Note, Any, StepOutcome]:
    """Facts from the Django shell's one tagged JSON line (or why there are none)."""
    if res.timed_out:
        yield Note("Django shell timed out", level="error")
        return _failed("db", "Django shell timed out")
    result = extract_result(res.stdout)
    if result is None:
        why = f"Django shell printed no RUNBOOKS_RESULT line (exit {res.exit_code}): {_tail_excerpt(res)}"
        if _host_cannot_run(res, _tail_excerpt(res)):
            return _cannot_run("db", why)
        yield Note(why, level="error")
        return _failed("db", why)
    skipped = result.get("skipped") or {}
    if "all" in skipped:
        why = f"DB checks could not start: {skipped['all']}"
        yield Note(why, level="error")
        out = _failed("db", why)
        out.facts["db"] = result
        return out
    for part, why in sorted(skipped.items()):
        yield Note(f"DB check {part} skipped: {why}", level="warn")
    return StepOutcome(status="ok", message=f"Django {result.get('django')}: {len(skipped)} part(s) skipped",
                       facts={"db": result})


# --- monitor.gather: every remote fact source at once --------------------------------

GATHER_PARTS = ("worker_logs", "backend_logs", "db")
SUCCESS_CREATED_LIMIT = 2000


def _validate_gather(params: Mapping[str, Any]) -> None:
    _validate_serializer(params)
    if "api" in params and not isinstance(params["api"], bool):
        raise ValueError("api: must be true or false")
    api.validate_path(params)


@step_kind("monitor.gather", validate=_validate_gather)
def gather_step(step: Step, ctx: StepContext) -> StepGen:
    """The log scans and the Django shell as ONE concurrent batch on the run's connection:
    the scans no longer wait for the Django boot (the slowest part on a real host), so the
    time to a verdict is the slowest source, not their sum. Same commands, same count."""
    fr = frame_of(ctx)  # needs: the run's, else what its checks use (every check by default)
    parts = [p for p in GATHER_PARTS if p in fr.needs]
    with_api = bool(step.params.get("api")) and "api" in fr.needs
    if not parts and not with_api:
        return StepOutcome(status="skipped", message="no remote facts needed")
    s, window, tail = fr.settings, fr.window, fr.tail
    facts: dict[str, Any] = {}
    prepared: Any = None
    if with_api:  # the API GET travels with the remote commands, not after them
        prepared = yield from api.request(ctx, str(step.params.get("path", api.DEFAULT_PATH)), s.app_timezone, fr.now)
        if isinstance(prepared, StepOutcome):
            facts.update(prepared.facts, api_outcome={"status": prepared.status, "message": prepared.message})
            prepared = None
    commands = []
    for part in parts:
        if part == "db":
            params = gather.db_params(window, s["stuck_seconds"], int(s["evidence_limit"]), None,
                                      serializer=bool(step.params.get("serializer", True)),
                                      success_created_limit=SUCCESS_CREATED_LIMIT if "worker_logs" in parts else 0)
            commands.append(gather.db_command(ctx.vars["backend"], gather.render_db_script(params)))
        else:
            role = part.split("_")[0]
            commands.append(gather.logs_command(ctx.target.containers[role], window, tail, int(s["context_lines"])))
    results = yield Batch(tuple(commands) + ((prepared[0],) if prepared else ()))
    errors: dict[str, str] = {}
    messages: list[str] = []
    cannot: list[str] = []
    if prepared:
        resp = results[-1]
        assert isinstance(resp, HttpResponse)
        out = yield from api.interpret(resp, prepared[1], prepared[2])
        facts.update({k: v for k, v in out.facts.items() if k != "errors"},
                     api_outcome={"status": out.status, "message": out.message})
        errors.update(out.facts.get("errors") or {})
        messages.append(f"api: {out.message}")
        results = results[:-1]
    for part, res in zip(parts, results, strict=True):
        if part == "db":
            out = yield from interpret_db(res)
        else:
            out = yield from interpret_logs(part, ctx.target.containers[part.split("_")[0]], res)
        facts.update({k: v for k, v in out.facts.items() if k != "errors"})
        errors.update(out.facts.get("errors") or {})
        messages.append(f"{part}: {out.message}")
        if out.cannot_run:
            cannot.append(out.message)
    if errors:
        facts["errors"] = errors
    if cannot:
        return StepOutcome(status="failed", message="; ".join(cannot), facts=facts, cannot_run=True)
    return StepOutcome(status="ok", message="; ".join(messages), facts=facts)


# --- monitor.api ----------------------------------------------------------------------

@step_kind("monitor.api", validate=api.validate_path)
def api_step(step: Step, ctx: StepContext) -> StepGen:
    for facts in ctx.facts.values():  # the gather's batch made the request already
        done = api.replay(facts) if isinstance(facts, Mapping) else None
        if done is not None:
            return done
    fr = frame_of(ctx)
    db = _gathered(ctx, "db") or {}
    prepared = yield from api.request(ctx, str(step.params.get("path", api.DEFAULT_PATH)), fr.settings.app_timezone,
                                      fr.now, db.get("today"))
    if isinstance(prepared, StepOutcome):
        return prepared
    req, url, date = prepared
    resp = yield req
    assert isinstance(resp, HttpResponse)
    return (yield from api.interpret(resp, url, date))


# --- monitor.evaluate -----------------------------------------------------------------

def collect_facts(ctx: StepContext) -> dict[str, Any]:
    out: dict[str, Any] = {"errors": {}}
    for facts in ctx.facts.values():
        if not isinstance(facts, Mapping):
            continue
        for part in PARTS:
            if facts.get(part) is not None:
                out[part] = facts[part]
        out["errors"].update(facts.get("errors") or {})
    return out


def _validate_evaluate(params: Mapping[str, Any]) -> None:
    """It takes no params: what it evaluates is the run's (checks, needs, since); whether it
    records a baseline is the run variable `record_baseline` (once the `record` param)."""
    for key in params:
        if key == "record":
            raise ValueError("record: is now the run variable record_baseline (vars: {record_baseline: false})")
        raise ValueError(f"{key}: unknown parameter (monitor.evaluate takes none)")


@step_kind("monitor.evaluate", validate=_validate_evaluate)
def evaluate_step(step: Step, ctx: StepContext) -> StepGen:
    fr = frame_of(ctx)
    s, checks, key = fr.settings, list(fr.checks), fr.key
    facts = collect_facts(ctx)
    facts["coverage"] = coverage.collect(facts, fr.needs, fr.window, fr.tail, fr.now)
    hist = History(history_path(ctx.vars.get("transcript_dir")))
    baselines = None
    if any(c in ANOMALY_RULES for c in checks):
        try:
            baselines = hist.baselines(ctx.target.name, key, limit=int(s["history_runs"]))
        except Exception as exc:  # noqa: BLE001 - a broken history file must not hide P0 checks
            yield Note(f"history unavailable ({hist.path}): {exc}", level="warn")
            facts["errors"].setdefault("history", f"history unavailable: {exc}")
    findings, metrics = evaluate(facts, checks, s, baselines)
    if baselines is None:
        for f in findings:
            if f.id in ANOMALY_RULES and f.status == "no_baseline":
                f.status, f.reason = "skipped", facts["errors"].get("history", f.reason)
    findings += evaluate_custom(s.rules, metrics)
    cov = facts["coverage"]
    # Only a run that saw its whole window is a baseline for later runs: a recreated
    # container's short log or a failed source would drag the medians down.
    complete = all(c["status"] in ("complete", "not_configured") for c in cov.values())
    recorded = False
    if _record_baseline(ctx) and not ctx.dry_run and complete:
        try:
            hist.record(ctx.target.name, key, ctx.playbook or "monitor", metrics)
            recorded = True
        except Exception as exc:  # noqa: BLE001
            yield Note(f"could not record metrics in history ({hist.path}): {exc}", level="warn")
    elif not complete:
        yield Note("not stored as a baseline: " + "; ".join(f"{n} {c['status']}" for n, c in sorted(cov.items())
                                                            if c["status"] not in ("complete", "not_configured")),
                   level="warn")
    for name, c in sorted(cov.items()):
        if c["status"] == "partial":
            yield Note(f"coverage: {name} partial: {c['reason']}", level="warn")
    alerts = [f for f in findings if f.status == "alert"]
    msg = f"{len(findings)} checks, {len(alerts)} alert(s)" + (f"; history: {hist.path}" if recorded else "")
    return StepOutcome(status="ok", message=msg, findings=findings, metrics=metrics,
                       facts={"history": str(hist.path), "recorded": recorded, "window": key},
                       coverage=cov, ran=ran_line(ctx.vars.get("section"), findings, cov))


def _record_baseline(ctx: StepContext) -> bool:
    """The run variable `record_baseline` (default true): false for a run whose window is
    no baseline for later runs (the rollback's P0 checks, on the minutes since it began)."""
    value = ctx.vars.get("record_baseline", True)
    if not isinstance(value, bool):
        raise InputError(f"record_baseline: must be true or false, got {value!r}")
    return value


def ran_line(section: object, findings: list[Finding], cov: Mapping[str, Mapping[str, Any]]) -> str:
    """"8/8 P0 checks ran", or what kept the others from running:
    "4/8 P0 checks ran: db failed: counts failed: FieldError: ...; not configured: api (...)"."""
    label = "P0 checks" if section == "p0" else "checks"
    ran = [f for f in findings if f.status in ("ok", "alert", "no_baseline")]
    parts = [f"{n} failed: {_short(c['reason'])}" for n, c in sorted(cov.items()) if c["status"] == "error"]
    if cov.get("db", {}).get("status") == "partial":
        parts.append(f"db partly failed: {_short(cov['db']['reason'])}")
    explained = {f"{n} failed" for n, c in cov.items() if c["status"] == "error"}
    parts += [f"{f.id}: {_short(f.reason)}" for f in findings if f.status == "error"
              and not any(f.reason.startswith(e) for e in explained) and not f.reason.startswith("DB check")]
    parts += [f"{n} partial from {c['from'] or '?'}" for n, c in sorted(cov.items())
              if c["status"] == "partial" and n != "db"]
    nc = [f"{n} ({c['reason']})" for n, c in sorted(cov.items()) if c["status"] == "not_configured"]
    if nc:
        parts.append("not configured: " + ", ".join(nc))
    return f"{len(ran)}/{len(findings)} {label} ran" + (": " + "; ".join(parts) if parts else "")


def _short(text: object, limit: int = 160) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 3] + "..."
