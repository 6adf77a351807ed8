"""Connectors execute rendered commands on a target. Steps never touch Fabric/paramiko."""

from __future__ import annotations

from ..config import Target
from .base import Connector, OutputCallback

__all__ = ["Connector", "OutputCallback", "connect"]


def connect(target: Target) -> Connector:
    """Open ONE connection for the whole run (closed by the caller)."""
    if target.transport == "local":
        from .local import LocalConnector

        conn: Connector = LocalConnector(target)
    else:
        from .ssh import SshConnector

        conn = SshConnector(target)
    conn.open()
    return conn
