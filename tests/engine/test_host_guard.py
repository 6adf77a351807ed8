"""The host-side kill guarantee without a `timeout` process per command: a command whose
client can no longer reach the host (the link vanished, neither end noticed) is killed ON
THE HOST by the connection's guard at its deadline + grace; the guard leaves, with its
directory, once the connection has ended; and the command itself is one shell, the
session's own process group leader."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import yaml

from bench.proxy import LatencyRelay
from runbooks.config import Target, load_config
from runbooks.connectors.hostguard import BACKSTOP_GRACE
from runbooks.connectors.ssh import SshConnector
from runbooks.sshd import SshServer
from tests.helpers import wait_for


def _target(tmp_path: Path, sshd: SshServer, port: int | None = None, known_hosts: Path | None = None) -> Target:
    t = sshd.target(project_dir=str(tmp_path), containers={"backend": "b", "worker": "w"})
    if port is not None:
        t.update(port=port, known_hosts=str(known_hosts))
    cfg = tmp_path / "runbooks.yaml"
    cfg.write_text(yaml.safe_dump({"targets": {"box": t}}))
    return load_config(cfg).target("box")


def _alive(marker: str) -> bool:
    r = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return any(p and int(p) != os.getpid() for p in r.stdout.split())


def _guard_dir(sshd_pid: int) -> Path:
    return Path.home() / ".cache" / "runbooks" / f"guard-{sshd_pid}"


def test_a_command_whose_link_vanished_is_killed_on_the_host_by_the_guard(tmp_path: Path, sshd: SshServer) -> None:
    relay = LatencyRelay(sshd.port)
    kh = tmp_path / "relay_known_hosts"
    kind, blob = sshd.host_key.with_suffix(".pub").read_text().split()[:2]
    kh.write_text(f"[127.0.0.1]:{relay.port} {kind} {blob}\n")
    conn = SshConnector(_target(tmp_path, sshd, relay.port, kh))
    conn.open()
    marker = f"sleep {383 + os.getpid() % 7}"
    started = threading.Event()

    def hang() -> None:
        try:
            conn.run(f"echo up; {marker}", timeout=1, on_output=lambda s, t: started.set())
        except BaseException:  # noqa: BLE001 - the client cannot reach the host any more
            pass

    threading.Thread(target=hang, daemon=True).start()
    assert started.wait(20), "the command never started"
    relay.blackhole()  # the client's timeout kill can no longer reach the host
    t0 = time.monotonic()
    assert _alive(marker)
    wait_for(lambda: not _alive(marker), timeout=BACKSTOP_GRACE + 15, what="the guard to kill the lost command")
    assert time.monotonic() - t0 >= BACKSTOP_GRACE - 2  # at its deadline + grace, not before
    relay.close()


def test_the_guard_leaves_with_its_directory_when_the_connection_ends(tmp_path: Path, sshd: SshServer) -> None:
    conn = SshConnector(_target(tmp_path, sshd))
    conn.open()
    r = conn.run("echo $PPID; ps -o pgid= -p $$; echo $$", timeout=30)
    sshd_pid, pgid, pid = (int(x) for x in r.stdout.split())
    assert pgid == pid  # the command is the session's own process group leader: one shell, no wrapper process
    guard = _guard_dir(sshd_pid)
    assert guard.is_dir() and oct(guard.stat().st_mode & 0o777) == "0o700"
    conn.close()
    wait_for(lambda: not guard.exists(), timeout=15, what="the guard to remove its directory")


def test_commands_without_a_timeout_are_not_registered(tmp_path: Path, sshd: SshServer) -> None:
    conn = SshConnector(_target(tmp_path, sshd))
    conn.open()
    try:
        r = conn.run("echo $PPID", timeout=None)
        assert r.exit_code == 0
        assert not _guard_dir(int(r.stdout.split()[0])).exists()
    finally:
        conn.close()
