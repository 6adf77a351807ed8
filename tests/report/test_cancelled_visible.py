"""`inv report`'s "Cancelled meals not visible in diary" can fail: a meal whose photos were
all cancelled (batch cancel, tasks revoked, nothing finalized it) stays PROCESSING and
shows in the diary as an empty card, though no FAILED meal ever reaches the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .test_report import _report


def test_cancelled_meal_left_processing_fails_the_criterion(sandbox: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.traffic(meals=30)
    (tmp_path / "runbooks.yaml").write_text(yaml.safe_dump({"targets": {"sb": sandbox.target()}}))
    monkeypatch.setenv("RUNBOOKS_CONFIG", str(tmp_path / "runbooks.yaml"))
    r = _report(tmp_path, "--transcript-dir", str(tmp_path / "t1"), "--json")
    doc = json.loads(r.stdout)
    hidden = next(c for c in doc["criteria"] if c["id"] == "cancelled_meals_hidden")
    assert hidden["status"] == "PASS", hidden  # the look-alike: cancels that were finalized
    injected = sandbox.inject("stuck_meal")
    r = _report(tmp_path, "--transcript-dir", str(tmp_path / "t2"), "--json")
    assert r.returncode == 2, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    hidden = next(c for c in doc["criteria"] if c["id"] == "cancelled_meals_hidden")
    assert hidden["status"] == "FAIL", hidden
    items = [i for e in hidden["evidence"] for i in e["items"]]
    assert [i["meal_id"] for i in items] == [injected["meal_id"]] and items[0]["status"] == "PROCESSING"
