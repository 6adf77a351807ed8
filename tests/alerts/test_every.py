"""`monitor.p0 --every` notifies on change only: three scheduled runs over one stuck photo,
one message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.alerts.servers import serve
from tests.helpers import inv_env, run_dirs, run_inv, write_config


def test_every_sends_one_message_for_one_problem(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    photo = sandbox.inject("stuck_photo")["photo_id"]
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": sandbox_target}, default_target="box")
    tr = tmp_path / "transcripts"
    with serve("webhook") as hook:
        env = inv_env(cfg, tr, RUNBOOKS_WEBHOOK_URL=hook.url)
        r = run_inv(["monitor.p0", "--every", "3s", "--for", "6s", "--notify", "webhook"], env, tmp_path, timeout=90)
        assert r.returncode == 2, r.stderr
        assert len([d for d in run_dirs(tr) if "monitor.p0" in d.name]) == 3
        assert len(hook.received) == 1, hook.texts()
        assert "NEW P0 stuck_photos on box" in hook.texts()[0] and f"photo {photo}" in hook.texts()[0]
        assert r.stdout.count(f"[NEW stuck_photos:photo={photo}]") == 2  # the photo and its meal, first run only
        assert f"seen 3x, stuck_photos:photo={photo}" in r.stdout
