"""Entry point of the sandbox ``docker`` command: records every call, then dispatches."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from runbooks.sandbox.paths import StatePaths
from runbooks.sandbox.shim.flags import UsageError
from runbooks.sandbox.shim.io import fail, out

TOP = "Usage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers (runbooks sandbox)\n"


def record(paths: StatePaths, argv: list[str]) -> None:
    line = json.dumps({"argv": ["docker", *argv], "cwd": os.getcwd(), "time": time.time(),
                       "pid": os.getpid()}) + "\n"
    fd = os.open(paths.calls, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def dispatch(paths: StatePaths, argv: list[str]) -> int:
    # global options that take a value (-H, --context, ...) are accepted and ignored
    while argv and argv[0] in ("-H", "--host", "-c", "--context", "--config", "-l", "--log-level"):
        argv = argv[2:]
    if not argv or argv[0] in ("-h", "--help", "help"):
        out(TOP)
        return 0
    cmd, args = argv[0], argv[1:]
    if cmd in ("-v", "--version"):
        out("Docker version 27.3.1, build ce12230\n")
        return 0
    if cmd == "container" and args:  # docker container logs|inspect|ls|exec ...
        cmd, args = {"ls": "ps", "list": "ps"}.get(args[0], args[0]), args[1:]
    if cmd == "logs":
        from runbooks.sandbox.shim import logs

        return logs.run(paths, args)
    if cmd == "exec":
        from runbooks.sandbox.shim import execcmd

        return execcmd.run(paths, args)
    if cmd in ("ps", "inspect", "version"):
        from runbooks.sandbox.shim import ps

        return {"ps": ps.ps, "inspect": ps.inspect}[cmd](paths, args) if cmd != "version" else ps.version(args)
    if cmd in ("stop", "start", "restart"):
        from runbooks.sandbox.shim import lifecycle

        return lifecycle.run(paths, cmd, args)
    if cmd == "compose":
        from runbooks.sandbox.shim import compose

        return compose.run(paths, args)
    return fail(f"docker: '{cmd}' is not a docker command.\nSee 'docker --help'")


def main(argv: list[str] | None = None, state: Path | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `docker logs ... | head` ends quietly
    argv = sys.argv[1:] if argv is None else argv
    paths = StatePaths(state or Path(os.environ["RUNBOOKS_SANDBOX_STATE"]))
    record(paths, argv)
    try:
        code = dispatch(paths, argv)
    except UsageError as e:
        if e.code:
            return fail(str(e), e.code)
        out(str(e) + "\n")  # --help: usage on stdout, exit 0
        return 0
    except KeyboardInterrupt:
        return 130
    sys.stdout.flush()
    return code
