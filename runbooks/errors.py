"""Exit codes (the contract in DESIGN.md) and the exceptions that carry them."""

from __future__ import annotations

OK = 0
WARN = 1
FAILED = 2
CANNOT_RUN = 3
ABORTED = 4


class RunbooksError(Exception):
    """An error with a one-line message meant for the operator and an exit code."""

    exit_code = CANNOT_RUN

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigError(RunbooksError):
    """Bad configuration file, unknown target, bad flag value (exit 3)."""


class InputError(RunbooksError):
    """A flag or argument that cannot be accepted (exit 3)."""


class PlaybookError(RunbooksError):
    """A playbook file that does not validate (exit 3)."""


class ConnectError(RunbooksError):
    """Connection, authentication or host-key failure (exit 3)."""


class ConnectionLost(ConnectError):
    """The connection dropped while a command ran: its outcome on the host is unknown.
    `pgid` is the command's process group on the host (to stop it after a reconnect)."""

    def __init__(self, message: str, pgid: int | None = None) -> None:
        super().__init__(message)
        self.pgid = pgid


class HostKeyError(ConnectError):
    """Unknown or changed host key: we refuse, never auto-add (exit 3)."""


class Aborted(RunbooksError):
    """The operator declined a confirmation or interrupted the run (exit 4)."""

    exit_code = ABORTED


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP) handled like Ctrl-C, and recorded as itself."""

    def __init__(self, signame: str = "SIGTERM") -> None:
        super().__init__(signame)
        self.signame = signame
