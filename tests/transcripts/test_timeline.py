"""transcripts.timeline: runs merged into one UTC table, each row linked to its run and event."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.transcripts.helpers import local_targets

ROOT = Path(__file__).resolve().parents[2]

FAILING = """\
name: failing
steps:
  - name: boom
    kind: shell
    params: {command: "echo broken >&2; exit 5"}
"""


def _inv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_timeline_merges_runs_in_utc_order_with_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runbooks.app import TaskSpec, run_task

    pb = local_targets(tmp_path, monkeypatch, ("a", "b"))
    bad = tmp_path / "failing.yml"
    bad.write_text(FAILING)
    tdir = tmp_path / "transcripts"
    assert run_task(TaskSpec(task="tiny", playbook=pb, target="a", transcript_dir=str(tdir)), argv=["inv"]) == 0
    assert run_task(TaskSpec(task="failing", playbook=bad, target="b", transcript_dir=str(tdir)), argv=["inv"]) == 2
    out = tmp_path / "pm" / "timeline.md"
    r = _inv("transcripts.timeline", "--since", "1h", "--transcript-dir", str(tdir), "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    rows = [line for line in text.splitlines() if re.match(r"^\| \d{4}-\d\d-\d\dT", line)]
    times = [row.split("|")[1].strip() for row in rows]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)
    tiny = next(d.name for d in tdir.iterdir() if "-tiny-" in d.name)
    failing = next(d.name for d in tdir.iterdir() if "-failing-" in d.name)
    assert any("run **tiny** started" in row and f"[{tiny}](../transcripts/{tiny}/transcript.md) #1" in row
               for row in rows)
    boom = next(row for row in rows if "step boom **FAILED**" in row)
    seq = int(boom.rsplit("#", 1)[1].strip(" |"))
    events = (tdir / failing / "events.jsonl").read_text().splitlines()
    assert '"step_finished"' in events[seq - 1] and '"boom"' in events[seq - 1]  # the row points at its event
    assert any("run finished **FAILED** (exit 2)" in row for row in rows)
    # an old window keeps nothing; a bad window is refused with exit 3
    r2 = _inv("transcripts.timeline", "--since", "2026-01-01T00:00:00Z", "--transcript-dir", str(tdir), cwd=tmp_path)
    assert r2.returncode == 0 and "2 run(s)" in r2.stdout
    r3 = _inv("transcripts.timeline", "--since", "yesterday;rm", "--transcript-dir", str(tdir), cwd=tmp_path)
    assert r3.returncode == 3 and "since" in r3.stderr.lower()
