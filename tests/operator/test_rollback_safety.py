"""Rollback checks before it stops anything, and never leaves the worker stopped silently.
Real processes in a terminal (pexpect), the sandbox behind a real sshd; the host's own
record (docker-calls.jsonl, git) is the witness."""

from __future__ import annotations

import os
import subprocess

from runbooks.packs.eatfit24.rollback.common import conflict_lines
from runbooks.sandbox.paths import STATE_ENV
from runbooks.sandbox.project_repo import CONFLICTING_SUBJECT, add_conflicting_commit
from tests.helpers import inv_env
from tests.operator.helpers import finish, logical_lines, program, screen_rows, spawn
from tests.rollback.conftest import FEATURE, Host, mutating


def _rollback(host: Host, *args: str, cols: int = 100):
    return spawn([*program("inv"), "rollback", *args], inv_env(host.config, host.transcripts), cols=cols)


def _worker(host: Host) -> str:
    return host.container(host.target["containers"]["worker"])["status"]


def test_a_conflicting_revert_is_refused_in_preflight_and_the_worker_is_never_stopped(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    head = add_conflicting_commit(host.repo)
    assert host.sha_of(CONFLICTING_SUBJECT) == head
    child = _rollback(host, "--commit", sha)  # interactive: it must refuse before the first question
    code, out = finish(child)
    assert code == 3, out[-3000:]
    assert "Proceed?" not in out and "CONFIRM" not in out
    assert "CONFLICT (content): Merge conflict in backend/apps/ai/tasks.py" in out
    assert "nothing was stopped" in out
    # the audit: the host saw no command that changes a container; git and the worker untouched
    assert mutating(host.calls()) == []
    assert not [c for c in host.calls() if "stop" in c["argv"]]
    assert _worker(host) == "running"
    assert host.head() == head and host.git("status", "--porcelain") == ""
    assert host.git("worktree", "list", "--porcelain").count("worktree ") == 1  # the temporary one is gone
    assert not host.lock_dir.exists()
    fin = [e for e in host.events() if e["type"] == "run_finished"][0]
    assert fin["verdict"] == "error" and "CONFLICT (content)" in fin["message"]
    assert [s["name"] for s in fin["steps"] if s["status"] != "skipped"][0] == "preflight"


def test_a_clean_revert_passes_the_same_preflight_check(host: Host) -> None:
    """The look-alike: the feature reverts cleanly when nothing was built on top of it."""
    sha = host.sha_of(FEATURE)
    p = host.run("--commit", sha, "--dry-run", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "CONFLICT" not in p.stderr and "PLAN: roll back" in p.stderr
    assert host.git("worktree", "list", "--porcelain").count("worktree ") == 1


def test_declined_after_stop_worker_names_the_stopped_worker_and_its_restart_command(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    before = host.head()
    child = _rollback(host, "--commit", sha)
    child.expect(r"Proceed\? \[y/N\]")  # stop-worker
    child.sendline("y")
    child.expect(r"Proceed\? \[y/N\]")  # git-revert
    child.sendline("n")
    child.expect(r"Start the worker \S+ again now.*\[y/N\]")  # the offer
    child.sendline("n")
    code, out = finish(child)
    assert code == 4
    worker = host.target["containers"]["worker"]
    stopped = [ln for ln in logical_lines(out) if ln.startswith(f"WORKER STOPPED: {worker}")]
    assert stopped, out[-3000:]
    restart = stopped[-1].split("start it again on the host: ", 1)[1].strip()
    assert restart == f"cd {host.repo} && docker compose start celery-worker"
    rows = screen_rows(out, 100)  # in the summary block, on the last screen
    assert max(i for i, r in enumerate(rows) if r.startswith("WORKER STOPPED: ")) >= len(rows) - 24
    assert _worker(host) != "running" and host.head() == before
    fin = [e for e in host.events() if e["type"] == "run_finished"][0]
    assert fin["verdict"] == "aborted" and "WORKER STOPPED" in fin["message"]
    # the command works as given, on the host
    env = {**os.environ, "PATH": f"{host.sandbox.paths.bin_dir}:{os.environ['PATH']}",
           STATE_ENV: str(host.sandbox.paths.root)}
    subprocess.run(["sh", "-c", restart], env=env, check=True, capture_output=True, timeout=60)
    assert _worker(host) == "running"


def test_accepting_the_offer_starts_the_worker_again(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    child = _rollback(host, "--commit", sha)
    child.expect(r"Proceed\? \[y/N\]")
    child.sendline("y")
    child.expect(r"Proceed\? \[y/N\]")
    child.sendline("n")
    child.expect(r"Start the worker \S+ again now.*\[y/N\]")
    child.sendline("y")
    code, out = finish(child)
    assert code == 4
    assert _worker(host) == "running"
    summary = "\n".join(logical_lines(out)).split("── summary")[-1]
    assert "WORKER STOPPED" not in summary and "started again at the operator's request" in summary
    starts = [c for c in host.calls() if c["argv"][1:3] == ["compose", "start"]]
    assert len(starts) == 1


def test_a_successful_rollback_has_no_worker_warning(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    p = host.run("--commit", sha, "--yes", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "WORKER STOPPED" not in p.stderr and _worker(host) == "running"


def test_yes_without_a_terminal_names_the_stopped_worker_without_asking(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    host.sandbox.inject("rebuild_fails")
    p = host.run("--commit", sha, "--yes", "--json")
    assert p.returncode == 2
    assert f"WORKER STOPPED: {host.target['containers']['worker']}" in p.stderr
    assert "docker compose start celery-worker" in p.stderr and "Start the worker" not in p.stderr
    assert not [c for c in host.calls() if c["argv"][1:3] == ["compose", "start"]]


def test_conflict_lines_keep_gits_wording() -> None:
    out = ("Auto-merging backend/apps/ai/tasks.py\nCONFLICT (content): Merge conflict in backend/apps/ai/tasks.py\n"
           "error: could not revert 1234567... feat\n")
    assert conflict_lines(out) == ["CONFLICT (content): Merge conflict in backend/apps/ai/tasks.py"]
    assert conflict_lines("error: something else\n") == []


def test_ctrl_c_at_the_offer_still_names_the_stopped_worker(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    child = _rollback(host, "--commit", sha)
    child.expect(r"Proceed\? \[y/N\]")
    child.sendline("y")
    child.expect(r"Proceed\? \[y/N\]")
    child.sendintr()  # Ctrl-C at the git-revert question
    child.expect(r"Start the worker \S+ again now.*\[y/N\]")
    child.sendintr()  # and at the offer
    code, out = finish(child)
    assert code == 4
    summary = "\n".join(logical_lines(out)).split("── summary")[-1]
    assert f"WORKER STOPPED: {host.target['containers']['worker']}" in summary
    assert "docker compose start celery-worker" in summary
    assert _worker(host) != "running" and not host.lock_dir.exists()
    fin = [e for e in host.events() if e["type"] == "run_finished"][0]
    assert "WORKER STOPPED" in fin["message"]
