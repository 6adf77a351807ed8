"""`inv report` on a sandbox day: a baseline of earlier runs, then one injected P0 fault
(a stuck photo). That criterion FAILs with its evidence; the others PASS or are manual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from runbooks.transcripts.verify import verify_run

ROOT = Path(__file__).resolve().parents[2]


def _report(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "report", "--target", "sb", *flags],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)


def test_report_fails_the_injected_p0_criterion_only(sandbox: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.traffic(meals=60)
    (tmp_path / "runbooks.yaml").write_text(yaml.safe_dump({"targets": {"sb": sandbox.target()}}))
    monkeypatch.setenv("RUNBOOKS_CONFIG", str(tmp_path / "runbooks.yaml"))
    tdir = tmp_path / "transcripts"
    # Earlier runs of the day build the race-guard baseline (3 runs: min_history).
    for _ in range(3):
        r = _report(tmp_path, "--transcript-dir", str(tdir))
        assert r.returncode in (0, 1), r.stdout + r.stderr
    injected = sandbox.inject("stuck_photo")
    out = tmp_path / "postmortem" / "report.md"
    r = _report(tmp_path, "--transcript-dir", str(tdir), "--out", str(out), "--json")
    assert r.returncode == 2, r.stderr[-3000:]
    doc = json.loads(r.stdout)
    status = {c["id"]: c["status"] for c in doc["criteria"]}
    assert status.pop("no_stuck") == "FAIL"
    assert status.pop("frontend_photos") == status.pop("no_complaints") == "MANUAL"
    assert set(status.values()) == {"PASS"}, status  # including the race guard: baseline established
    stuck = next(c for c in doc["criteria"] if c["id"] == "no_stuck")
    assert stuck["severity"] == "P0"
    photo_id = injected.get("photo_id") or (injected.get("photo_ids") or [None])[0]
    items = [i for e in stuck["evidence"] for i in e["items"]]
    assert any(i.get("photo_id") == photo_id or i.get("id") == photo_id for i in items), (injected, items)

    md = out.read_text()
    assert "> **FAIL** (exit code 2)" in md
    assert "| ❌ | No stuck photos/meals in PROCESSING | **FAIL** (P0) |" in md
    assert "- [ ] **Frontend shows correct photos (only SUCCESS)**" in md
    assert "- [ ] **No user complaints about \"photos disappearing\"**" in md
    assert "Earlier monitor runs in the window | 3 transcript(s)" in md
    # links are relative to the report file and resolve to the real transcripts
    links = [ln.split("](", 1)[1].split(")", 1)[0] for ln in md.splitlines() if "](" in ln]
    assert links and all(not link.startswith("/") for link in links)
    for link in set(links):
        assert (out.parent / link).is_file(), link
    fresh = out.parent / stuck["transcripts"][0]
    assert verify_run(fresh.parent).status == "intact"
    assert sandbox.init_data not in md and sandbox.init_data not in (fresh.parent / "events.jsonl").read_text()


def test_report_bad_input_is_one_line_and_exit_3(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "report", "--since", "24h; rm -rf /",
                        "--target", "nope"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 3
    assert len(r.stderr.strip().splitlines()) == 1 and "since" in r.stderr.lower()
    assert not (tmp_path / "transcripts").exists()  # nothing half-ran
