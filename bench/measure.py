"""Run a command as a subprocess and measure it: wall time, CPU, peak RSS (os.wait4 gives
the rusage of that one child, not of every child so far as RUSAGE_CHILDREN would)."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measured:
    argv: list[str]
    wall_s: float
    cpu_s: float
    maxrss_mb: float
    returncode: int
    stdout: str
    stderr: str


TIME = "/usr/bin/time"


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: str | Path | None = None,
          stdin: str | None = None, timeout: float = 600) -> Measured:
    """Peak RSS: a forked child starts with its parent's resident pages, so wait4's
    ru_maxrss would report at least the bench's own size; GNU time (a small process)
    reports the command's own peak instead, when it is installed."""
    with tempfile.NamedTemporaryFile() as rss_file:
        if os.access(TIME, os.X_OK):
            m = _timed([TIME, "-q", "-f", "%M", "-o", rss_file.name, *argv], env, cwd, stdin, timeout)
            m.argv = argv
            try:
                m.maxrss_mb = int(Path(rss_file.name).read_text().split()[-1]) / 1024
            except (ValueError, IndexError):
                pass
            return m
        return _timed(argv, env, cwd, stdin, timeout)


def _timed(argv: list[str], env: dict[str, str] | None, cwd: str | Path | None,
           stdin: str | None, timeout: float) -> Measured:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        deadline = start + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(argv, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, proc.returncode,
                        out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")
