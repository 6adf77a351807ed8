"""Connect first: a read-only task's connection is opened in the background while the rest
loads, and it is the run's ONE connection (never a second login); it goes where ssh_config
says, so an alias or a ProxyJump is never bypassed; its socket sends small messages at once
(TCP_NODELAY)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from runbooks.config import load_config
from runbooks.connectors import connect, early
from runbooks.sshd import SshServer
from tests.helpers import inv_env, run_inv, write_config


def _target(tmp_path: Path, sshd: SshServer, **extra: object) -> dict[str, object]:
    (tmp_path / "p").mkdir(exist_ok=True)
    return sshd.target(project_dir=str(tmp_path / "p"), containers={"backend": "b", "worker": "w"},
                       role="staging", confirm="yes", **extra)


def test_the_early_connection_is_the_runs_one_connection(tmp_path: Path, sshd: SshServer) -> None:
    cfg = write_config(tmp_path / "r.yaml", {"box": _target(tmp_path, sshd)}, default_target="box")
    r = run_inv(["doctor", "--target", "box", "--json"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode in (0, 2, 3) and '"verdict"' in r.stdout, r.stderr
    assert sshd.accepted_auths() == 1


def test_a_run_that_cannot_be_recorded_never_logs_in(tmp_path: Path, sshd: SshServer) -> None:
    cfg = write_config(tmp_path / "r.yaml", {"box": _target(tmp_path, sshd)}, default_target="box")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # the transcript dir cannot be created: refused, exit 3
    r = run_inv(["monitor.p0", "--target", "box", "--transcript-dir", str(blocker / "tr")],
                inv_env(cfg, tmp_path / "tr"), tmp_path, timeout=60)
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr
    assert sshd.accepted_auths() == 0  # a run that cannot be recorded never logs in


def test_the_connection_sends_small_messages_at_once(tmp_path: Path, sshd: SshServer) -> None:
    cfg = write_config(tmp_path / "r.yaml", {"box": _target(tmp_path, sshd)})
    target = load_config(cfg).target("box")
    early.start(target)
    conn = connect(target)  # the one started above
    try:
        sock = conn._transport.sock  # type: ignore[attr-defined]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert conn.run("echo hi", timeout=10).stdout == "hi\n"
    finally:
        conn.close()
    assert sshd.accepted_auths() == 1


@pytest.mark.parametrize("config, routed", [
    ("Host *\n    SendEnv LANG LC_*\n    HashKnownHosts yes\n", True),
    ("Host prod\n    HostName 10.0.0.5\n", False),
    ("Host *\n    ProxyJump bastion\n", False),
    ("Match host x\n    User y\n", False),
    ("# Port 2222\n#   ProxyCommand nc %h %p\n", True),
])
def test_it_connects_early_only_where_ssh_config_cannot_route_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       config: str, routed: bool) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(config)
    monkeypatch.setenv("HOME", str(home))
    cfg = tmp_path / "r.yaml"
    cfg.write_text(yaml.safe_dump({"targets": {"prod": {"host": "prod", "port": 2200, "user": "u",
                                                        "project_dir": "/srv", "containers": {"backend": "b",
                                                                                              "worker": "w"}}}}))
    target = load_config(cfg).target("prod")
    expected = ("prod", 2200) if routed else None
    if routed and early.destination(target) is None:  # the machine's own /etc/ssh/ssh_config routes
        pytest.skip("this machine's /etc/ssh/ssh_config sets HostName/Port/Proxy* for every host")
    assert early.destination(target) == expected


@pytest.mark.parametrize("flags", [["--since", "yesterday-ish"], ["--tail", "-5"]])
def test_a_monitor_task_with_a_bad_flag_never_logs_in(tmp_path: Path, sshd: SshServer, flags: list[str]) -> None:
    """The flags are checked before the handshake starts (the registry of checks loads after)."""
    cfg = write_config(tmp_path / "r.yaml", {"box": _target(tmp_path, sshd)}, default_target="box")
    r = run_inv(["monitor.p0", "--target", "box", "--json", *flags], inv_env(cfg, tmp_path / "tr"), tmp_path, timeout=60)
    assert r.returncode == 3, r.stderr
    assert flags[0] in r.stderr and "Traceback" not in r.stderr
    assert '"verdict": "error"' in r.stdout
    assert sshd.accepted_auths() == 0
