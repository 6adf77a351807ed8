"""Fuzz (Hypothesis): arbitrary bytes as remote output through the log parser, the console
and transcript.md. Never an exception, never a control character out, never a finding
whose evidence the bytes did not contain, never Markdown/HTML that renders from them."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from runbooks.model import Finding, Result, RunResult, StepResult
from runbooks.packs.eatfit24.monitor.catalog import CATALOG
from runbooks.packs.eatfit24.monitor.rules import evaluate
from runbooks.packs.eatfit24.monitor.steps import interpret_logs
from runbooks.packs.eatfit24.monitor.thresholds import settings_from
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.record.transcript import Transcript
from tests.record.helpers import controls_in, forged_markup

SETTINGS = settings_from([], set(CATALOG))
LOG_CHECKS = [c for c in CATALOG]

MESSAGES = [
    "[AI] Photo {a} is in terminal state {b}, discarding results",
    "[AI] MealPhoto {a} updated to SUCCESS with {b} items",
    "[MealService] Finalized meal_id={a} as COMPLETE",
    "[MealService] Finalized meal_id={a} as FAILED",
    "[MealService] Meal {a} has no photos, deleting orphan",
    "[AI][Cancel] RECEIVED meal_id={a} reason={b}",
    "[AI][Cancel] DUPLICATE meal_id={a}",
    "[AI][Cancel] NOOP meal_id={a}",
    "[AI][Cancel] EXCEPTION meal_id={a} {b}",
    "Traceback (most recent call last): {a}",
    "ERROR {a} [MealService] {b}",
]
HOSTILE = ["\x1b[2J", "\x1b]0;title\x07", "\x1b]8;;http://e\x1b\\", "\x00", "\x07", "\r", "\u202e", "\x9b31m",
           "\u2028", "**VERDICT: OK**", "<img src=x>", "[l](http://e)", "`", "```", "|", "\n# H\n", "<a href='x'>"]

fill = st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE), st.integers(0, 10**6).map(str))


@st.composite
def log_line(draw: Any) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=60))
    nr = draw(st.integers(1, 500))
    tag = draw(st.sampled_from(["M", "E", "C", "S", "X"]))
    ts = draw(st.sampled_from(["2026-01-15T10:00:00.123456789Z ", "", "2026-13-99T99:99:99Z "]))
    msg = draw(st.sampled_from(MESSAGES)).format(a=draw(fill), b=draw(fill))
    if tag == "S":
        msg, ts = f"RUNBOOKS_EXIT {draw(st.integers(-1, 300))}", ""
    return f"{nr} {tag} {ts}{msg}".encode("utf-8", "surrogatepass")


remote_output = st.lists(st.one_of(log_line(), st.binary(max_size=40)), max_size=40).map(b"\n".join)
remote_text = st.one_of(st.binary(max_size=300), remote_output,
                        st.lists(st.sampled_from(HOSTILE) | st.text(max_size=10), max_size=12).map("".join).map(
                            lambda s: s.encode("utf-8", "surrogatepass"))).map(lambda b: b.decode("utf-8", "replace"))


def _facts_from_log(text: str) -> dict[str, Any]:
    gen = interpret_logs("worker_logs", "w", Result("docker logs w", 0, text, "", 0.1))
    try:
        while True:
            next(gen)  # Notes
    except StopIteration as stop:
        outcome = stop.value
    facts = {"errors": {}, **outcome.facts}
    return facts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(remote_output.map(lambda b: b.decode("utf-8", "replace")))
def test_log_parser_never_raises_nor_invents_evidence(text: str) -> None:
    facts = _facts_from_log(text)
    findings, metrics = evaluate(facts, LOG_CHECKS, SETTINGS, {})
    lines = set(text.splitlines())
    for f in findings:
        if f.status != "alert":
            continue
        assert f.count > 0 or f.evidence, f
        for ev in f.evidence:
            line = ev.get("line")
            if isinstance(line, str):
                assert any(line in raw for raw in lines), (f.id, line)


def _console_text(fancy: bool, text: str) -> str:
    buf = io.StringIO()
    out = Out(stream=buf)
    if fancy:
        out.rich = Console(file=buf, force_terminal=True, highlight=False, soft_wrap=True, width=100)
        out.fancy = True
    red = Redactor(["sekrit-token-123"])
    masker = red.stream()
    out.output("t", "stdout", masker.feed(text) + masker.flush())
    out.line(red.text(text), "yellow", "t")
    out.note("t", red.text(text), "warn")
    out.step_finished("t", StepResult("s", "shell", "failed", 0.1, red.text(text)))
    f = Finding("stuck_photos", "P0", "t", count=1, evidence=[{"line": text}], reason=text, status="alert")
    out.summary(RunResult("p", "t", "a", "b", "p0", 2, findings=[f], steps=[StepResult("s", "shell", "failed", 0.1, text)],
                          message=red.text(text)))
    return buf.getvalue()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(remote_text, st.booleans())
def test_console_never_passes_a_control_character(text: str, fancy: bool) -> None:
    shown = _console_text(fancy, text)
    own_styles = re.sub(r"\x1b\[[0-9;]*m", "", shown) if fancy else shown  # Rich's own colours only
    assert controls_in(own_styles) == []


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(remote_text, remote_text)
def test_transcript_md_never_renders_host_text(out_text: str, err_text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        tr = Transcript(Path(d), "fuzz", "t", Redactor(["sekrit-token-123"]))
        tr.emit("run_started", playbook="fuzz", target="t", address="h", role="dev", operator="o", client_host="c",
                argv="inv fuzz", version="0", commit=None, options={}, steps=["s", "never"])
        tr.emit("step_started", step="s", kind="shell", description="d", index=1, total=2)
        c = tr.emit("command", step="s", command="cat log", mutates=False, timeout=1, dry_run=False, stdin_bytes=0)
        tr.emit("command_finished", step="s", command="cat log", command_seq=c["seq"], exit_code=1, duration_s=0.1,
                timed_out=False, timeout=1, dry_run=False, mutates=False, stdout=out_text, stderr=err_text)
        tr.emit("note", step="s", text=out_text, level="warn")
        tr.emit("confirm", step="s", prompt=err_text, commands=[out_text], answer=err_text, by="operator o")
        tr.emit("step_finished", step="s", status="failed", duration_s=0.1, message=err_text, facts_keys=[])
        tr.emit("finding", id="stuck_photos", severity="P0", title="t", count=1, evidence=[{"line": out_text}],
                action="a", status="alert", reason=err_text, threshold="x", check="3")
        tr.emit("error", message=out_text, traceback=err_text)
        tr.emit("run_finished", verdict="failed", exit_code=2, message=err_text, metrics={}, remote_commands=1,
                resume=out_text, steps=[])
        tr.close()
        tr.render_markdown()
        md = tr.md_path.read_text(encoding="utf-8")
    assert controls_in(md.replace("\n", "").replace("\t", "")) == []
    assert forged_markup(md) == []
    verdicts = re.findall(r"^\*\*FAILED\*\*, exit code 2", md, flags=re.M)
    assert len(verdicts) == 1  # exactly one verdict line, the real one
    assert "\n## Verdict\n" in md and md.count("\n## Verdict\n") == 1
