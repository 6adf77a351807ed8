"""Each behaviour the real eatfit24 backend showed, reproduced by the sandbox and judged by
the monitor over a real sshd: exactly the expected verdict, exit code, finding ids and
evidence ids; and the look-alike healthy case beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .test_sandbox_integration import alerts, remote_commands, run_monitor


def test_handled_ai_upstream_errors_are_a_rate_never_a_p0(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                          tmp_path: Path) -> None:
    sandbox.traffic(seed=9, meals=40, hours=12)
    injected = sandbox.inject("ai_upstream_errors")
    res, events = run_monitor(ssh_sandbox, "monitor.all", tmp_path)
    assert res.exit_code in (0, 1) and res.verdict != "p0", res.message
    found = alerts(res)
    assert "finalization_exception" not in found
    rate = found["ai_upstream_error_rate_high"]
    assert rate.severity == "P1" and rate.count >= len(injected["photo_ids"])
    assert set(injected["photo_ids"]) <= {e["photo_id"] for e in rate.evidence}
    assert res.metrics["ai_upstream_errors"] >= len(injected["photo_ids"])
    assert remote_commands(events) <= 2 + 2  # containers + 2


def test_cancelled_photo_resurrected_is_p0_with_its_ids(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                        tmp_path: Path) -> None:
    sandbox.traffic(seed=4, meals=30, hours=12)
    res, _ = run_monitor(ssh_sandbox, "monitor.p0", tmp_path)
    assert res.exit_code == 0, res.message  # the look-alike: cancels that stayed cancelled
    injected = sandbox.inject("cancelled_photo_resurrected")
    res, _ = run_monitor(ssh_sandbox, "monitor.p0", tmp_path)
    assert (res.verdict, res.exit_code) == ("p0", 2), res.message
    f = alerts(res)["cancelled_photo_resurrected"]
    assert f.count == 1 and f.evidence[0]["photo_id"] == injected["photo_id"]
    assert f.evidence[0]["meal_id"] == injected["meal_id"]
    assert f.evidence[0]["source"] == "db+logs" and f.evidence[0]["cancel_event_id"] == injected["cancel_event_id"]


def test_legacy_cancel_resurrection_is_found_from_the_logs(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                           tmp_path: Path) -> None:
    injected = sandbox.inject("legacy_cancel_resurrected")
    res, _ = run_monitor(ssh_sandbox, "monitor.p0", tmp_path)
    assert res.exit_code == 2, res.message
    f = alerts(res)["cancelled_photo_resurrected"]
    assert [e["photo_id"] for e in f.evidence] == [injected["photo_id"]]
    assert f.evidence[0]["cancel_line"].startswith("legacy")


def test_backend_500_with_traceback_is_a_finding(ssh_sandbox: dict[str, Any], sandbox: Any, tmp_path: Path) -> None:
    sandbox.inject("backend_500")
    res, _ = run_monitor(ssh_sandbox, "monitor.errors", tmp_path)
    assert (res.verdict, res.exit_code) == ("warn", 1), res.message
    f = alerts(res)["backend_server_error"]
    assert f.count == 1 and f.evidence[0]["path"] == "/api/v1/ai/recognize/"
    assert "IntegrityError" in f.evidence[0]["exception"]
    assert "finalization_exception" not in alerts(res)


def test_broken_django_shell_with_a_real_stuck_photo_is_never_ok(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                                 tmp_path: Path) -> None:
    injected = sandbox.inject("stuck_photo")
    sandbox.inject("schema_changed")
    res, _ = run_monitor(ssh_sandbox, "monitor.p0", tmp_path)
    assert res.exit_code != 0 and res.verdict in ("unknown", "p0"), res.message
    # the verdict line names what failed, and how much of the run it left standing
    assert ("db failed" in res.message or "db partly failed" in res.message) and "FieldError" in res.message
    ran, total = res.message.split(" P0 checks ran")[0].split("/")
    assert int(ran) < int(total) == 8
    assert res.coverage["db"]["status"] in ("partial", "error")
    failed = [f for f in res.findings if f.status == "error"]
    assert failed and all("FieldError" in f.reason for f in failed)
    stuck = next(f for f in res.findings if f.id == "stuck_photos")
    # either its query survived the schema change and found the photo (P0), or it is an error (unknown)
    assert (stuck.status, res.exit_code) in {("alert", 2), ("error", 3)}
    if stuck.status == "alert":
        assert stuck.evidence[0]["photo_id"] == injected["photo_id"]


def test_batch_cancel_that_does_not_finalize_is_found(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                      tmp_path: Path) -> None:
    injected = sandbox.inject("cancel_no_finalize")
    res, _ = run_monitor(ssh_sandbox, "monitor.all", tmp_path)
    assert res.exit_code == 2, res.message
    stuck = alerts(res)["stuck_meals"]
    assert [e["meal_id"] for e in stuck.evidence] == [injected["meal_id"]]
    assert stuck.evidence[0]["reason"] == "all_photos_terminal"
    visible = alerts(res)["cancelled_meal_visible"]
    assert [e["meal_id"] for e in visible.evidence] == [injected["meal_id"]]
