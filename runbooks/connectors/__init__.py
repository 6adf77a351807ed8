"""Connectors execute rendered commands on a target. Steps never touch Fabric/paramiko."""

from __future__ import annotations

from runbooks.config import Target
from runbooks.connectors.base import Connector, OutputCallback

__all__ = ["Connector", "OutputCallback", "connect"]


def connect(target: Target) -> Connector:
    """Open ONE connection for the whole run (closed by the caller); the one a task
    started early (connectors/early.py) when there is one."""
    from runbooks.connectors import early

    started = early.take(target)
    if started is not None:
        conn: Connector = started
        return conn
    if target.transport == "local":
        from runbooks.connectors.local import LocalConnector

        conn = LocalConnector(target)
    else:
        from runbooks.connectors.ssh import SshConnector

        conn = SshConnector(target)
    conn.open()
    return conn
