"""The `check` kind as pure logic: value against threshold(s) -> a finding. (Over a real
sshd and through the verdict and exit code: test_run_ssh.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from runbooks.blocks.check import _validate, evaluate_check

DF = {"stdout": "Filesystem ... Capacity Mounted on\n/dev/sda1 1 1 1 91% /\n", "exit_code": 0}


def _scope(**extra: Any) -> dict[str, Any]:
    return {"steps": {"df": DF}, "warn": 85, "crit": 95, **extra}


def test_thresholds_pick_the_worst_breached_severity() -> None:
    p = {"id": "disk_usage_high", "title": "disk {{ value }}% (limit {{ threshold }})",
         "value": "steps.df.stdout | regex('([0-9]+)%') | number", "op": ">=",
         "thresholds": {"P0": "crit", "P1": "warn"}, "action": "clean up", "evidence": {"line": "steps.df.stdout | lines | last"}}
    _validate(p)
    f = evaluate_check(p, "usage", _scope()).findings[0]
    assert (f.id, f.severity, f.status, f.value, f.count) == ("disk_usage_high", "P1", "alert", 91, 1)
    assert f.title == "disk 91% (limit 85)" and f.action == "clean up"
    assert f.evidence == [{"line": "/dev/sda1 1 1 1 91% /"}]
    assert f.threshold == "P0 >= 95, P1 >= 85"
    f0 = evaluate_check(p, "usage", _scope(crit=90)).findings[0]
    assert (f0.severity, f0.status) == ("P0", "alert")
    ok = evaluate_check(p, "usage", _scope(warn=92, crit=99))
    assert ok.status == "ok" and ok.findings[0].status == "ok" and ok.findings[0].action == ""


def test_alert_when_and_single_threshold() -> None:
    p = {"id": "http_down", "severity": "P0", "title": "status {{ value }}", "value": "code | number",
         "alert_when": "value >= 500"}
    _validate(p)
    assert evaluate_check(p, "h", {"code": "503"}).findings[0].status == "alert"
    assert evaluate_check(p, "h", {"code": "200"}).findings[0].status == "ok"
    p2 = {"id": "queue_long", "severity": "P2", "title": "t", "value": "n", "threshold": 10}
    assert evaluate_check(p2, "q", {"n": 11}).findings[0].status == "alert"
    assert evaluate_check(p2, "q", {"n": 10}).findings[0].status == "ok"


@pytest.mark.parametrize(("scope", "why"), [
    ({"steps": {}}, "did an earlier step fail or not run"),
    ({"steps": {"df": {"stdout": "no percent here"}}}, "number: not a number"),
])
def test_a_value_that_cannot_be_computed_is_an_error_finding_not_ok(scope: dict[str, Any], why: str) -> None:
    p = {"id": "disk_usage_high", "severity": "P1", "title": "t",
         "value": "steps.df.stdout | regex('([0-9]+)%') | number", "threshold": 85}
    out = evaluate_check(p, "usage", scope)
    assert out.status == "ok"  # never stops the run
    assert out.findings[0].status == "error" and why in out.findings[0].reason
    assert evaluate_check(p, "usage", scope, dry_run=True).findings[0].status == "skipped"


def test_comparing_text_with_a_number_says_to_use_a_filter() -> None:
    p = {"id": "x_high", "severity": "P1", "title": "t", "value": "'85%'", "threshold": 80}
    f = evaluate_check(p, "c", {}).findings[0]
    assert f.status == "error" and "use the number or size filter" in f.reason


@pytest.mark.parametrize(("params", "why"), [
    ({"severity": "P1", "title": "t", "value": "1", "threshold": 1}, "id: required"),
    ({"id": "Bad-Id", "severity": "P1", "title": "t", "value": "1", "threshold": 1}, "id: required"),
    ({"id": "a", "severity": "P3", "title": "t", "value": "1", "threshold": 1}, "severity: required"),
    ({"id": "a", "severity": "P1", "title": "t", "value": "1"}, "give exactly one of"),
    ({"id": "a", "severity": "P1", "title": "t", "value": "1", "threshold": 1, "alert_when": "value"}, "give exactly one"),
    ({"id": "a", "title": "t", "value": "1", "thresholds": {"P4": 1}}, "thresholds: a mapping"),
    ({"id": "a", "severity": "P1", "title": "t", "value": "1 +", "threshold": 1}, "value: invalid expression"),
    ({"id": "a", "severity": "P1", "title": "t", "value": "x | nosuchfilter", "threshold": 1}, "No filter named"),
    ({"id": "a", "severity": "P1", "title": "t", "value": "1", "threshold": 1, "op": "=~"}, "op: one of"),
    ({"id": "a", "severity": "P1", "title": "t", "value": "1", "threshold": 1, "colour": 1}, "colour: unknown"),
])
def test_bad_params_name_the_key(params: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        _validate(params)
