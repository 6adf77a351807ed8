"""`docker logs` of the shim against hand-written json-file logs with known times:
moby's order (tail first, then since/until), inclusive bounds, -t format, streams, -f."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest

from runbooks.sandbox import Sandbox
from tests.sandbox.helpers import docker, wait_for

C = "eatfit24-backend-1"
T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=timezone.utc)


def write_log(sb: Sandbox, lines: list[tuple[str, str, str]]) -> None:
    path = sb.paths.log_file(C)
    with open(path, "w") as fh:
        for stamp, stream, text in lines:
            fh.write(json.dumps({"log": text + "\n", "stream": stream, "time": stamp}) + "\n")


def stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def ten(sandbox_state: Sandbox) -> Sandbox:
    """line-0 .. line-9, one minute apart from T0; line-3 and line-6 on stderr."""
    write_log(sandbox_state, [(stamp(T0 + timedelta(minutes=i)), "stderr" if i in (3, 6) else "stdout",
                               f"line-{i}") for i in range(10)])
    return sandbox_state


def lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln]


def test_tail_is_applied_before_since(ten: Sandbox) -> None:
    since = stamp(T0 + timedelta(minutes=5))
    r = docker(ten, "logs", "--tail", "8", "--since", since, C, merge=True)
    assert r.returncode == 0
    assert lines(r.stdout) == [f"line-{i}" for i in range(5, 10)]  # tail 8 -> 2..9, since -> 5..9
    r = docker(ten, "logs", "--since", since, "--tail", "3", C, merge=True)
    assert lines(r.stdout) == ["line-7", "line-8", "line-9"]
    r = docker(ten, "logs", "-n", "2", "--since", stamp(T0 + timedelta(minutes=9, seconds=1)), C, merge=True)
    assert lines(r.stdout) == []


def test_since_and_until_are_inclusive(ten: Sandbox) -> None:
    r = docker(ten, "logs", "--since", stamp(T0 + timedelta(minutes=4)),
               "--until", "2026-01-15T13:06:00+03:00", C, merge=True)
    assert lines(r.stdout) == ["line-4", "line-5", "line-6"]
    unix = str(int((T0 + timedelta(minutes=8)).timestamp()))
    assert lines(docker(ten, "logs", "--since", unix, C, merge=True).stdout) == ["line-8", "line-9"]


def test_tail_zero_all_and_streams(ten: Sandbox) -> None:
    assert docker(ten, "logs", "--tail", "0", C).stdout == ""
    r = docker(ten, "logs", "--tail", "all", C)
    assert lines(r.stdout) == [f"line-{i}" for i in range(10) if i not in (3, 6)]
    assert lines(r.stderr) == ["line-3", "line-6"]


def test_timestamps_are_utc_with_nine_digits(sandbox_state: Sandbox) -> None:
    write_log(sandbox_state, [("2026-01-15T10:00:00.5Z", "stdout", "a"),
                              ("2026-01-15T13:00:01.123456789+03:00", "stdout", "b")])
    r = docker(sandbox_state, "logs", "-t", C)
    assert r.stdout.splitlines() == ["2026-01-15T10:00:00.500000000Z a", "2026-01-15T10:00:01.123456789Z b"]


def test_since_durations(sandbox_state: Sandbox) -> None:
    now = datetime.now(timezone.utc)
    write_log(sandbox_state, [(stamp(now - timedelta(hours=3)), "stdout", "3h"),
                              (stamp(now - timedelta(minutes=80)), "stdout", "80m"),
                              (stamp(now - timedelta(minutes=5)), "stdout", "5m")])
    for value, expect in [("24h", ["3h", "80m", "5m"]), ("1h30m", ["80m", "5m"]), ("90m", ["80m", "5m"]),
                          ("10m", ["5m"]), ("10s", []), ("0", ["3h", "80m", "5m"])]:
        assert lines(docker(sandbox_state, "logs", "--since", value, C).stdout) == expect, value
    bad = docker(sandbox_state, "logs", "--since", "yesterday", C)
    assert bad.returncode != 0 and 'invalid value for "since"' in bad.stderr


def test_follow_streams_new_lines_and_stops_on_sigterm(ten: Sandbox) -> None:
    env = {**os.environ, "PATH": f"{ten.paths.bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(["docker", "logs", "-f", "--tail", "1", C], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "line-9"
        with open(ten.paths.log_file(C), "a") as fh:
            fh.write(json.dumps({"log": "fresh\n", "stream": "stdout", "time": stamp(datetime.now(timezone.utc))}) + "\n")
        assert proc.stdout.readline().strip() == "fresh"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=3) is not None
    finally:
        proc.kill()
        proc.wait()


def test_million_lines_stay_fast(sandbox_state: Sandbox) -> None:
    path = sandbox_state.paths.log_file(C)
    base = int((datetime.now(timezone.utc) - timedelta(hours=30)).timestamp())
    with open(path, "w") as fh:
        for i in range(0, 1_000_000, 1000):
            t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i // 10))
            fh.writelines(f'{{"log":"req {i + k}\\n","stream":"stdout","time":"{t}.{k:09d}Z"}}\n' for k in range(1000))
    started = time.monotonic()
    r = docker(sandbox_state, "logs", "--tail", "3", C)
    assert r.stdout.splitlines() == ["req 999997", "req 999998", "req 999999"]
    assert time.monotonic() - started < 1.5
    started = time.monotonic()
    r = docker(sandbox_state, "logs", "--since", "24h", "--tail", "all", C)
    assert r.returncode == 0 and r.stdout.endswith("req 999999\n")
    assert time.monotonic() - started < 15
    wait_for(lambda: True)
