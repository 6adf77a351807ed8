"""Smoke test of the benchmark: `python bench/run.py --quick` runs end to end against the
sandbox behind real sshds and the latency relay, and its baselines are real: every
checklist command, pasted over ssh (alone and through a ControlMaster), ran and answered;
monitor.all made its 3 remote commands with one Django boot; the fan-out reached every
light host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.sshd import require_sshd

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_runs_and_the_baselines_are_real(tmp_path: Path) -> None:
    require_sshd()
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out),
                           "--parts", "12,4,6"], capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())

    at = data["part12"]["30"]
    for way in ("by_hand", "control_master"):
        s = at[way][0]
        assert s["failures"] == [] and s["commands"] == 23, (way, s["failures"])
    mon = at["monitor_all"][0]
    assert mon["ssh_sessions"] == mon["remote_commands"] == 3 and mon["django_boots"] == 1
    floor = at["floor"][0]
    assert floor["connect_s"] >= 5 * 0.030  # the relay's round trips are really paid
    # the floor did monitor.all's remote work (each command answered exit 0, or the bench
    # stops), after its handshake; one sample of each is too few to compare their walls
    # on a busy machine (the Django boot alone varies by a few tenths of a second)
    assert floor["commands"] == mon["remote_commands"] and floor["wall_s"] > floor["connect_s"]

    p4 = data["part4"]
    for task in ("doctor", "p0"):
        assert len(p4[f"{task}_2"]) == len(p4[f"{task}_1"]) == 1

    md = (out / "results.md").read_text()
    assert md.startswith("# runbooks benchmark results") and "## Targets" in md and "RTT 30 ms" in md
