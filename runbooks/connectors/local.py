"""Local connector: commands run by /bin/sh on this machine (the built-in sandbox).

Uses subprocess directly rather than Invoke's Local runner: we need the command in its
own session so a timeout or Ctrl-C kills the whole process group, and a select loop with
no per-command thread start-up keeps engine overhead per step in the microseconds.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time

from runbooks.config import Target
from runbooks.connectors.base import TIMEOUT_EXIT, OutputCallback, live_decoders
from runbooks.model import Result


class LocalConnector:
    host_key_fingerprint: str | None = None

    def __init__(self, target: Target) -> None:
        self.target = target
        self.description = "local"
        self._env = {**os.environ, **target.resolved_env()}
        self._count = 0
        self._count_lock = threading.Lock()

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def is_alive(self) -> bool:
        return True

    @property
    def commands_run(self) -> int:
        return self._count

    def run(self, command: str, *, timeout: float | None = None, stdin: str | None = None,
            on_output: OutputCallback | None = None, display: str | None = None,
            cancel: threading.Event | None = None) -> Result:
        with self._count_lock:
            self._count += 1
        start = time.monotonic()
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self._env, start_new_session=True,
        )
        out: list[bytes] = []
        err: list[bytes] = []
        timed_out = False
        try:
            if stdin is not None and proc.stdin is not None:
                try:
                    proc.stdin.write(stdin.encode())
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            timed_out = _pump(proc, out, err, on_output, start + timeout if timeout else None, cancel)
        except BaseException:
            _kill_group(proc)
            raise
        if timed_out:
            _kill_group(proc)
        code = proc.wait()
        return Result(
            command=display if display is not None else command,
            exit_code=TIMEOUT_EXIT if timed_out else code,
            stdout=b"".join(out).decode("utf-8", "replace"),
            stderr=b"".join(err).decode("utf-8", "replace"),
            duration_s=time.monotonic() - start,
            timed_out=timed_out,
        )


def _pump(proc: subprocess.Popen[bytes], out: list[bytes], err: list[bytes],
          on_output: OutputCallback | None, deadline: float | None, cancel: threading.Event | None = None) -> bool:
    """Read both pipes until EOF or the deadline; True if the deadline passed."""
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout, selectors.EVENT_READ, ("stdout", out))
    sel.register(proc.stderr, selectors.EVENT_READ, ("stderr", err))
    open_streams = 2
    live = live_decoders()
    while open_streams:
        if cancel is not None and cancel.is_set():
            sel.close()
            raise KeyboardInterrupt
        if deadline is not None and time.monotonic() >= deadline:
            sel.close()
            return True
        wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
        for key, _ in sel.select(wait):
            chunk = os.read(key.fd, 65536)
            name, buf = key.data
            if not chunk:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            buf.append(chunk)
            if on_output is not None:
                on_output(name, live[name](chunk))
    sel.close()
    return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            continue
