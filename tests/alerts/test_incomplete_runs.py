"""A run whose facts were incomplete (a configured source failed) neither sees nor resolves
problems it could not check: the fix is only announced by a run that could see it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.alerts.servers import closed_port, serve
from tests.alerts.test_over_time_ssh import fix_stuck_photo
from tests.helpers import inv_env, run_inv, write_config


def test_failed_source_does_not_resolve(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    first = sandbox.inject("stuck_photo")
    key = f"stuck_photos:photo={first['photo_id']}"
    good = write_config(tmp_path / "good.yaml", {"box": sandbox_target}, default_target="box")
    broken_api = {**sandbox_target, "api": {**sandbox_target["api"], "base_url": closed_port().rsplit("/", 1)[0]}}
    broken = write_config(tmp_path / "broken.yaml", {"box": broken_api}, default_target="box")
    tr = tmp_path / "transcripts"
    with serve("webhook") as hook:
        env = inv_env(good, tr, RUNBOOKS_WEBHOOK_URL=hook.url, RUNBOOKS_SANDBOX_INIT_DATA=sandbox.init_data)
        r = run_inv(["monitor.p0", "--json", "--notify", "webhook"], env, tmp_path)
        assert r.returncode == 2 and len(hook.received) == 1
        api = next(f for f in json.loads(r.stdout)["checks"] if f["id"] == "api_failed_meal")
        assert api["status"] == "ok"  # the API source is configured and works

        fix_stuck_photo(sandbox, first)
        env_broken = {**env, "RUNBOOKS_CONFIG": str(broken)}
        r = run_inv(["monitor.p0", "--json", "--notify", "webhook"], env_broken, tmp_path)
        doc = json.loads(r.stdout)
        assert doc["verdict"] != "ok" and r.returncode in (2, 3), r.stderr  # the API source failed
        assert doc["resolved"] == [] and doc["alerts"]["mode"] in ("partial", "none")
        assert len(hook.received) == 1  # nothing told: the run could not see everything
        listed = json.loads(run_inv(["alerts.list", "--json"], env, tmp_path).stdout)
        assert [p["key"] for p in listed["problems"]] == [key]

        r = run_inv(["monitor.p0", "--json", "--notify", "webhook"], env, tmp_path)
        doc = json.loads(r.stdout)
        assert r.returncode == 0 and [x["key"] for x in doc["resolved"]] == [key]
        assert len(hook.received) == 2 and "RESOLVED" in hook.texts()[1]
