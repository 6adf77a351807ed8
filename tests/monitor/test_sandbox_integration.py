"""The monitor through the real runner against the sandbox (local transport, and once over
a real sshd): each fault -> the right finding, severity, exact count, evidence ids, exit
code; remote command count read from the transcript; counts equal the ground truth."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from runbooks.config import parse_target
from runbooks.console import Out
from runbooks.model import RunResult
from runbooks.monitor.sections import run_vars
from runbooks.playbook import load_playbook
from runbooks.redact import Redactor
from runbooks.runner import RunOptions, run_playbook

pytest.importorskip("runbooks.sandbox.core")


def run_monitor(target_map: dict[str, Any], task: str, tmp_path: Path, **vars_: Any) -> tuple[RunResult, list[dict[str, Any]]]:
    target = parse_target("sandbox", target_map, "test")
    opts = RunOptions(task=task, vars=run_vars(task, **vars_), transcript_dir=tmp_path / "transcripts",
                      yes=True, interactive=False)
    res = run_playbook(load_playbook("monitor"), target, opts, Out(json_mode=True, stream=io.StringIO()),
                       Redactor(target.secrets()))
    events_path = Path(res.transcript).parent / "events.jsonl"
    events = [json.loads(x) for x in events_path.read_text().splitlines() if x.strip()]
    return res, events


def remote_commands(events: list[dict[str, Any]]) -> int:
    return sum(1 for e in events if e["type"] == "command")


def alerts(res: RunResult) -> dict[str, Any]:
    return {f.id: f for f in res.findings if f.status == "alert"}


def test_healthy_day_exit_0_and_counts_match_ground_truth(sandbox: Any, sandbox_target: dict[str, Any],
                                                          tmp_path: Path) -> None:
    sandbox.traffic(seed=7, meals=60, hours=20)
    truth = sandbox.ground_truth()
    res, events = run_monitor(sandbox_target, "monitor.all", tmp_path)
    assert res.exit_code == 0, (res.message, [f.to_dict() for f in res.findings if f.status == "alert"])
    assert remote_commands(events) <= 2 + 1
    w = truth["logs"]["worker"]
    assert res.metrics["finalized_complete"] == w["finalized_complete"] == truth["db"]["meals"]["COMPLETE"]
    assert res.metrics["finalized_failed"] == w["finalized_failed"]
    assert res.metrics["race_guard_cancelled"] == w["race_guard_cancelled"]
    assert res.metrics["cancel_log_received"] == truth["logs"]["cancel"]["RECEIVED"]
    assert res.metrics["cancel_events_total"] == truth["db"]["cancel_events"]
    ids = {f.id for f in res.findings}
    assert {"stuck_photos", "api_non_success_photo", "cancel_not_applied", "race_guard_spike"} <= ids
    assert {f.status for f in res.findings if f.id == "race_guard_spike"} == {"no_baseline"}


def test_quiet_day_exit_0_ratios_na(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    res, events = run_monitor(sandbox_target, "monitor.all", tmp_path)
    assert res.exit_code == 0, res.message
    assert res.metrics["failed_ratio"] is None and res.metrics["cancel_duplicate_ratio"] is None
    assert res.metrics["cancel_events_total"] == 0 and res.metrics["cancel_events_noop_ratio"] is None
    assert remote_commands(events) == 3


@pytest.mark.parametrize("fault,finding,severity,task,exit_code", [
    ("stuck_photo", "stuck_photos", "P0", "monitor.stuck", 2),
    ("stuck_meal", "stuck_meals", "P0", "monitor.stuck", 2),
    ("cancelled_photo_with_results", "cancelled_photo_with_results", "P0", "monitor.api", 2),
    ("failed_photo_with_results", "failed_photo_with_results", "P1", "monitor.api", 1),
    ("serializer_leak", "api_non_success_photo", "P0", "monitor.api", 2),
    ("cancel_not_applied", "cancel_not_applied", "P0", "monitor.cancel-events", 2),
    ("duplicate_storm", "cancel_duplicate_rate_high", "P1", "monitor.cancel-events", 1),
    ("finalization_exception", "finalization_exception", "P0", "monitor.finalization", 2),
    ("failed_spike", "failed_ratio_high", "P1", "monitor.finalization", 1),
])
def test_fault_is_found(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path, fault: str, finding: str,
                        severity: str, task: str, exit_code: int) -> None:
    sandbox.traffic(seed=3, meals=30, hours=20)
    evidence = sandbox.inject(fault)
    res, events = run_monitor(sandbox_target, task, tmp_path)
    got = alerts(res)
    assert finding in got, (fault, res.message, [f.to_dict() for f in res.findings])
    f = got[finding]
    assert f.severity == severity and f.count >= 1 and f.evidence and f.action
    assert res.exit_code == exit_code, (res.message, sorted(got))
    assert remote_commands(events) <= 3
    if "photo_id" in evidence and finding in ("stuck_photos", "cancelled_photo_with_results", "api_non_success_photo"):
        assert evidence["photo_id"] in {e.get("photo_id") for e in f.evidence}


def test_api_rejection_is_skipped_never_passed(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    """Whatever the API answers, api_failed_meal is either evaluated or `skipped` with a reason."""
    sandbox.inject("failed_meal_in_api")
    res, _ = run_monitor(sandbox_target, "monitor.api", tmp_path)
    f = next(x for x in res.findings if x.id == "api_failed_meal")
    assert f.status in ("alert", "skipped")
    if f.status == "skipped":
        assert f.reason.startswith("API not checked")
    else:
        assert f.severity == "P0" and res.exit_code == 2


def test_p0_over_real_ssh(ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path) -> None:
    evidence = sandbox.inject("stuck_photo")
    res, events = run_monitor(ssh_sandbox, "monitor.p0", tmp_path)
    f = alerts(res)["stuck_photos"]
    assert (f.count, res.exit_code) == (1, 2)
    assert f.evidence[0]["photo_id"] == evidence["photo_id"]
    assert remote_commands(events) == 2  # worker log scan + Django shell (p0 needs no backend log)
