"""The bench's latency relay emulates a real link, and monitor.all's SSH exchanges are the
design's: the time they grow by per millisecond of RTT is their number of round trips.

A light sshd (no ~/.bashrc per session, a `docker` stub that stamps the time it starts)
behind the relay at two non-zero RTTs; slopes, not absolute times, so the machine's own
speed (and the client's CPU work overlapping its waits) cancels out. On a busy machine
(the suite runs on every core) the CPU work in series with the waits (sshd's fork and
exec, the key exchange's arithmetic) varies by tens of milliseconds from one connection to
the next; it only ever adds time, so each RTT keeps its fastest sample, and the two RTTs are
far enough apart that what noise is left moves a slope by a tenth of a round trip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest
import yaml

from bench.proxy import LatencyRelay
from runbooks.sshd import SshServer
from tests.fixtures.sshd import start_sshd

ROOT = Path(__file__).resolve().parents[2]
LOW, HIGH = 40.0, 200.0  # ms
# monitor.all connects while it imports the engine: at RTTs this long the handshake, not the
# imports, is what the commands wait for
SLOW_LOW, SLOW_HIGH = 200.0, 400.0

STUB = """#!/bin/sh
echo "$(date +%s.%N) $1" >> {stamps}
[ "$1" = exec ] && cat >/dev/null
exit 0
"""


@pytest.fixture
def light(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stamps = tmp_path / "stamps"
    (bin_dir / "docker").write_text(STUB.format(stamps=stamps))
    (bin_dir / "docker").chmod(0o755)
    srv = start_sshd(tmp_path / "sshd", path_prepend=str(bin_dir), env={"SHLVL": "1"})
    relay = LatencyRelay(srv.port)
    kh = tmp_path / "relay_known_hosts"
    kind, blob = srv.host_key.with_suffix(".pub").read_text().split()[:2]
    kh.write_text(f"[127.0.0.1]:{relay.port} {kind} {blob}\n")
    yield srv, relay, kh, stamps
    relay.close()
    srv.stop()


def _raw(srv: SshServer, relay: LatencyRelay, kh: Path) -> tuple[float, float]:
    """(connect, one `true` (the fastest of 4)) wall seconds over a fresh raw paramiko connection."""
    t0 = time.perf_counter()
    c = paramiko.SSHClient()
    c.load_host_keys(str(kh))
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    c.connect("127.0.0.1", port=relay.port, username=srv.user, key_filename=str(srv.identity_file),
              look_for_keys=False, allow_agent=False)
    t1 = time.perf_counter()
    runs = []
    for _ in range(4):
        t2 = time.perf_counter()
        chan = c.get_transport().open_session()  # type: ignore[union-attr]
        chan.exec_command("true")
        assert chan.recv_exit_status() == 0
        runs.append(time.perf_counter() - t2)
    c.close()
    return t1 - t0, min(runs)


def _slope(at: dict[float, float]) -> float:
    lo, hi = sorted(at)
    return (at[hi] - at[lo]) / ((hi - lo) / 1000)


def test_a_raw_command_grows_by_its_round_trips_times_the_rtt(light) -> None:
    srv, relay, kh, _ = light
    connect: dict[float, float] = {}
    run: dict[float, float] = {}
    for rtt in (LOW, HIGH):
        relay.rtt_ms = rtt
        samples = [_raw(srv, relay, kh) for _ in range(4)]
        connect[rtt] = min(s[0] for s in samples)
        run[rtt] = min(s[1] for s in samples)
    # a channel open and an exec request, each waiting for its reply: 2 round trips
    assert 1.6 <= _slope(run) <= 2.6, run
    # TCP (1), the server's banner (1), key exchange (1), ssh-userauth service (1), publickey (1)
    assert 4.5 <= _slope(connect) <= 5.7, connect
    assert connect[LOW] >= 5 * LOW / 1000  # never faster than the emulated link allows


def test_monitor_all_reaches_the_host_after_the_designed_round_trips(light, tmp_path: Path) -> None:
    """The commands start on the host 6.5 RTT after connect(): TCP, banner, key exchange,
    ssh-userauth, publickey, one channel open for every command at once (1 each), then the
    exec requests' one-way trip (0.5). 7 round trips before the commands run, where
    OpenSSH needs 9 (it asks whether a key is acceptable before signing with it). And the
    operator's process imports nothing of Django or the sandbox to get there."""
    srv, relay, kh, stamps = light
    target = srv.target(project_dir=str(tmp_path), containers={"backend": "b", "worker": "w"},
                        role="staging", confirm="yes", port=relay.port, known_hosts=str(kh))
    cfg = tmp_path / "runbooks.yaml"
    cfg.write_text(yaml.safe_dump({"targets": {"box": target}}))
    env = {"RUNBOOKS_CONFIG": str(cfg), "RUNBOOKS_TRANSCRIPTS": str(tmp_path / "tr"),
           "RUNBOOKS_HISTORY": str(tmp_path / "h.sqlite3"), "PATH": "/usr/bin:/bin"}
    env = {**os.environ, **env}
    before: dict[float, float] = {}
    for rtt in (SLOW_LOW, SLOW_HIGH):
        relay.rtt_ms = rtt
        relay.reset()
        stamps.write_text("")
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "invoke", "-r", str(ROOT), "monitor.all",
                            "--target", "box", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
        imported = {line.rsplit("|", 1)[-1].strip() for line in r.stderr.splitlines() if line.startswith("import time:")}
        assert "runbooks.engine.run" in imported  # the run really happened in this process
        # the operator's side loads neither Django nor the sandbox for a real target
        assert not {m for m in imported if m.split(".")[0] == "django" or m.startswith("runbooks.sandbox")}
        first = min(float(line.split()[0]) for line in stamps.read_text().splitlines())
        assert len(relay.accepted_wall) == 1  # one connection for the whole run
        before[rtt] = first - relay.accepted_wall[0]
    assert 6.0 <= _slope(before) <= 7.0, before
