"""Issue 12 item 5: a rollback that loses its SSH connection in the middle of the rebuild
(the sshd process serving it is killed, over a real sshd against the sandbox) says what
state the host and the lock are in, and gives a resume command that works.

While the sshd listener is up the run reconnects for its always-steps: it stops the lost
command's process group on the host, records the host's state and releases the lock, so
the plain resume hint works. When it cannot reconnect, it says the always-steps did not
run and the lock may still be held, and the hint takes the lock over (--break-lock)."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

from runbooks.sshd import SshServer
from tests.helpers import ROOT, inv_cmd, inv_env, wait_for
from tests.rollback.conftest import FEATURE, Host, host  # noqa: F401 - the `host` fixture


def _children(pid: int) -> list[int]:
    r = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in r.stdout.split()]


def _hanging_compose(h: Host) -> list[str]:
    r = subprocess.run(["pgrep", "-f", f"{h.sandbox.paths.docker} compose up -d --build"], capture_output=True, text=True)
    return r.stdout.split()


def _events(h: Host) -> list[dict[str, Any]]:
    runs = sorted(h.transcripts.glob("*-rollback-*/events.jsonl"))
    return [json.loads(x) for x in runs[-1].read_text().splitlines() if x.strip()] if runs else []


def _start(h: Host, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    from runbooks.sandbox.paths import INIT_DATA_ENV

    return subprocess.Popen(inv_cmd("rollback", *args), cwd=str(ROOT), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=inv_env(h.config, h.transcripts, **{INIT_DATA_ENV: h.sandbox.init_data}))


def _lose_connection_during_rebuild(h: Host, tmp_path: Path, kill_listener: bool) -> tuple[subprocess.Popen[str], str, str]:
    sha = h.sha_of(FEATURE)
    h.sandbox.inject("rebuild_hangs")
    p = _start(h, tmp_path, "--commit", sha, "--yes")

    def rebuilding() -> bool:
        if p.poll() is not None:
            raise AssertionError(f"rollback ended early: {p.communicate()}")
        return any(e["type"] == "command" and e.get("step") == "rebuild" for e in _events(h)) and bool(_hanging_compose(h))

    wait_for(rebuilding, timeout=90, what="the rebuild to run on the host")
    srv: SshServer = h.sshd
    sessions = _children(srv.pid)
    if kill_listener:
        srv.stop()  # nobody answers a reconnect
    for pid in sessions:
        subprocess.run(["kill", "-9", str(pid)], capture_output=True)
    out, err = p.communicate(timeout=120)
    return p, out, err


def _resume_hint(text: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith("To resume: "))
    argv = shlex.split(line[len("To resume: "):])
    assert argv[0] == "inv" and "rollback" in argv, line  # the operator's own command (with its -r ROOT)
    return argv[argv.index("rollback") + 1:]


def test_lost_connection_reconnects_releases_the_lock_and_the_resume_works(host: Host, tmp_path: Path) -> None:  # noqa: F811
    p, out, err = _lose_connection_during_rebuild(host, tmp_path, kill_listener=False)
    try:
        assert p.returncode == 2, (out[-3000:], err[-3000:])  # the host was changed and the run did not finish
        assert "connection lost during step rebuild" in err and "Traceback" not in err
        assert "exit -1" not in out + err
        # the one error line says what the host and the lock are in now
        line = next(x for x in err.splitlines() if "connection lost during step rebuild" in x)
        assert "after reconnecting: " in line and "host-state: HEAD " in line and "release-lock: lock released" in line
        # the lost command was stopped on the host, the state recorded, the lock released
        wait_for(lambda: not _hanging_compose(host), timeout=15, what="the lost rebuild to be stopped")
        assert not host.lock_dir.exists()
        evs = _events(host)
        assert [e for e in evs if e["type"] == "connected" and e.get("reconnect")]
        done = {e["step"]: e["status"] for e in evs if e["type"] == "step_finished"}
        assert done.get("host-state") == "ok" and done.get("release-lock") == "ok"
        args = _resume_hint(out)
        assert "--start-at" in args and args[args.index("--start-at") + 1] == "rebuild" and "--break-lock" not in args
    finally:
        for pid in _hanging_compose(host):
            subprocess.run(["kill", "-9", pid], capture_output=True)
    # the hint, run as shown (plus --yes: no terminal here), completes the rollback
    assert host.sshd.alive()
    r = subprocess.run(inv_cmd("rollback", *args, "--yes"), cwd=str(ROOT), capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL, env=inv_env(host.config, host.transcripts,
                                                             RUNBOOKS_SANDBOX_INIT_DATA=host.sandbox.init_data))
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    assert not host.lock_dir.exists()


def test_lost_connection_without_reconnect_names_the_lock_and_resume_takes_it_over(host: Host, tmp_path: Path) -> None:  # noqa: F811
    p, out, err = _lose_connection_during_rebuild(host, tmp_path, kill_listener=True)
    try:
        assert p.returncode == 2, (out[-3000:], err[-3000:])
        assert "connection lost during step rebuild" in err and "Traceback" not in err
        assert "always-steps not completed: worker-guard, host-state, release-lock" in err
        assert "lock" in err and "may still be held" in err
        assert host.lock_dir.exists()  # what the message says: the lock is still on the host
        args = _resume_hint(out)
        assert "--break-lock" in args and args[args.index("--start-at") + 1] == "rebuild"
    finally:
        for pid in _hanging_compose(host):
            subprocess.run(["kill", "-9", pid], capture_output=True)
    # the host comes back (same port, same keys): the hint takes the dead run's lock over and finishes
    from tests.fixtures.sshd import start_sshd

    srv = start_sshd(host.sshd.workdir, path_prepend=str(host.sandbox.paths.bin_dir), port=host.sshd.port)
    try:
        r = subprocess.run(inv_cmd("rollback", *args, "--yes"), cwd=str(ROOT), capture_output=True, text=True,
                           timeout=300, stdin=subprocess.DEVNULL,
                           env=inv_env(host.config, host.transcripts, RUNBOOKS_SANDBOX_INIT_DATA=host.sandbox.init_data))
        assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
        assert not host.lock_dir.exists()
    finally:
        srv.stop()
