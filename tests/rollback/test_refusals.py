"""What must never half-run: bad input, no terminal without --yes, a wrong typed answer.
Real processes, real sshd, the sandbox's docker-calls.jsonl and git as witnesses."""

from __future__ import annotations

import os
import sys

import pexpect
import yaml

from tests.helpers import ROOT, inv_env
from tests.rollback.conftest import FEATURE, Host, doc, mutating

BAD = [
    ("--commit", "abc;rm -rf /"),
    ("--commit", "$(id)"),
    ("--commit", "`id`"),
    ("--commit", "abc1234\nid"),
    ("--commit", "abc123"),            # too short
    ("--commit", "g" * 40),            # not hex
    ("--reset-to", "$(touch /tmp/pwned)"),
    ("--target", "x;y"),
    ("--target", "box`id`"),
    ("--start-at", "rebuild;id"),
]


def test_injection_attempts_are_refused_before_connecting(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    before = host.head()
    for flag, value in BAD:
        args = ["--yes", "--json"] + ([] if flag == "--commit" else ["--commit", sha]) + [flag, value]
        auths, calls = host.sshd.accepted_auths(), len(host.calls())
        p = host.run(*args)
        assert p.returncode == 3, (flag, value, p.stdout, p.stderr)
        d = doc(p)
        assert d["exit_code"] == 3 and d["steps"] == []
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr  # one clear line
        assert host.sshd.accepted_auths() == auths, (flag, value)  # never connected
        assert len(host.calls()) == calls and host.head() == before
    assert not os.path.exists("/tmp/pwned")


def test_injection_in_target_config_values(host: Host, tmp_path) -> None:
    sha = host.sha_of(FEATURE)
    bad = {**host.target, "containers": {"backend": "eatfit24-backend-1;id", "worker": "w"}}
    host.config.write_text(yaml.safe_dump({"targets": {"box": bad}}))
    auths = host.sshd.accepted_auths()
    p = host.run("--commit", sha, "--yes", "--target", "box")
    assert p.returncode == 3 and "containers.backend" in p.stderr
    assert host.sshd.accepted_auths() == auths
    # a project_dir with shell syntax is quoted: it reaches git as one odd path, and fails read-only
    marker = tmp_path / "pwned"
    odd = {**host.target, "project_dir": f"{host.repo}; touch {marker}"}
    host.config.write_text(yaml.safe_dump({"targets": {"box": odd}}))
    p = host.run("--commit", sha, "--yes", "--target", "box", "--json")
    assert p.returncode == 3, p.stderr[-2000:]
    assert "does not exist on the host" in doc(p)["message"]
    assert not marker.exists() and mutating(host.calls()) == []


def test_non_tty_without_yes_is_refused_before_anything_runs(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    auths = host.sshd.accepted_auths()
    p = host.run("--commit", sha, stdin="")  # stdin is a pipe, not a terminal
    assert p.returncode == 3
    assert "not a terminal" in p.stderr and "--yes" in p.stderr
    assert host.sshd.accepted_auths() == auths and host.calls() == []
    assert not host.lock_dir.exists() and not list(host.transcripts.glob("*-rollback-*"))


def test_wrong_typed_confirmation_aborts_with_4_and_releases_the_lock(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    before = host.head()
    typed = {**host.target, "confirm": "typed"}
    host.config.write_text(yaml.safe_dump({"targets": {"box": typed}, "default_target": "box"}))
    env = inv_env(host.config, host.transcripts)
    child = pexpect.spawn(sys.executable, ["-m", "invoke", "-r", str(ROOT), "rollback", "--commit", sha],
                          env=env, cwd=str(ROOT), encoding="utf-8", timeout=60, dimensions=(50, 200))
    try:
        child.expect("Type the target name 'box' to proceed")
        assert host.lock_dir.exists()  # preflight took the lock before the first question
        child.sendline("yes")  # not the target name
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 4, child.before
    assert not host.lock_dir.exists()  # released by the always-step after the abort
    assert host.head() == before and mutating(host.calls()) == []
    ev = host.events()
    c = [e for e in ev if e["type"] == "confirm"]
    assert len(c) == 1 and c[0]["step"] == "stop-worker" and c[0]["answer"] == "yes"
    assert c[0]["granted"] is False and c[0]["expected"] == "box" and "typed" in c[0]["by"]
    fin = [e for e in ev if e["type"] == "run_finished"][0]
    assert fin["verdict"] == "aborted" and fin["exit_code"] == 4
    assert fin["resume"] == f"inv -r {ROOT} rollback --commit {sha} --start-at stop-worker"


def test_ctrl_c_at_a_prompt_aborts_with_4_and_releases_the_lock(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    env = inv_env(host.config, host.transcripts)
    child = pexpect.spawn(sys.executable, ["-m", "invoke", "-r", str(ROOT), "rollback", "--commit", sha],
                          env=env, cwd=str(ROOT), encoding="utf-8", timeout=60, dimensions=(50, 200))
    try:
        child.expect(r"Proceed\? \[y/N\]")  # the sandbox target asks y/N (confirm: yes)
        assert host.lock_dir.exists()
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 4
    assert not host.lock_dir.exists() and mutating(host.calls()) == []
    fin = [e for e in host.events() if e["type"] == "run_finished"][0]
    assert fin["verdict"] == "aborted"
    assert [s["name"] for s in fin["steps"]][-2:] == ["host-state", "release-lock"]
