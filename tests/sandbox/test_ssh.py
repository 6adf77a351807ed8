"""The sandbox through a real OpenSSH sshd: the shim is what `docker` means over SSH."""

from __future__ import annotations

import subprocess
from typing import Any


def test_docker_ps_over_real_ssh(ssh_sandbox: dict[str, Any]) -> None:
    t = ssh_sandbox
    r = subprocess.run(["ssh", "-i", t["identity_file"], "-o", f"UserKnownHostsFile={t['known_hosts']}",
                        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", str(t["port"]),
                        f"{t['user']}@{t['host']}", "docker ps --format '{{.Names}} {{.State}}'"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"{t['containers']['worker']} running" in r.stdout.splitlines()
    assert t["project_dir"] and t["api"]["base_url"].startswith("http://127.0.0.1:")
