"""The connector protocol and the pieces every connector shares."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from runbooks.model import Result

# (stream, text) with stream "stdout" or "stderr": live output for long commands.
OutputCallback = Callable[[str, str], None]

def live_decoders() -> dict[str, Callable[[bytes], str]]:
    """One incremental UTF-8 decoder per stream for live output: a character split across
    two reads is shown whole, not as two replacement characters."""
    import codecs

    return {name: codecs.getincrementaldecoder("utf-8")("replace").decode for name in ("stdout", "stderr")}


# Exit code reported for a command we killed at its timeout (as coreutils `timeout` does).
TIMEOUT_EXIT = 124


class Connector(Protocol):
    """Runs shell command strings on one target over one connection."""

    description: str  # "deploy@host:22" / "local"
    host_key_fingerprint: str | None  # "ssh-ed25519 SHA256:..." once verified

    def open(self) -> None: ...

    def run(self, command: str, *, timeout: float | None = None, stdin: str | None = None,
            on_output: OutputCallback | None = None, display: str | None = None,
            cancel: threading.Event | None = None) -> Result:
        """Run `command` (already rendered and quoted). On timeout the command's whole
        process group is killed ON THE HOST and the Result has timed_out=True. Thread-safe:
        concurrent calls use separate channels. When `cancel` is set, the command is killed
        on the host and KeyboardInterrupt is raised (how a Batch stops on Ctrl-C)."""
        ...

    def close(self) -> None: ...

    @property
    def commands_run(self) -> int: ...


def hop_fields(conn: object) -> dict[str, Any]:
    """`{"hops": [...]}` for the `connected` event when the connector went through verified
    ProxyJump hops (SSH), else nothing."""
    hops = getattr(conn, "hops", None)
    return {"hops": hops} if hops else {}
