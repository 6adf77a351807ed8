"""Item 2: every SSH hop is verified. With ProxyJump in ssh_config, Fabric builds the jump
host's Connection with its auto-add policy, so an unknown (or swapped) jump host key was
accepted silently. Real sshds on 127.0.0.1: a jump host allowing direct-tcpip, a target."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbooks.sshd import SshServer
from tests.fixtures.sshd import start_sshd
from tests.helpers import events, inv_env, run_dirs, run_inv, write_config, write_playbook


@pytest.fixture
def jump(tmp_path: Path) -> Iterator[SshServer]:
    srv = start_sshd(tmp_path / "jump-sshd", allow_tcp_forwarding=True)
    yield srv
    srv.stop()


def _sha256(pub: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def _setup(tmp_path: Path, jump: SshServer, target: SshServer, known: str) -> tuple[dict[str, str], Path, Path]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    kh = home / ".ssh" / "known_hosts_ops"
    kh.write_text(known)
    (home / ".ssh" / "config").write_text(
        f"Host jumpbox\n  HostName 127.0.0.1\n  Port {jump.port}\n  User {jump.user}\n"
        f"  IdentityFile {jump.identity_file}\n  UserKnownHostsFile {kh}\n"
        f"Host eatfit-prod\n  HostName 127.0.0.1\n  Port {target.port}\n  User {target.user}\n"
        f"  IdentityFile {target.identity_file}\n  UserKnownHostsFile {kh}\n  ProxyJump jumpbox\n"
    )
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    cfg = write_config(tmp_path / "runbooks.yaml", {"prod": {"host": "eatfit-prod", "project_dir": str(project),
                                                             "containers": {"backend": "b", "worker": "w"},
                                                             "confirm": "yes", "role": "staging"}})
    marker = project / "ran"
    pb = write_playbook(tmp_path / "pb.yml", "touch", [{"name": "touch", "kind": "shell",
                                                        "params": {"command": f"touch {marker}"}}])
    return inv_env(cfg, tmp_path / "tr", HOME=str(home)), pb, marker


@pytest.mark.parametrize("json_flag", [False, True])
def test_unknown_jump_host_key_is_refused_and_nothing_runs(tmp_path: Path, jump: SshServer, sshd: SshServer,
                                                           json_flag: bool) -> None:
    # The operator's known_hosts knows the target, not the jump host.
    env, pb, marker = _setup(tmp_path, jump, sshd, sshd.known_hosts.read_text())
    r = run_inv(["play", "--playbook", str(pb), "--target", "prod", *(["--json"] if json_flag else [])], env, tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr
    assert f"unknown host key for jump host [127.0.0.1]:{jump.port}" in r.stderr
    assert _sha256(jump.host_key.with_suffix(".pub")) in r.stderr  # names the key offered
    assert not marker.exists()
    assert jump.accepted_auths() == 0  # refused before authenticating to the jump host
    assert sshd.accepted_auths() == 0
    assert "jump" not in (tmp_path / "home" / ".ssh" / "known_hosts_ops").read_text()  # never auto-added
    assert (tmp_path / "home" / ".ssh" / "known_hosts_ops").read_text() == sshd.known_hosts.read_text()
    if json_flag:
        import json

        assert json.loads(r.stdout)["exit_code"] == 3


def test_changed_jump_host_key_is_refused(tmp_path: Path, jump: SshServer, sshd: SshServer) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, blob = other.with_suffix(".pub").read_text().split()[:2]
    env, pb, marker = _setup(tmp_path, jump, sshd, sshd.known_hosts.read_text() + f"[127.0.0.1]:{jump.port} {kind} {blob}\n")
    r = run_inv(["play", "--playbook", str(pb), "--target", "prod"], env, tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr
    assert f"HOST KEY CHANGED for jump host [127.0.0.1]:{jump.port}" in r.stderr
    assert not marker.exists() and sshd.accepted_auths() == 0


def test_known_jump_host_connects_and_every_hop_is_recorded(tmp_path: Path, jump: SshServer, sshd: SshServer) -> None:
    env, pb, marker = _setup(tmp_path, jump, sshd, sshd.known_hosts.read_text() + jump.known_hosts.read_text())
    r = run_inv(["play", "--playbook", str(pb), "--target", "prod", "--json"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert marker.exists()
    assert jump.accepted_auths() == 1 and sshd.accepted_auths() == 1  # really went through the jump host
    connected = next(e for e in events(run_dirs(tmp_path / "tr")[0]) if e["type"] == "connected")
    assert connected["host_key"] == f"ssh-ed25519 {_sha256(sshd.host_key.with_suffix('.pub'))}"
    assert connected["hops"] == [{"address": f"{jump.user}@127.0.0.1:{jump.port}",
                                  "host_key": f"ssh-ed25519 {_sha256(jump.host_key.with_suffix('.pub'))}"}]


def test_jump_host_refusing_forwarding_is_one_line_exit_3(tmp_path: Path, sshd: SshServer) -> None:
    closed = start_sshd(tmp_path / "closed-jump")  # AllowTcpForwarding no
    try:
        env, pb, marker = _setup(tmp_path, closed, sshd, sshd.known_hosts.read_text() + closed.known_hosts.read_text())
        r = run_inv(["play", "--playbook", str(pb), "--target", "prod"], env, tmp_path)
    finally:
        closed.stop()
    assert r.returncode == 3, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert not marker.exists() and sshd.accepted_auths() == 0
    assert "did not open a channel" in lines[0] and "TCP forwarding" in lines[0]
