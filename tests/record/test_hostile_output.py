"""Issue 12 item 3: nothing from the host drives the operator's terminal or forges the record.

A hostile host (over a real sshd) prints escape sequences (clear screen, window title,
OSC 8 hyperlink), NUL, BEL, a bidi override, a lone CR, an 8-bit CSI, and Markdown/HTML
that would render as a verdict, an image and a link. None of it may reach the console,
events.jsonl, transcript.md (rendered) or transcript.cast as anything but visible text.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from runbooks.sshd import SshServer
from tests.helpers import inv_cmd, inv_env, run_dirs, write_config, write_playbook
from tests.record.helpers import (
    cast_hostile,
    cast_output,
    controls_in,
    event_controls,
    forged_markup,
    hostile_file,
    ssh_target,
)
from tests.rollback.conftest import FEATURE, Host, host  # noqa: F401 - the `host` fixture


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> tuple[int, str, str]:
    p = subprocess.run(inv_cmd(*args), env=env, cwd=cwd, capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def test_hostile_command_output_reaches_no_terminal_and_no_record_as_control(tmp_path: Path, sshd: SshServer) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_target(sshd, tmp_path / "project")}, default_target="box")
    log = hostile_file(tmp_path / "project")
    pb = write_playbook(tmp_path / "pb.yml", "hostile", [
        {"name": "noisy", "kind": "shell", "description": "streams hostile output",
         "params": {"command": f"cat {log}", "stream": True}},
        {"name": "fail", "kind": "shell", "description": "fails with hostile stderr",
         "params": {"command": f"cat {log} >&2; exit 1"}},
    ])
    code, out, err = _run(["play", "--playbook", str(pb)], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert code == 2, err
    console = out + err
    # the terminal: nothing it would act on ...
    assert controls_in(console) == [], controls_in(console)
    assert "pwned-title" not in console  # the OSC title payload is gone with its sequence
    # ... and the text is still there to read, with the tricks visible
    assert "click-me" in console and "\\x00" in console and "\\u202e" in console and "\\x0dOVERWRITE" in console
    verdict = next(line for line in console.splitlines() if line.startswith("VERDICT FAILED"))
    assert "step fail failed: exit 1:" in verdict and "**VERDICT: OK**" in verdict  # shown, as text

    (run,) = run_dirs(tmp_path / "tr")
    assert event_controls(run / "events.jsonl") == []
    md = (run / "transcript.md").read_text(encoding="utf-8")
    assert controls_in(md.replace("\n", "").replace("\t", "")) == []
    assert forged_markup(md) == [], forged_markup(md)
    assert "**VERDICT: OK**" in md  # recorded as the host said it, inside code
    assert cast_hostile(cast_output(run / "transcript.cast")) == []


def test_rollback_plan_shows_a_hostile_commit_subject_as_text(host: Host) -> None:  # noqa: F811
    """The PLAN the operator approves (dry-run, over a real sshd) names the commit by its
    subject: a subject with escapes cannot clear the screen or retitle the terminal."""
    evil = "fix: \x1b[2J\x1b]0;pwned-title\x07\x1b[1A\x1b[2KVERDICT OK \u202eexe.txt\u202c **VERDICT: OK** <img src=x>"
    (host.repo / "evil.txt").write_text("x\n")
    host.git("add", "evil.txt")
    host.git("commit", "-q", "-m", evil)
    sha = host.head()
    p = host.run("--commit", sha, "--dry-run")
    console = p.stdout + p.stderr
    assert p.returncode == 0, console[-3000:]
    plan = [line for line in console.splitlines() if "revert " + sha in line]
    assert plan, console[-3000:]
    assert controls_in(console) == [], controls_in(console)
    assert "pwned-title" not in console and "\\u202e" in console
    run = sorted(host.transcripts.glob("*-rollback-*"))[-1]
    md = (run / "transcript.md").read_text(encoding="utf-8")
    assert controls_in(md.replace("\n", "").replace("\t", "")) == []
    assert forged_markup(md) == []
    assert event_controls(run / "events.jsonl") == []
    assert cast_hostile(cast_output(run / "transcript.cast")) == []


def test_console_in_terminal_mode_strips_sequences_before_rich(tmp_path: Path) -> None:
    """The Rich (TTY) path too: escapes in remote text never reach the terminal stream."""
    import io

    from rich.console import Console

    from runbooks.record.console import Out

    buf = io.StringIO()
    out = Out(stream=buf)
    out.rich = Console(file=buf, force_terminal=True, highlight=False, soft_wrap=True)
    out.fancy = True
    out.line("log: \x1b]0;pwned-title\x07\x1b[2Jtext \u202e end", "yellow", "box")
    out.note("box", "note \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\")
    from runbooks.model import StepResult

    out.steps_table([StepResult("s", "shell", "failed", 0.1, "exit 1: \x1b[2J\x07boom")])
    text = buf.getvalue()
    assert "pwned-title" not in text and "\x1b]" not in text and "\x1b[2J" not in text and "\x07" not in text
    assert "\u202e" not in text and "\\u202e" in text and "boom" in text and "link" in text


def _strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [s for v in (value.values() if isinstance(value, dict) else value
                                                               if isinstance(value, list) else []) for s in _strings(v)]


def test_json_document_carries_no_raw_controls(tmp_path: Path, sshd: SshServer) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_target(sshd, tmp_path / "project")}, default_target="box")
    log = hostile_file(tmp_path / "project")
    pb = write_playbook(tmp_path / "pb.yml", "hostile", [
        {"name": "fail", "kind": "shell", "params": {"command": f"cat {log} >&2; exit 1"}}])
    code, out, err = _run(["play", "--playbook", str(pb), "--json"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert code == 2, err
    doc = json.loads(out)
    assert all(controls_in(s) == [] for s in _strings(doc))
    assert FEATURE  # the rollback fixture's module is imported for its fixture only


def _hostile_log_lines(sandbox: Any) -> None:
    """Marker and error lines in the worker's docker log carrying escapes (the filter passes
    them: they are what the checks read)."""
    from datetime import datetime, timezone

    from runbooks.sandbox.logfile import LiveSink

    worker = sandbox.target_fields()["containers"]["worker"]
    evil = "\x1b]0;pwned-title\x07\x1b[2J\u202e"
    sink = LiveSink(sandbox.paths)
    now = datetime.now(timezone.utc)
    sink.emit(worker, f"[2026-01-15 10:00:00,000: INFO/ForkPoolWorker-1] [MealService] Finalized meal_id=7{evil} as COMPLETE", now)
    sink.emit(worker, f"[2026-01-15 10:00:00,001: ERROR/ForkPoolWorker-1] [MealService] boom Error {evil} **VERDICT: OK** <img src=x>",
              now)


def test_hostile_log_lines_in_watch_and_monitor_over_sshd(sandbox: Any, ssh_sandbox: dict[str, Any], tmp_path: Path) -> None:
    _hostile_log_lines(sandbox)
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")
    env = inv_env(cfg, tmp_path / "tr")
    code, out, err = _run(["monitor.watch", "--tail", "2000", "--duration", "4"], env, tmp_path)
    assert code == 0, err[-2000:]
    assert "meal_id=7" in out and "boom" in out  # the lines are shown ...
    assert controls_in(out + err) == [] and "pwned-title" not in out + err  # ... and cannot drive the terminal
    code, out, err = _run(["monitor.all"], env, tmp_path)
    assert code in (0, 1, 2), err[-2000:]
    assert controls_in(out + err) == []
    for run in run_dirs(tmp_path / "tr"):
        md = (run / "transcript.md").read_text(encoding="utf-8")
        assert controls_in(md.replace("\n", "").replace("\t", "")) == [], run.name
        assert forged_markup(md) == [], run.name
        assert event_controls(run / "events.jsonl") == [], run.name
        if (run / "transcript.cast").exists():  # monitor.watch records no cast
            assert cast_hostile(cast_output(run / "transcript.cast")) == [], run.name
