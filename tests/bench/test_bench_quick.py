"""Smoke test of the benchmark: `python bench/run.py --quick` runs end to end against the
sandbox behind real sshds, and the baseline is real: every checklist command, pasted over
ssh, ran and answered (no ImportError/FieldError/Traceback, Django shells printed their
counts, the log greps found the markers the traffic wrote)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.sshd import require_sshd

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_runs_and_the_checklist_baseline_is_real(tmp_path: Path) -> None:
    require_sshd()
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())

    ck = data["part12"]["checklist"][0]
    assert ck["failures"] == []
    rows = {r["label"]: r for r in ck["rows"]}
    assert ck["commands"] == len(rows) == 23
    assert ck["ssh_sessions"] == 21 and ck["django_boots"] == 3  # counted by the host, not by us
    for label in ("stuck photos/meals (Django shell)", "CANCELLED/FAILED photos with items (Django shell)",
                  "CancelEvent table (Django shell)", "finalized COMPLETE count", "all cancel events"):
        assert rows[label]["exit"] == 0 and rows[label]["stdout_bytes"] > 0, label

    mon = data["part12"]["monitor_all"][0]
    assert mon["ssh_sessions"] == mon["remote_commands"] == 3 and mon["django_boots"] == 1
    assert data["part12"]["ansible_monitor_cmds"][0]["django_boots"] == 1
    assert data["part4"]["p0_fleet"][0]["ssh_sessions"] == 2 * data["part4"]["p0_one"][0]["ssh_sessions"]
    big = data["part5"]["full"][0]
    assert 0 < big["wire_in"] < data["biglog"]["bytes"]

    md = (out / "results.md").read_text()
    assert md.startswith("# runbooks benchmark results") and "## Summary" in md and "| 6 |" in md
