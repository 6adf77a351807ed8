"""Connect first: the SSH handshake starts while the rest of the program is still loading.

A task that knows its targets calls `start(target)` as soon as its flags are valid: the
connector's modules are imported on the spot (the handshake needs them), then the
connection is opened in a thread, so the round trips of the TCP and SSH handshakes overlap
the imports of the engine, the console and the playbook's steps. `connect()` takes the
open connection (or re-raises what opening it raised, exactly as a synchronous open
would). A connection nobody took (the run was refused after all) is closed at exit.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from runbooks.config import Target

_lock = threading.Lock()
_pending: dict[tuple[Any, ...], _Early] = {}


def _key(target: Target) -> tuple[Any, ...]:
    return (target.name, target.transport, target.host, target.port, target.user, target.identity_file,
            target.known_hosts)


class _Early:
    def __init__(self, target: Target) -> None:
        from runbooks.connectors.ssh import SshConnector

        self.conn = SshConnector(target)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._open, daemon=True, name=f"connect-{target.name}")
        self.thread.start()

    def _open(self) -> None:
        try:
            self.conn.open()
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


def start_for(spec: str | None) -> None:
    """`start` for every target a read-only task's --target names. A configuration the
    task will refuse starts nothing: the task reports it itself, as it always has."""
    from runbooks.config import load_config
    from runbooks.errors import RunbooksError

    try:
        config = load_config()
        targets = [config.target(n) for n in config.target_names(spec)]
    except (RunbooksError, OSError):
        return
    for t in targets:
        start(t)


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
        if early.error is None and not early.thread.is_alive():
            early.conn.close()
