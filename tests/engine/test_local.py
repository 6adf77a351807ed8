"""The local connector: timeouts kill the whole process group; env applies."""

from __future__ import annotations

import subprocess
import time

from runbooks.config import Target
from runbooks.connectors.local import LocalConnector


def test_timeout_kills_the_process_group() -> None:
    c = LocalConnector(Target(name="l", transport="local", project_dir="/tmp"))
    start = time.monotonic()
    r = c.run("sleep 387 & sleep 388; echo never", timeout=0.5)
    assert r.timed_out and r.exit_code == 124 and "never" not in r.stdout
    assert time.monotonic() - start < 5
    deadline = time.monotonic() + 5
    while subprocess.run(["pgrep", "-f", "sleep 38[78]"], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "background sleep survived the timeout"
        time.sleep(0.05)


def test_env_stdin_and_exit_codes() -> None:
    c = LocalConnector(Target(name="l", transport="local", project_dir="/tmp", env={"RB_X": "hello"}))
    r = c.run('cat; echo "$RB_X"; echo oops >&2; exit 7', stdin="in\n")
    assert (r.exit_code, r.stdout, r.stderr) == (7, "in\nhello\n", "oops\n")
