"""SSH connector: Fabric for ssh_config and authentication, strict host keys, one
connection per target for the whole run, commands on raw paramiko channels.

Host keys: Fabric's default policy auto-adds unknown keys; we replace it with a policy
that refuses and says which key was offered and how to add it. Keys come from the target's
`known_hosts`, else ssh_config's UserKnownHostsFile, else ~/.ssh/known_hosts and
/etc/ssh/ssh_known_hosts. Every hop counts: with ProxyJump in ssh_config, Fabric builds a
gateway Connection per jump host with the same auto-add policy, so each one gets the
refusing policy and its known_hosts (the target's `known_hosts` when set, else the jump
host's own ssh_config files) before anything connects; each hop's fingerprint is recorded
(`hops`, in the transcript's `connected` event).

Timeouts: closing an SSH channel does not stop a command on the host (no pty, no SIGHUP).
Every command is therefore wrapped (connectors/hostguard.py) so that it first reports its
process group id on stderr; on timeout or Ctrl-C we send `kill -TERM/-KILL -- -PGID` over
the same connection. A per-connection guard on the host (deadline + grace) kills it even if
the connection itself is lost.

Environment: the target's `env:` values (tokens, passwords) never appear on a command
line, where every user of the host sees them in `ps` for as long as the command runs.
They travel first on the channel's stdin as a counted block of `export` lines that the
wrapper reads with the shell's `read` builtin (which never reads past a newline), so the
command's own stdin (a Django script) follows untouched.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import select
import shlex
import socket
import threading
import time
from pathlib import Path
from typing import Any

import paramiko

from runbooks.config import Target
from runbooks.connectors import early, hostguard
from runbooks.connectors.base import TIMEOUT_EXIT, OutputCallback, live_decoders
from runbooks.errors import ConnectError, ConnectionLost, HostKeyError
from runbooks.model import Result

# paramiko's transport thread logs handshake failures with a traceback; with no handler
# configured Python prints it on stderr. The failure reaches the operator as one line
# (ConnectError), so its log records go nowhere unless the application configures logging.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

# paramiko logs failures (e.g. a refused direct-tcpip channel) that we report ourselves in
# one line; without a handler Python's last-resort handler would print them too.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

PID_MARK = hostguard.PID_MARK
EOF_GRACE = 0.5  # seconds to wait for a channel's EOF once its exit status has arrived


def fingerprint(key: paramiko.PKey) -> str:
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    return f"{key.get_name()} SHA256:{digest}"


def _host_label(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class _RefuseUnknown(paramiko.MissingHostKeyPolicy):
    """Never trust a key on first use: refuse, naming the key and how to add it."""

    def __init__(self, known_hosts_desc: str, port: int, role: str = "") -> None:
        self.known_hosts_desc = known_hosts_desc
        self.port = port
        self.role = role  # "jump host " for a ProxyJump hop

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        port_opt = f"-p {self.port} " if self.port != 22 else ""
        host_only = hostname.split("]")[0].lstrip("[") if hostname.startswith("[") else hostname
        raise HostKeyError(
            f"unknown host key for {self.role}{hostname}: {fingerprint(key)} is not in {self.known_hosts_desc}; "
            f"verify the fingerprint out of band, then add it: ssh-keyscan {port_opt}-t {key.get_name()} "
            f"{host_only} >> ~/.ssh/known_hosts (or set the target's known_hosts)"
        )


def _gateways(conn: Any) -> list[Any]:
    """The ProxyJump gateway Connections of `conn`, nearest the target first."""
    from fabric import Connection

    out: list[Any] = []
    gw = conn.gateway
    while isinstance(gw, Connection) and gw not in out:
        out.append(gw)
        gw = gw.gateway
    return out


class SshConnector:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.host_key_fingerprint: str | None = None
        self.hops: list[dict[str, str]] = []  # ProxyJump hops in connection order: address, host_key
        self._conn = None
        self._gateways: list[Any] = []
        self._transport: paramiko.Transport | None = None
        self._count = 0
        self._count_lock = threading.Lock()
        self._env = target.resolved_env()
        self.description = target.address

    @property
    def commands_run(self) -> int:
        return self._count

    def open(self, sock: Any = None) -> None:
        """`sock`: a TCP connection to the target already made (connectors/early.py)."""
        from fabric import Config, Connection

        t = self.target
        connect_kwargs: dict[str, object] = {}
        if t.identity_file:
            connect_kwargs["key_filename"] = [str(Path(t.identity_file).expanduser())]
            connect_kwargs["look_for_keys"] = False
        connect_kwargs["allow_agent"] = bool(os.environ.get("SSH_AUTH_SOCK"))
        # connect_timeout bounds the whole handshake, not only the TCP connect: a host that
        # accepts and never sends its banner is unreachable after it, not after paramiko's 15 s.
        connect_kwargs["banner_timeout"] = t.connect_timeout
        conn = Connection(
            host=t.host or "", user=t.user, port=t.port, connect_timeout=t.connect_timeout,
            connect_kwargs=connect_kwargs, config=Config(),
        )
        self.description = f"{conn.user}@{conn.host}:{conn.port}"
        self._strict(conn, "")
        # ProxyJump hops (a ProxyCommand is a string: the ssh it runs checks its own keys).
        gateways = _gateways(conn)
        for gw in gateways:
            self._strict(gw, "jump host ")
            if not gw.connect_timeout:  # ssh_config ConnectTimeout wins, else the target's
                gw.connect_timeout = t.connect_timeout
        self._gateways = list(gateways)
        if sock is not None and conn.gateway:
            sock.close()  # ProxyJump/ProxyCommand: the connection goes through them, not this socket
            sock = None
        if not conn.gateway:
            sock = sock or self._tcp(conn.host, int(conn.port))
            # SSH writes small messages back to back (an exec request, then the command's
            # stdin, then EOF): with Nagle's algorithm each waits for the previous one's ACK,
            # up to a delayed-ACK timeout (40 ms) or a round trip. OpenSSH disables it too.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(None)
            conn.connect_kwargs["sock"] = sock
        try:
            self._open(conn)
        except BaseException:
            self._close_gateways()
            raise
        self._conn = conn
        self._transport = conn.client.get_transport()
        assert self._transport is not None
        self._transport.set_keepalive(15)
        self.host_key_fingerprint = fingerprint(self._transport.get_remote_server_key())
        # Connection order: Fabric dials the deepest gateway first.
        self.hops = [{"address": f"{g.user}@{g.host}:{g.port}", "host_key": fingerprint(g.transport.get_remote_server_key())}
                     for g in reversed(gateways) if g.transport is not None]

    def _tcp(self, host: str, port: int) -> socket.socket:
        t = self.target.connect_timeout
        try:
            return socket.create_connection((host, port), timeout=t)
        except TimeoutError as exc:
            raise ConnectError(f"cannot reach {self.description}: timed out after {t:g}s") from exc
        except OSError as exc:
            raise ConnectError(f"cannot reach {self.description}: {exc.strerror or exc}") from exc

    def _open(self, conn: Any) -> None:
        t = self.target
        try:
            conn.open()
        except HostKeyError:
            raise
        except paramiko.BadHostKeyException as exc:
            # The hop that failed is the first, in dialling order, that is not connected.
            hop = next((c for c in [*reversed(self._gateways), conn] if not c.is_connected), conn)
            role = "" if hop is conn else "jump host "
            label = _host_label(exc.hostname, int(hop.port))
            raise HostKeyError(
                f"HOST KEY CHANGED for {role}{label}: expected {fingerprint(exc.expected_key)}, "
                f"got {fingerprint(exc.key)}. Possible man-in-the-middle or a rebuilt host; refusing. If the change "
                f"is legitimate: ssh-keygen -R '{label}' and add the new key after verifying it."
            ) from exc
        except paramiko.ChannelException as exc:
            if not self._gateways:
                raise ConnectError(f"SSH error with {self.description}: {exc}") from exc
            jump = self._gateways[0]
            raise ConnectError(f"jump host {jump.user}@{jump.host}:{jump.port} did not open a channel to "
                               f"{conn.host}:{conn.port}: {exc.text} (its sshd must allow TCP forwarding)") from exc
        except paramiko.AuthenticationException as exc:
            raise ConnectError(f"authentication failed for {self.description}: {exc}") from exc
        except TimeoutError as exc:
            raise ConnectError(f"cannot reach {self.description}: timed out after {t.connect_timeout:g}s") from exc
        except (paramiko.ssh_exception.NoValidConnectionsError, OSError) as exc:
            raise ConnectError(f"cannot reach {self.description}: {exc.strerror or exc}") from exc
        except paramiko.SSHException as exc:
            if "banner" in str(exc).lower():
                raise ConnectError(f"cannot reach {self.description}: no SSH banner within {t.connect_timeout:g}s "
                                   f"({exc})") from exc
            raise ConnectError(f"SSH error with {self.description}: {exc}") from exc

    def _strict(self, conn: Any, role: str) -> None:
        """Known hosts loaded and the refusing policy set on one hop's client (replacing
        Fabric's auto-add) before it connects."""
        client: paramiko.SSHClient = conn.client
        files = self._known_hosts_files(conn)
        for f in files:
            try:
                client.load_host_keys(str(f)) if f == files[0] else client.get_host_keys().load(str(f))
            except (OSError, paramiko.SSHException) as exc:
                raise ConnectError(f"cannot read known_hosts file {f}: {exc}") from exc
        desc = ", ".join(str(f) for f in files) or "any known_hosts file (none found)"
        client.set_missing_host_key_policy(_RefuseUnknown(desc, int(conn.port), role))

    def _close_gateways(self) -> None:
        for gw in self._gateways:
            try:
                gw.close()
            except Exception:  # noqa: BLE001 - closing a half-open hop
                pass

    def _known_hosts_files(self, conn: object) -> list[Path]:
        if self.target.known_hosts:
            p = Path(self.target.known_hosts).expanduser()
            if not p.is_file():
                raise HostKeyError(f"known_hosts file {p} (targets.{self.target.name}.known_hosts) does not exist")
            return [p]
        cfg = getattr(conn, "ssh_config", {}) or {}
        user_files = cfg.get("userknownhostsfile")
        if user_files:
            paths = [Path(p).expanduser() for p in (user_files if isinstance(user_files, list) else str(user_files).split())]
        else:
            paths = [Path("~/.ssh/known_hosts").expanduser()]
        paths.append(Path("/etc/ssh/ssh_known_hosts"))
        return [p for p in paths if p.is_file()]

    def is_alive(self) -> bool:
        return self._transport is not None and self._transport.is_active()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._transport = None
        self._close_gateways()  # Fabric's close() leaves the jump connections open
        self._gateways = []

    def _env_preamble(self) -> str:
        """The env block sent on stdin before the command's own input: a line with the
        number of lines that follow, then `export K='v'` statements (values may span lines)."""
        if not self._env:
            return ""
        body = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in self._env.items())
        return f"{body.count(chr(10))}\n{body}"

    def _wrap(self, command: str, timeout: float | None) -> str:
        env = ""
        if self._env:
            env = ('IFS= read -r __rb_n || exit 125; __rb_env=; while [ "$__rb_n" -gt 0 ]; do '
                   'IFS= read -r __rb_l || exit 125; __rb_env="$__rb_env$__rb_l\n"; __rb_n=$((__rb_n - 1)); done; '
                   'eval "$__rb_env"; unset __rb_env __rb_l __rb_n; ')
        return hostguard.wrap(f"{env}{command}", timeout)

    def _kill_remote(self, pgid: int | None) -> None:
        if pgid is None or self._transport is None or not self._transport.is_active():
            return
        script = f"kill -TERM -- -{pgid} 2>/dev/null; for i in $(seq 40); do kill -0 -- -{pgid} 2>/dev/null || exit 0; sleep 0.05; done; kill -KILL -- -{pgid} 2>/dev/null; exit 0"
        try:
            chan = self._transport.open_session(timeout=10)
            chan.settimeout(15)
            chan.exec_command(script)
            chan.recv_exit_status()
            chan.close()
        except (TimeoutError, paramiko.SSHException, OSError):
            pass

    def run(self, command: str, *, timeout: float | None = None, stdin: str | None = None,
            on_output: OutputCallback | None = None, display: str | None = None,
            cancel: threading.Event | None = None) -> Result:
        if self._transport is None or not self._transport.is_active():
            raise ConnectError(f"connection to {self.description} is closed")
        with self._count_lock:
            self._count += 1
        start = time.monotonic()
        try:
            chan = self._transport.open_session(timeout=30)
            chan.exec_command(self._wrap(command, timeout))
            early.commands_sent()
        except (paramiko.SSHException, OSError) as exc:
            raise ConnectError(f"lost the connection to {self.description}: {exc}") from exc
        out: list[bytes] = []
        err = bytearray()
        pgid: int | None = None
        marker_done = False
        timed_out = False
        exited_at = 0.0
        deadline = start + timeout if timeout else None
        live = live_decoders()
        try:
            preamble = self._env_preamble()
            if preamble or stdin is not None:
                chan.sendall((preamble + (stdin or "")).encode())
            chan.shutdown_write()
            while True:
                progressed = False
                if chan.recv_ready():
                    chunk = chan.recv(65536)
                    out.append(chunk)
                    progressed = True
                    if on_output is not None:
                        on_output("stdout", live["stdout"](chunk))
                if chan.recv_stderr_ready():
                    chunk = chan.recv_stderr(65536)
                    progressed = True
                    if not marker_done:
                        err.extend(chunk)
                        if b"\n" in err:
                            first, _, rest = bytes(err).partition(b"\n")
                            text = first.decode("ascii", "replace")
                            if text.startswith(PID_MARK):
                                try:
                                    pgid = int(text[len(PID_MARK):])
                                except ValueError:
                                    pgid = None
                                err = bytearray(rest)
                            marker_done = True
                            if err and on_output is not None:
                                on_output("stderr", live["stderr"](bytes(err)))
                    else:
                        err.extend(chunk)
                        if on_output is not None:
                            on_output("stderr", live["stderr"](chunk))
                if progressed:
                    continue
                if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                    # sshd may send the exit status before the last output: wait for the
                    # channel's EOF, briefly (a background process can hold the output open)
                    exited_at = exited_at or time.monotonic()
                    if chan.eof_received or chan.closed or time.monotonic() - exited_at > EOF_GRACE:
                        break
                if cancel is not None and cancel.is_set():
                    raise KeyboardInterrupt
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out = True
                    chan.close()
                    self._kill_remote(pgid)
                    break
                wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
                if exited_at:
                    wait = min(wait, 0.01)
                if chan.eof_received:
                    # the channel's pipe stays readable after EOF: wait for the exit status
                    # instead of spinning on select (CPU every other target's run needs)
                    chan.status_event.wait(wait)
                else:
                    select.select([chan], [], [], wait)
        except BaseException as exc:
            # Ctrl-C or a crash: never leave the command running on the host.
            chan.close()
            self._kill_remote(pgid)
            if isinstance(exc, (paramiko.SSHException, OSError, EOFError)) and not self.is_alive():
                raise ConnectionLost(f"connection to {self.description} lost while the command ran: {exc}; "
                                     "its outcome on the host is unknown", pgid) from exc
            raise
        if timed_out:
            chan.close()
            code = TIMEOUT_EXIT
        else:
            code = chan.recv_exit_status()
            chan.close()
            if code == -1 and not self.is_alive():
                # paramiko's "no exit status": the session died with the connection. The
                # command's outcome is unknown; never report -1 as its exit code.
                raise ConnectionLost(f"connection to {self.description} lost while the command ran "
                                     f"({time.monotonic() - start:.1f}s in); its outcome on the host is unknown", pgid)
        return Result(
            command=display if display is not None else command,
            exit_code=code,
            stdout=b"".join(out).decode("utf-8", "replace"),
            stderr=bytes(err).decode("utf-8", "replace"),
            duration_s=time.monotonic() - start,
            timed_out=timed_out,
        )
