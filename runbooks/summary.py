"""The summary block that ends every run: what an operator reads on the last screen.

Pure text (console.py prints it, with styles): the verdict, each P0/P1 finding with its
count against its threshold and its first evidence ids, the next action, the resume hint
and the transcript path. Lines fit the terminal width; a finding id is never cut.
Evidence reads as `key=value`, never as a Python repr.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from runbooks.model import Finding, RunResult

SIMULATED = "SIMULATED HOST (the built-in sandbox, not production)"
SIMULATED_SHORT = "SIMULATED HOST, not production"
MAX_FINDINGS = 6  # more are counted ("+N more"): the block must stay on one screen
SCREEN_ROWS = 23  # an 80x24 terminal, less the row of the shell prompt after the run
_ID_KEYS = ("photo_id", "meal_id", "task_id", "event_id", "id", "ts", "time", "first_ts", "container")
_LONG_KEYS = {"line", "lines", "traceback", "text", "body"}


@dataclass(frozen=True)
class Line:
    text: str
    style: str | None = None


def value_text(v: Any) -> str:
    """One evidence value as text: scalars as they are (quoted when they hold spaces),
    lists and mappings as compact JSON; never a Python repr."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False) if (not v or any(ch.isspace() for ch in v) or '"' in v) else v
    return json.dumps(v, ensure_ascii=False, default=str, separators=(",", ":"))


def kv(ev: dict[str, Any], keys: list[str] | None = None) -> str:
    """`key=value key=value` for an evidence item (every key, or only `keys`)."""
    items = ev.items() if keys is None else ((k, ev[k]) for k in keys if k in ev)
    return " ".join(f"{k}={value_text(v)}" for k, v in items)


def short_kv(ev: dict[str, Any]) -> str:
    """The identifying part of an evidence item: its ids and log time, not the log text."""
    keys = [k for k in _ID_KEYS if k in ev and ev[k] not in (None, "", [])]
    keys += [k for k in ev if k.endswith("_id") and k not in keys]
    if not keys:
        keys = [k for k, v in ev.items() if k not in _LONG_KEYS and not isinstance(v, (list, dict))]
    return kv(ev, keys) if keys else kv(ev)


def wrap(text: str, width: int, indent: str, max_lines: int) -> list[str]:
    """Wrapped at spaces (a word, e.g. a finding id, is never split), at most `max_lines`."""
    lines = textwrap.wrap(text.replace("\n", " "), width=width - 1, initial_indent=indent,
                          subsequent_indent=indent + "  ", break_long_words=False, break_on_hyphens=False)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = fit(lines[-1], width - 2) + " …" if len(lines[-1]) >= width - 2 else lines[-1] + " …"
    return lines


def fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def evidence_line(f: Finding, width: int, indent: str = "      ") -> str | None:
    """`indent` + the first evidence items that fit, then `+N more` (N counts the finding's
    whole count, not only the evidence sample)."""
    if not f.evidence:
        return None
    total = max(f.count, len(f.evidence))
    shown: list[str] = []
    for i, ev in enumerate(f.evidence):
        item = short_kv(ev) if isinstance(ev, dict) else value_text(ev)
        rest = total - (i + 1)
        candidate = "; ".join([*shown, item]) + (f"  +{rest} more" if rest > 0 else "")
        if shown and len(indent) + len(candidate) > width:
            break
        shown.append(item)
    more = total - len(shown)
    text = indent + "; ".join(shown)
    tail = f"  +{more} more" if more > 0 else ""
    return fit(text, width - len(tail)) + tail


def finding_lines(f: Finding, width: int) -> list[Line]:
    style = "bold red" if f.severity == "P0" else "yellow"
    value = f"  {f.reason}" if f.reason else ""  # the measured value, when the rule states it
    threshold = f"{' vs' if value else ''}  (threshold {f.threshold})" if f.threshold else ""
    head = f"  {f.severity} {f.id}"
    # the id is never cut: what follows it is shortened first
    rest = fit(f"  count={f.count}{value}{threshold}", max(0, width - len(head))) if len(head) < width else ""
    out = [Line(head + rest, style)]
    ev = evidence_line(f, width)
    if ev:
        out.append(Line(ev))
    return out


def checks_ran_text(result: RunResult) -> str | None:
    """The 'N/M checks ran' text, wherever the engine put it (attribute, facts or metrics)."""
    for value in (getattr(result, "checks_ran", None), result.facts.get("checks_ran"),
                  result.metrics.get("checks_ran")):
        if value is None or value == "":
            continue
        if isinstance(value, dict):
            value = value.get("text") or (f"{value.get('ran')}/{value.get('total')} checks ran"
                                          if "ran" in value and "total" in value else kv(value))
        return str(value)
    return None


_RAN = re.compile(r"(?:^|; )(\d+/\d+ [^;:]*checks ran.*)$", re.S)


def split_ran(message: str) -> tuple[str, str | None]:
    """The verdict message without its "N/M checks ran ..." part, and that part."""
    m = _RAN.search(message or "")
    if not m:
        return message, None
    return message[: m.start()].rstrip("; "), m.group(1)


def next_action(result: RunResult, alerts: list[Finding], resume: str | None, notes: list[str]) -> str:
    for sev in ("P0", "P1", "P2"):
        for f in alerts:
            if f.severity == sev and f.action:
                return f.action
    if notes:
        return "the host is left as the line above says: act on it" + (", or resume (below)" if resume else "")
    if resume:
        return "fix the cause, then resume (below)" if result.verdict == "failed" else "resume when ready (below)"
    return {"ok": "nothing to do", "aborted": "re-run when ready (nothing after the abort ran)",
            "error": "fix the problem above, then re-run", "unknown": "the verdict is unknown: fix the failed check's "
            "source and re-run"}.get(result.verdict, "read the transcript")


def verdict_notes(result: RunResult) -> list[str]:
    """What steps said the verdict must name (e.g. the rollback's WORKER STOPPED line)."""
    return list(result.verdict_notes)


def verdict_line(result: RunResult) -> str:
    where = f"on {result.target}" + (f"  ·  {SIMULATED_SHORT}" if result.simulated else "")
    return f"VERDICT {result.verdict.upper()} (exit {result.exit_code}) {where}"


def rows(lines: list[Line], width: int) -> int:
    """Terminal rows these lines take at `width` columns."""
    return sum(max(1, -(-len(ln.text) // width)) for ln in lines)


def block(result: RunResult, resume: str | None, width: int, screen: int = SCREEN_ROWS) -> list[Line]:
    """The block, at most `screen` rows at `width` columns when it can be: the findings
    shown are as many as fit (the rest counted), the verdict and what it rests on always."""
    width = max(40, width)
    alerts = [f for f in result.findings if f.status == "alert"]
    ranked = sorted((f for f in alerts if f.severity in ("P0", "P1")), key=lambda f: (f.severity, f.id))
    notes = verdict_notes(result)
    message = result.message
    for n in notes:  # shown whole on their own line below, not cut inside the message
        message = message.replace(f"; {n}", "").replace(n, "")
    message, ran = split_ran(message)
    # one line, as scripts and people grep it: the verdict and what it says (the findings
    # are listed whole below, so an id the terminal wraps here is never lost)
    head = [Line("── summary " + "─" * (width - 12), "dim"),
            Line(verdict_line(result) + (f": {message}" if message else ""), None)]
    head.extend(Line(n, "bold red") for n in notes)
    ran = ran or checks_ran_text(result)
    if ran:  # how much the verdict rests on: its own lines, never cut short by the findings list
        head.extend(Line(t) for t in wrap(ran, width, "  ", 3))
    tail: list[Line] = []
    p2 = len(alerts) - len(ranked)
    if p2:
        tail.append(Line(f"  and {p2} P2 finding(s) (table above)", "dim"))
    if result.verdict != "ok" or notes or resume:  # an OK run has nothing to do next
        tail.extend(Line(t, "bold") for t in wrap("Next: " + next_action(result, alerts, resume, notes), width, "", 3))
    if resume:
        tail.append(Line(f"To resume: {resume}", "bold yellow"))
    if result.transcript:
        tail.append(Line(f"Transcript: {result.transcript}", "dim"))
    budget = screen - rows(head, width) - rows(tail, width)
    shown: list[Line] = []
    for i, f in enumerate(ranked[:MAX_FINDINGS]):
        lines = finding_lines(f, width)
        more = 1 if i + 1 < len(ranked) else 0  # room for the "+N more" line
        if i and rows(shown, width) + rows(lines, width) + more > budget:
            break
        shown.extend(lines)
        count = i + 1
    else:
        count = min(len(ranked), MAX_FINDINGS)
    if ranked and len(ranked) > count:
        shown.append(Line(f"  +{len(ranked) - count} more P0/P1 findings (table above, transcript)"))
    return head + shown + tail
