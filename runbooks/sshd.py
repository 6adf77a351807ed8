"""Start a throwaway OpenSSH `sshd` on 127.0.0.1 (tests, `inv sandbox.up --ssh`).

Everything it needs is generated under `workdir`: a host key, a user key pair, a
`known_hosts` line for the host key, an `sshd_config` and a log at LogLevel VERBOSE (one
"Accepted publickey" line per authenticated connection, which tests count). Runs as the
current user; only that user can log in.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd")


class SshdUnavailable(RuntimeError):
    pass


def find_sshd() -> str | None:
    for c in SSHD_CANDIDATES:
        if os.access(c, os.X_OK):
            return c
    return shutil.which("sshd")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path, comment: str) -> None:
    if path.exists():
        return
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True, stdin=subprocess.DEVNULL,
    )


@dataclass
class SshServer:
    workdir: Path
    host: str
    port: int
    user: str
    identity_file: Path
    known_hosts: Path
    host_key: Path
    log_path: Path
    pid: int

    @classmethod
    def start(cls, workdir: Path, path_prepend: str | None = None, port: int | None = None,
              env: dict[str, str] | None = None, allow_tcp_forwarding: bool = False) -> "SshServer":
        sshd = find_sshd()
        if sshd is None:
            raise SshdUnavailable("OpenSSH sshd not found (apt-get install openssh-server)")
        workdir = Path(workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(workdir, 0o700)
        host_key = workdir / "ssh_host_ed25519_key"
        user_key = workdir / "id_ed25519"
        _keygen(host_key, "runbooks-sandbox-host")
        _keygen(user_key, "runbooks-sandbox-user")
        authorized = workdir / "authorized_keys"
        authorized.write_text(user_key.with_suffix(".pub").read_text())
        os.chmod(authorized, 0o600)
        port = port or _free_port()
        known_hosts = workdir / "known_hosts"
        hostpub = host_key.with_suffix(".pub").read_text().split()
        known_hosts.write_text(f"[127.0.0.1]:{port} {hostpub[0]} {hostpub[1]}\n")
        log_path = workdir / "sshd.log"
        pid_path = workdir / "sshd.pid"
        run_dir = Path("/run/sshd")
        if os.geteuid() == 0 and not run_dir.exists():
            run_dir.mkdir(mode=0o755, parents=True, exist_ok=True)  # privilege separation dir
        env_lines = []
        setenv = dict(env or {})
        if path_prepend:
            setenv["PATH"] = f"{path_prepend}:/usr/local/bin:/usr/bin:/bin"
        if setenv:  # one line: sshd keeps only the first SetEnv line it reads
            env_lines.append("SetEnv " + " ".join(f'{k}="{v}"' for k, v in setenv.items()))
        config = workdir / "sshd_config"
        config.write_text("\n".join([
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {host_key}",
            f"PidFile {pid_path}",
            f"AuthorizedKeysFile {authorized}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "LogLevel VERBOSE",
            "MaxSessions 64",
            "MaxStartups 64:30:128",
            f"AllowTcpForwarding {'local' if allow_tcp_forwarding else 'no'}",  # local: direct-tcpip (a ProxyJump hop)
            "X11Forwarding no",
            "PrintMotd no",
            *env_lines,
            "",
        ]))
        log_path.write_text("")
        proc = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config), "-E", str(log_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                err = (proc.stderr.read().decode() if proc.stderr else "") + log_path.read_text()
                raise SshdUnavailable(f"sshd exited with {proc.returncode}: {err.strip()[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                raise SshdUnavailable(f"sshd did not answer on 127.0.0.1:{port}")
            time.sleep(0.05)
        return cls(workdir=workdir, host="127.0.0.1", port=port, user=getpass.getuser(),
                   identity_file=user_key, known_hosts=known_hosts, host_key=host_key,
                   log_path=log_path, pid=proc.pid)

    def target(self, **extra: Any) -> dict[str, Any]:
        """A DESIGN.md `targets:` entry reaching this server."""
        t: dict[str, Any] = {
            "transport": "ssh", "host": self.host, "port": self.port, "user": self.user,
            "identity_file": str(self.identity_file), "known_hosts": str(self.known_hosts),
        }
        t.update(extra)
        return t

    def accepted_auths(self) -> int:
        """How many connections authenticated so far (from the VERBOSE log)."""
        return self.log_path.read_text(errors="replace").count("Accepted publickey")

    def sessions(self) -> int:
        return self.log_path.read_text(errors="replace").count("Starting session:")

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def stop(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except OSError:
            return
        deadline = time.monotonic() + 5
        while self.alive() and time.monotonic() < deadline:
            try:
                os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            time.sleep(0.02)
