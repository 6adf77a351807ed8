"""Where operators really are: the sandbox's sshd and its API behind latency relays
(bench/proxy.py), and the ways of running the checklist measured through them.

Every way pays the same emulated network: each direction delayed by RTT/2, a TCP connect
by 1.5 RTT (the sshd and the API alike), so a way's time grows with its round trips.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checklist_commands import BROKEN_MARKERS, rendered
from .env import BenchEnv
from .measure import timed
from .proxy import LatencyRelay


@dataclass
class Wan:
    env: BenchEnv
    ssh: LatencyRelay
    api: LatencyRelay
    known_hosts: Path
    relays: list[LatencyRelay] = field(default_factory=list)

    @classmethod
    def start(cls, env: BenchEnv, name: str = "wan-1") -> Wan:
        s = env.servers[0]
        ssh = LatencyRelay(s.port)
        api_port = int(env.sandbox.base_url.rsplit(":", 1)[1].split("/")[0])
        api = LatencyRelay(api_port)
        kh = env.out / "wan_known_hosts"
        kind, blob = s.host_key.with_suffix(".pub").read_text().split()[:2]
        kh.write_text(f"[127.0.0.1]:{ssh.port} {kind} {blob}\n")
        t = env.target(0)
        t.update(port=ssh.port, known_hosts=str(kh))
        t["api"] = {**t["api"], "base_url": f"http://127.0.0.1:{api.port}"}
        env.add_target(name, t)
        return cls(env=env, ssh=ssh, api=api, known_hosts=kh, relays=[ssh, api])

    def set_rtt(self, ms: float) -> None:
        for r in self.relays:
            r.rtt_ms = ms

    def values(self) -> dict[str, str]:
        return {**self.env.values(), "base_url": f"http://127.0.0.1:{self.api.port}"}

    def ssh_argv(self, *extra: str) -> list[str]:
        s = self.env.servers[0]
        return ["ssh", "-p", str(self.ssh.port), "-i", str(s.identity_file), "-o",
                f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR", *extra, f"{s.user}@127.0.0.1"]

    def close(self) -> None:
        for r in self.relays:
            r.close()


def by_hand(wan: Wan, control_master: bool = False) -> dict[str, Any]:
    """The checklist pasted command by command: one `ssh` each, or (an expert) every `ssh`
    through one ControlMaster connection opened by the first and closed after the last."""
    env = wan.env
    base = env.environ()
    extra: tuple[str, ...] = ()
    cp = env.out / "cm.sock"
    if control_master:
        extra = ("-o", "ControlMaster=auto", "-o", f"ControlPath={cp}", "-o", "ControlPersist=60")
    wall, failures, n = 0.0, [], 0
    try:
        for check, text in rendered(wan.values()):
            argv = ["bash", "-o", "pipefail", "-c", text] if check.local else [*wan.ssh_argv(*extra), text]
            m = timed(argv, env=base)
            wall += m.wall_s
            n += 1
            broken = [b for b in BROKEN_MARKERS if b in m.stdout or b in m.stderr]
            if m.returncode not in check.ok_exit or broken:
                failures.append(f"[{check.section}] {check.label}: exit {m.returncode} {broken} {m.stderr.strip()[-200:]}")
    finally:
        if control_master:
            timed(["ssh", "-o", f"ControlPath={cp}", "-O", "exit", "x"], env=base, timeout=10)
    return {"wall_s": wall, "commands": n, "failures": failures}


def raw_client(port: int, user: str, identity: Path | str, known_hosts: Path | str) -> Any:
    """A raw paramiko connection as the engine makes it: strict host key, TCP_NODELAY."""
    import socket

    import paramiko

    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect("127.0.0.1", port=port, username=user, key_filename=str(identity), look_for_keys=False,
                   allow_agent=False, sock=sock)
    return client


def _connect(wan: Wan) -> Any:
    s = wan.env.servers[0]
    return raw_client(wan.ssh.port, s.user, s.identity_file, wan.known_hosts)


def raw_exec(transport: Any, text: str, stdin: str | None = None) -> tuple[int, bytes]:
    chan = transport.open_session()
    chan.exec_command(text)
    if stdin is not None:
        chan.sendall(stdin.encode())
    chan.shutdown_write()
    out = bytearray()
    while True:
        b = chan.recv(65536)
        if not b:
            break
        out += b
    code = chan.recv_exit_status()
    chan.close()
    return code, bytes(out)


def floor(wan: Wan, commands: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    """What no tool can beat: one handshake (raw paramiko, already imported) and the same
    remote commands at once on it, so the slowest of them; no process start, no engine."""
    start = time.perf_counter()
    client = _connect(wan)
    connected = time.perf_counter()
    transport = client.get_transport()
    codes: list[int] = []
    threads = [threading.Thread(target=lambda c=c: codes.append(raw_exec(transport, c[1], c[2])[0])) for c in commands]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.perf_counter()
    client.close()
    if any(codes):
        raise RuntimeError(f"floor: a command failed: {codes}")
    return {"wall_s": end - start, "connect_s": connected - start, "commands": len(codes)}
