"""Connect first: the SSH handshake starts while the rest of the program is still loading.

A task that knows its targets calls `start(target)` as soon as its flags are valid: a
thread makes the TCP connection first (when ssh_config cannot send it elsewhere: no
HostName, Port, ProxyJump, ProxyCommand or Match anywhere in it), imports the SSH modules
while the TCP handshake is on its way, then runs the SSH handshake on that socket, so the
round trips overlap the imports of the SSH modules, the engine, the console and the
playbook's steps. `connect()` takes the open connection (or re-raises what opening it
raised, exactly as a synchronous open would). A connection nobody took (the run was
refused after all) is closed at exit.

`when_busy(work)`: work the run will need after its remote commands (the imports of the
alert lifecycle, the seal), done in a thread while the host runs them.
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any

from runbooks.config import Target

_lock = threading.Lock()
_pending: dict[tuple[Any, ...], _Early] = {}


def _key(target: Target) -> tuple[Any, ...]:
    return (target.name, target.transport, target.host, target.port, target.user, target.identity_file,
            target.known_hosts)


# ssh_config keywords that can change where (or through what) a connection goes
_ROUTING = re.compile(r"^\s*(hostname|port|proxyjump|proxycommand|match)\b", re.IGNORECASE | re.MULTILINE)
_INCLUDE = re.compile(r"^\s*include\s+(.+)$", re.IGNORECASE | re.MULTILINE)


def _config_files(path: Path, base: Path, depth: int = 0) -> list[Path]:
    if depth > 8 or not path.is_file():
        return []
    out = [path]
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return out
    for m in _INCLUDE.finditer(text):
        for pattern in m.group(1).split():
            p = os.path.expanduser(pattern)
            full = p if os.path.isabs(p) else str(base / p)
            for f in sorted(glob.glob(full)):
                out += _config_files(Path(f), base, depth + 1)
    return out


def destination(target: Target) -> tuple[str, int] | None:
    """(host, port) the connection goes to, when ssh_config cannot change it; else None."""
    if not target.host:
        return None
    files = (_config_files(Path("~/.ssh/config").expanduser(), Path("~/.ssh").expanduser())
             + _config_files(Path("/etc/ssh/ssh_config"), Path("/etc/ssh")))
    for f in files:
        try:
            if _ROUTING.search(f.read_text(errors="replace")):
                return None
        except OSError:
            return None
    return target.host, int(target.port or 22)


class _Early:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.conn: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._open, daemon=True, name=f"connect-{target.name}")
        self.thread.start()

    def _open(self) -> None:
        try:
            sock = None
            dest = destination(self.target)
            if dest is not None:
                try:
                    sock = socket.create_connection(dest, timeout=self.target.connect_timeout)
                except OSError:
                    sock = None  # the connector's own connect says why, in its words
            from runbooks.connectors.ssh import SshConnector

            self.conn = SshConnector(self.target)
            self.conn.open(sock=sock)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever takes the connection
            self.error = exc


def start(target: Target) -> None:
    """Begin opening `target`'s SSH connection in the background (no-op for local ones,
    or when one is already on its way)."""
    if target.transport != "ssh":
        return
    with _lock:
        if _key(target) in _pending:
            return
        _pending[_key(target)] = _Early(target)


def start_for(spec: str | None, transcript_dir: str | None = None, check: Any = None) -> None:
    """`start` for every target a read-only task's --target names. A configuration the
    task will refuse (`check(target)` raising included: what its playbook needs of a
    target), or a transcript dir it could not record into, starts nothing: the task reports
    it itself, as it always has, and never logs in."""
    from runbooks.config import load_config
    from runbooks.errors import RunbooksError
    from runbooks.record.transcript import default_transcript_dir, ensure_writable

    try:
        ensure_writable(Path(transcript_dir) if transcript_dir else default_transcript_dir())
        config = load_config()
        targets = [config.target(n) for n in config.target_names(spec)]
        for t in targets:
            if check is not None:
                check(t)
    except (RunbooksError, OSError):
        return
    for t in targets:
        start(t)


_busy = threading.Event()


def commands_sent() -> None:
    """Called by a connector once it has sent a command: the run now waits on the host."""
    _busy.set()


def when_busy(work: Any, limit: float = 120.0) -> None:
    """Run `work()` in a thread once the run is waiting for its remote commands, e.g. the
    imports the verdict and the record will need: done while the host works, not after."""
    def go() -> None:
        if _busy.wait(limit):
            try:
                work()
            except Exception:  # noqa: BLE001 - a head start only: the main thread does it anyway
                pass

    threading.Thread(target=go, daemon=True, name="when-busy").start()


def take(target: Target) -> Any:
    """The connection started for `target`, once open; None when none was started. Raises
    what opening it raised."""
    with _lock:
        early = _pending.pop(_key(target), None)
    if early is None:
        return None
    early.thread.join()
    if early.error is not None:
        raise early.error
    return early.conn


@atexit.register
def close_unclaimed() -> None:
    with _lock:
        left = list(_pending.values())
        _pending.clear()
    for early in left:
        early.thread.join(timeout=5)
        if early.error is None and early.conn is not None and not early.thread.is_alive():
            early.conn.close()
