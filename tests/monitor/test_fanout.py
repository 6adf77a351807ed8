"""Fan-out: a read-only playbook on several targets in parallel, one connection and one
transcript each, the combined verdict the worst; a mutating playbook refuses a group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runbooks.sshd import SshServer
from tests.fixtures.sshd import start_sshd
from tests.helpers import inv_env, run_dirs, run_inv, write_config


def test_group_runs_in_parallel_and_the_worst_verdict_wins(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                          tmp_path: Path) -> None:
    evidence = sandbox.inject("stuck_photo")
    second: SshServer = start_sshd(tmp_path / "sshd2", path_prepend=str(sandbox.paths.bin_dir))
    try:
        relaxed = second.target(**sandbox.target_fields(), monitor={"thresholds": {"stuck_seconds": 86400}})
        cfg = write_config(tmp_path / "runbooks.yaml", {"strict": ssh_sandbox, "relaxed": relaxed},
                           groups={"web": ["strict", "relaxed"]})
        tr = tmp_path / "transcripts"
        env = inv_env(cfg, tr)
        r = run_inv(["monitor.stuck", "--target", "web", "--json"], env, tmp_path)
        assert r.returncode == 2, r.stderr
        doc = json.loads(r.stdout)
        assert doc["verdict"] == "p0" and doc["exit_code"] == 2 and doc["target"] == "strict,relaxed"
        runs = {run["target"]: run for run in doc["runs"]}
        assert runs["strict"]["exit_code"] == 2 and runs["relaxed"]["exit_code"] == 0
        stuck = next(f for f in runs["strict"]["findings"] if f["id"] == "stuck_photos")
        assert stuck["evidence"][0]["photo_id"] == evidence["photo_id"]
        assert sorted(d.name.rsplit("-", 1)[-1] for d in run_dirs(tr)) == ["relaxed", "strict"]
        assert second.accepted_auths() == 1  # one connection per target per run
        # a mutating playbook refuses more than one target, before connecting
        r = run_inv(["rollback", "--commit", "a" * 40, "--target", "web", "--yes"], env, tmp_path)
        assert r.returncode == 3 and "one target" in r.stderr
        assert second.accepted_auths() == 1
    finally:
        second.stop()
