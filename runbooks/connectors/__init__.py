"""Connectors execute rendered commands on a target. Steps never touch Fabric/paramiko."""

from __future__ import annotations

from runbooks.config import Target
from runbooks.connectors.base import Connector, OutputCallback

__all__ = ["Connector", "OutputCallback", "connect"]


def connect(target: Target) -> Connector:
    """Open ONE connection for the whole run (closed by the caller)."""
    if target.transport == "local":
        from runbooks.connectors.local import LocalConnector

        conn: Connector = LocalConnector(target)
    else:
        from runbooks.connectors.ssh import SshConnector

        conn = SshConnector(target)
    conn.open()
    return conn
