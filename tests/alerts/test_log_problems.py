"""A logged finalization exception is one problem across runs (keyed by its normalised
first line), on the sandbox's real log format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import inv_env, run_inv, write_config


def test_same_exception_in_later_runs_is_ongoing(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    sandbox.inject("finalization_exception")
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": sandbox_target}, default_target="box")
    env = inv_env(cfg, tmp_path / "transcripts")
    states = []
    for _ in range(2):
        r = run_inv(["monitor.p0", "--json"], env, tmp_path)
        assert r.returncode == 2, r.stderr
        doc = json.loads(r.stdout)
        fin = next(f for f in doc["findings"] if f["id"] == "finalization_exception")
        states.append(fin["alert"])
    assert states[0]["state"] == "new" and states[1]["state"] == "ongoing"
    assert states[0]["key"] == states[1]["key"]
    assert states[0]["key"].startswith("finalization_exception:log=")
