"""No flag is a trap: Invoke's core flags are honoured (--dry = --dry-run) or refused with
one line and exit 3 before anything connects, under `inv` and the `runbooks` script; short
flags mean one thing everywhere and nothing destructive has one."""

from __future__ import annotations

import subprocess

import pytest

from runbooks.tasks import ns
from runbooks.tasks.flags import SHORT_FLAGS
from tests.helpers import ROOT, inv_env
from tests.operator.helpers import finish, program, spawn
from tests.rollback.conftest import FEATURE, Host, mutating


def test_inv_dry_rollback_is_a_dry_run_in_a_terminal_and_sends_nothing_mutating(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    before = host.head()
    env = inv_env(host.config, host.transcripts)
    child = spawn([*program("inv")[:-2], "-r", str(ROOT), "--dry", "rollback", "--commit", sha, "--yes"], env)
    code, out = finish(child)
    assert code == 0, out[-3000:]
    assert "[DRY-RUN]" in out and "PLAN: roll back" in out
    assert "when: not dry_run is false" not in out  # the plan, not a list of skipped steps
    assert out.count("dry-run: not run:") == 1
    # the audit: no docker call that changes a container, git untouched, no lock left
    assert mutating(host.calls()) == []
    assert host.head() == before and host.git("status", "--porcelain") == ""
    assert not host.lock_dir.exists()
    assert host.container(host.target["containers"]["worker"])["status"] == "running"
    assert not [c for c in host.calls() if c["argv"][1:3] == ["compose", "stop"]]


def test_inv_without_dry_really_stops_the_worker(host: Host) -> None:
    """The look-alike: the same command without --dry does mutate (the audit above can see it)."""
    sha = host.sha_of(FEATURE)
    p = host.run("--commit", sha, "--yes", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    assert [c for c in mutating(host.calls()) if c["argv"][1:3] == ["compose", "stop"]]


@pytest.mark.parametrize("prog", ["inv", "runbooks"])
@pytest.mark.parametrize("flags", [["--echo"], ["--warn-only"], ["--hide", "both"], ["--pty"],
                                   ["--command-timeout", "5"], ["--dry"]])
def test_core_flags_that_do_not_apply_are_refused_with_one_line(host: Host, prog: str, flags: list[str]) -> None:
    """`--dry` is refused where the task has no dry-run (predeploy drives real meals)."""
    sha = host.sha_of(FEATURE)
    auths = host.sshd.accepted_auths()
    task = ["predeploy", "--drive", "--yes"] if flags == ["--dry"] else ["rollback", "--commit", sha, "--yes"]
    p = subprocess.run([*program(prog), *flags, *task], env=inv_env(host.config, host.transcripts), cwd=str(ROOT),
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 3, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and flags[0] in lines[0] and "Nothing was run" in lines[0], p.stderr
    assert "Traceback" not in p.stderr
    assert host.sshd.accepted_auths() == auths and host.calls() == []
    assert not list(host.transcripts.glob("*-*"))


def test_core_flag_refusal_with_json_prints_one_json_document(host: Host) -> None:
    import json

    p = subprocess.run([*program("inv"), "--echo", "monitor.p0", "--json"], env=inv_env(host.config, host.transcripts),
                       cwd=str(ROOT), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 3
    doc = json.loads(p.stdout)
    assert doc["exit_code"] == 3 and doc["verdict"] == "error" and "--echo" in doc["message"]


def test_runbooks_refuses_prompt_for_sudo_password_before_asking(host: Host) -> None:
    child = spawn([*program("runbooks"), "--prompt-for-sudo-password", "monitor.p0"],
                  inv_env(host.config, host.transcripts))
    code, out = finish(child)
    assert code == 3 and "--prompt-for-sudo-password" in out
    assert "sudo.password" not in out.split("error:")[0]  # never asked for it
    assert host.calls() == []


def test_inv_prompt_for_sudo_password_is_refused_after_invoke_asks(host: Host) -> None:
    """Invoke itself asks before loading our tasks; the task then refuses (exit 3)."""
    child = spawn([*program("inv"), "--prompt-for-sudo-password", "monitor.p0"], inv_env(host.config, host.transcripts))
    child.expect("sudo.password")
    child.sendline("hunter2")
    code, out = finish(child)
    assert code == 3 and "--prompt-for-sudo-password" in out.split("sudo.password")[-1]
    assert host.calls() == []


def _tasks(coll):  # every task in the namespace, with its dotted name
    for name, t in coll.tasks.items():
        yield (f"{coll.name}.{name}" if coll.name else name), t
    for sub in coll.collections.values():
        yield from _tasks(sub)


def test_short_flags_mean_one_thing_everywhere_and_none_is_destructive() -> None:
    seen: dict[str, set[str]] = {}
    for name, t in _tasks(ns):
        for arg in t.get_arguments():
            longs = [n for n in arg.names if len(n) > 1]
            for short in (n for n in arg.names if len(n) == 1):
                seen.setdefault(short, set()).update(longs)
        assert t.auto_shortflags is False, name
    assert all(len(longs) == 1 for longs in seen.values()), seen  # one meaning per short flag
    assert seen == {short: {long.replace("_", "-")} for long, short in SHORT_FLAGS.items()}
    assert seen == {"v": {"verbose"}}  # and that one reads, never changes anything
    rollback_names = {n for a in ns.tasks["rollback"].get_arguments() for n in a.names}
    assert "r" not in rollback_names and "reset-to" in rollback_names and "v" in rollback_names
