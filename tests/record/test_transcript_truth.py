"""Issue 13 item 6: transcript.md tells the truth.

Concurrent Batch commands (monitor.all's log scans and Django shell, over a real sshd) are
each recorded with their own result, never "No result recorded"; a rollback's "Not run:"
lists exactly the steps that did not run; tracebacks are code blocks; long JSON output is
pretty-printed and folded; the asciicast ends with the summary block."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runbooks.record.redact import Redactor
from runbooks.record.transcript import Transcript
from tests.helpers import events, inv_env, run_dirs, run_inv, write_config
from tests.record.helpers import cast_output, html_of
from tests.rollback.conftest import FEATURE, Host, host  # noqa: F401 - the `host` fixture
from tests.transcripts.helpers import run_tiny


def test_monitor_all_pairs_every_concurrent_command_with_its_own_result(sandbox: Any, ssh_sandbox: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")
    r = run_inv(["monitor.all"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode in (0, 1), (r.stdout[-2000:], r.stderr[-2000:])
    (run,) = run_dirs(tmp_path / "tr")
    evs = events(run)
    started = [e for e in evs if e["type"] == "command"]
    finished = [e for e in evs if e["type"] == "command_finished"]
    assert len(started) == 3 and [e.get("batch") for e in started] == [3, 3, 3]  # two log scans + one Django shell
    assert sorted(e["command_seq"] for e in finished) == [e["seq"] for e in started]
    for f in finished:  # each result carries its own command
        assert f["command"] == next(e["command"] for e in started if e["seq"] == f["command_seq"])
    md = (run / "transcript.md").read_text()
    assert "no result recorded" not in md.lower()
    shown = [line for line in md.splitlines() if line.startswith("$ ")]
    assert len(shown) == 3 and len(set(shown)) == 3  # each command printed once, with its result
    assert md.count("exit code **0**") == 3


def test_rollback_not_run_lists_exactly_the_steps_that_did_not_run(host: Host) -> None:  # noqa: F811
    host.sandbox.inject("rebuild_fails")
    p = host.run("--commit", host.sha_of(FEATURE), "--yes")
    assert p.returncode == 2, (p.stdout[-3000:], p.stderr[-3000:])
    run = sorted(host.transcripts.glob("*-rollback-*"))[-1]
    evs = events(run)
    planned = next(e for e in evs if e["type"] == "run_started")["steps"]
    ran = {e["step"] for e in evs if e["type"] == "step_finished"}
    assert {"host-state", "release-lock"} <= ran  # always-steps ran after the failed rebuild
    expected = [s for s in planned if s not in ran]
    assert expected  # verify did not run
    md = (run / "transcript.md").read_text()
    line = next(x for x in md.splitlines() if x.startswith("Not run: "))
    listed = re.findall(r"`([^`]+)`", line)
    assert listed == expected, (line, ran)


def _unit_transcript(tmp_path: Path, **emit: Any) -> str:
    tr = Transcript(tmp_path, "t", "box", Redactor())
    tr.emit("run_started", playbook="t", target="box", steps=["s"])
    tr.emit("step_started", step="s", kind="shell")
    for type_, data in emit.items():
        tr.emit(type_, **data)
    tr.emit("run_finished", verdict="failed", exit_code=2, message="", steps=[])
    tr.close()
    tr.render_markdown()
    return tr.md_path.read_text()


def test_traceback_is_a_code_block(tmp_path: Path) -> None:
    tb = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    raise ValueError('**bold** <b>')\n"
          "ValueError: **bold** <b>\n")
    md = _unit_transcript(tmp_path, error={"step": "s", "message": "internal error: ValueError('**bold**')", "traceback": tb})
    html = html_of(md)
    blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", html, flags=re.S)
    assert any("Traceback (most recent call last):" in b and "ValueError: **bold** &lt;b&gt;" in b for b in blocks)
    assert "<strong>bold</strong>" not in html and "<b>" not in html


def test_long_json_output_is_pretty_printed_and_folded(tmp_path: Path) -> None:
    doc = {"rows": [{"id": i, "status": "PROCESSING", "meal_id": 1000 + i} for i in range(60)], "version": 1}
    stdout = "banner line\nRUNBOOKS_RESULT " + json.dumps(doc) + "\n"
    md = _unit_transcript(tmp_path, command={"step": "s", "command": "django", "mutates": False},
                          command_finished={"step": "s", "command": "django", "command_seq": 3, "exit_code": 0,
                                            "duration_s": 1.0, "stdout": stdout, "stderr": ""})
    assert '  "rows": [' in md and '      "status": "PROCESSING",' in md  # pretty-printed, one key a line
    assert "lines folded (full output in events.jsonl, event 4)" in md  # and folded: 60 rows do not flood it
    assert len(max(md.splitlines(), key=len)) < 200  # no 5 KB line


@pytest.mark.parametrize("names", [("loc",), ("alpha", "beta")])
def test_asciicast_ends_with_the_summary_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               names: tuple[str, ...]) -> None:
    runs = run_tiny(tmp_path, monkeypatch, target=",".join(names), names=names)
    for d in runs:
        me = next(n for n in names if d.name.endswith(f"-{n}"))
        out = re.sub(r"\x1b\[[0-9;]*m", "", cast_output(d / "transcript.cast")).replace("\r\n", "\n")
        tail = out.rstrip("\n").splitlines()[-2:]
        assert tail[0] == f"VERDICT OK (exit 0) on {me}", tail
        assert tail[1].startswith("Transcript: ") and tail[1].endswith(f"-{me}/transcript.md"), tail
        assert out.count("VERDICT OK") == 1  # the summary's verdict line, not a second one
