"""A problem that grows (count at least doubled since the team was told) is told once more,
as an escalation; staying at that size is ongoing again (no message)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.alerts.servers import serve
from tests.helpers import inv_env, run_inv, write_config


def test_doubled_count_escalates_once(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    first = sandbox.inject("stuck_photo")["photo_id"]
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": sandbox_target}, default_target="box")
    with serve("webhook") as hook:
        env = inv_env(cfg, tmp_path / "transcripts", RUNBOOKS_WEBHOOK_URL=hook.url)
        assert run_inv(["monitor.p0", "--notify", "webhook"], env, tmp_path).returncode == 2
        sandbox.inject("stuck_photo")
        r = run_inv(["monitor.p0", "--notify", "webhook"], env, tmp_path)
        assert r.returncode == 2 and len(hook.received) == 2, hook.texts()
        text = hook.texts()[1]
        assert text.startswith("🟠 ESCALATED P0 stuck_photos on box") and "count 1 -> 2" in text
        assert f"stuck_photos:photo={first}" in text  # the same problem, under the key it was first told by
        assert run_inv(["monitor.p0", "--notify", "webhook"], env, tmp_path).returncode == 2
        assert len(hook.received) == 2
