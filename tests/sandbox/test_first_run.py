"""The README's first command on a machine with no configuration: `inv monitor.p0` brings
the built-in sandbox up on its own, runs every P0 check against it and exits 0."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import inv_env, run_dirs, run_inv


def test_monitor_p0_with_no_config_starts_the_sandbox_and_passes(tmp_path: Path) -> None:
    work = tmp_path / "fresh-checkout"
    work.mkdir()
    env = inv_env(None, work / "transcripts")
    env.pop("RUNBOOKS_SANDBOX_STATE", None)
    env.pop("RUNBOOKS_SANDBOX_INIT_DATA", None)
    try:
        r = run_inv(["monitor.p0", "--json"], env, work, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        doc = json.loads(r.stdout)
        assert doc["target"] == "sandbox" and doc["verdict"] == "ok"
        checked = {f["id"]: f["status"] for f in doc["checks"]}
        # every P0 check was evaluated, the API one included (its credentials came from the sandbox)
        assert checked["api_non_success_photo"] == "ok" and checked["api_failed_meal"] == "ok"
        assert checked["stuck_photos"] == "ok" and checked["cancelled_photo_with_results"] == "ok"
        assert doc["metrics"]["finalized_complete"] > 0  # a seeded day, not an empty one
        assert (work / ".runbooks" / "sandbox" / "bin" / "docker").exists()
        assert len(run_dirs(work / "transcripts")) == 1
        secret = (work / ".runbooks" / "sandbox" / "init-data").read_text().strip()
        assert secret and secret not in r.stdout + r.stderr
        # a second run reuses the running sandbox
        r = run_inv(["monitor.p0"], env, work, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
    finally:
        down = run_inv(["sandbox.down"], env, work)
        assert down.returncode == 0, down.stderr
