"""One UTC timeline over many runs: the postmortem's "Timeline" section.

Each row points at its run (folder, linked to its transcript.md) and at the event (`seq`
in that folder's events.jsonl). Only what a postmortem needs is kept: runs starting and
ending, steps that did not pass, every mutating or failing command, confirmations and
operator input, alerts, warnings, errors and interruptions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from runbooks.transcripts.runs import Run, find_runs


def _cell(s: Any) -> str:
    return str(s if s is not None else "").replace("|", "\\|").replace("\n", " ").strip()


def _short(s: str, n: int = 100) -> str:
    s = _cell(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def describe(e: dict[str, Any]) -> str | None:
    """The timeline text for an event, or None when it is not postmortem material."""
    t = e.get("type")
    if t == "run_started":
        return f"run **{e.get('playbook')}** started by {_cell(e.get('operator'))}: `{_short(e.get('argv', ''), 80)}`"
    if t == "run_finished":
        msg = f": {_short(e.get('message', ''))}" if e.get("message") else ""
        return f"run finished **{str(e.get('verdict', '?')).upper()}** (exit {e.get('exit_code')}){msg}"
    if t == "step_finished" and e.get("status") not in ("ok", "skipped"):
        msg = f": {_short(e.get('message', ''))}" if e.get("message") else ""
        return f"step {e.get('step')} **{str(e.get('status')).upper()}**{msg}"
    if t == "command_finished" and (e.get("mutates") or e.get("exit_code") != 0 or e.get("timed_out")):
        what = "dry-run " if e.get("dry_run") else ""
        tag = " TIMEOUT" if e.get("timed_out") else ""
        return (f"{what}{'mutating ' if e.get('mutates') else ''}command exit {e.get('exit_code')}{tag}: "
                f"`{_short(e.get('command', ''), 90)}`")
    if t == "command" and e.get("mutates"):
        return f"mutating command sent: `{_short(e.get('command', ''), 90)}`" if not e.get("dry_run") else None
    if t in ("confirm", "prompt"):
        return f"{'confirmation' if t == 'confirm' else 'operator input'}: {_short(e.get('prompt', ''), 70)} → **{_cell(e.get('answer'))}** by {_cell(e.get('by'))}"
    if t == "finding" and e.get("status") == "alert":
        return f"**{e.get('severity')}** `{e.get('id')}` x{e.get('count')}: {_short(e.get('title', ''), 80)}"
    if t == "note" and e.get("level") in ("warn", "error"):
        return f"note ({e.get('level')}): {_short(e.get('text', ''))}"
    if t in ("error", "interrupted"):
        return f"**{t.upper()}**: {_short(e.get('message', ''))}"
    return None


def rows(runs: list[Run]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for run in runs:
        for e in run.events:
            text = describe(e)
            if text is not None:
                out.append({"ts": e.get("ts", ""), "run": run.dir, "seq": e.get("seq"), "target": run.target,
                            "playbook": run.playbook, "text": text})
        if run.finished is None and run.events:
            last = run.events[-1]
            out.append({"ts": last.get("ts", ""), "run": run.dir, "seq": last.get("seq"), "target": run.target,
                        "playbook": run.playbook,
                        "text": "**run record ends here without run_finished** (killed, crashed or still running)"})
    out.sort(key=lambda r: (r["ts"], r["run"].name, r["seq"] or 0))
    return out


def render(runs: list[Run], link_base: Path, title: str = "Timeline (UTC)") -> str:
    """Markdown; links to each run's transcript.md are relative to `link_base` (the directory
    the timeline file is written to)."""
    lines = [f"## {title}", ""]
    if not runs:
        return "\n".join(lines + ["No runs in this window.", ""])
    lines += [f"{len(runs)} run(s), {runs[0].started.get('ts', '?')} to "
              f"{(runs[-1].finished or runs[-1].events[-1]).get('ts', '?')}.", "",
              "| Time (UTC) | Target | What happened | Run, event |", "|---|---|---|---|"]
    for r in rows(runs):
        rel = Path(os.path.relpath(r["run"], link_base)).as_posix()
        link = f"[{r['run'].name}]({rel}/transcript.md) #{r['seq']}"
        lines.append(f"| {r['ts']} | {_cell(r['target'])} | {r['text']} | {link} |")
    lines.append("")
    lines.append("`#N` is the event's `seq` in that run's events.jsonl.")
    lines.append("")
    return "\n".join(lines)


def build(transcript_dir: str | Path, since: str | None, link_base: Path | None = None) -> tuple[str, list[Run]]:
    runs = find_runs(transcript_dir, since)
    base = link_base if link_base is not None else Path(transcript_dir)
    return render(runs, base), runs
