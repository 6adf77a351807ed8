"""`compose`, `git` and `lock` over a real sshd against the sandbox host: its docker
compose project, its git checkout, its filesystem."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from runbooks.errors import PlaybookError
from runbooks.lang.parse import parse_playbook
from runbooks.sandbox import Sandbox
from tests.blocks.helpers import run_steps, sandbox_over_ssh


def _step(step: str, kind: str, mutates: bool = False, /, **params: Any) -> dict[str, Any]:
    return {"name": step, "kind": kind, "params": params, **({"mutates": True} if mutates else {})}


def _git(sb: Sandbox, *args: str) -> str:
    return subprocess.run(["git", "-C", str(sb.paths.project), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_compose_stops_and_starts_a_service_and_ps_sees_it(sandbox_state: Sandbox, tmp_path: Path) -> None:
    worker = sandbox_state.config.worker_service
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        res = run_steps(target, [
            _step("before", "compose", action="ps", roles=["worker"]),
            _step("stop", "compose", True, action="stop", services=[worker]),
            _step("stopped", "compose", action="ps", services=[worker]),
            _step("start", "compose", True, action="restart", roles=["worker"]),
            _step("after", "compose", action="ps", services=[worker]),
        ], tmp_path)
    assert res.exit_code == 0, res.message
    state = {name: [(c["service"], c["state"]) for c in res.facts[name]["containers"]]
             for name in ("before", "stopped", "after")}
    assert state == {"before": [(worker, "running")], "stopped": [(worker, "exited")], "after": [(worker, "running")]}


def test_a_bad_service_fails_and_stops_nothing(sandbox_state: Sandbox, tmp_path: Path) -> None:
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        bad = run_steps(target, [_step("stop", "compose", True, action="stop", services=["no-such-service"])], tmp_path)
        ps = run_steps(target, [_step("ps", "compose", action="ps", roles=["worker"])], tmp_path)
    assert bad.steps[0].status == "failed" and "no such service: no-such-service" in bad.steps[0].message
    assert ps.facts["ps"]["containers"][0]["state"] == "running"


@pytest.mark.parametrize(("kind", "params", "change"), [
    ("compose", {"action": "stop", "roles": ["worker"]}, "compose stop"),
    ("git", {"action": "reset", "ref": "HEAD~1"}, "git reset"),
    ("lock", {"action": "take"}, "lock take"),
])
def test_a_step_that_changes_the_host_must_say_so_before_anything_runs(kind: str, params: dict[str, Any],
                                                                        change: str) -> None:
    """A playbook whose second step forgot `mutates: true` must not run its first one."""
    steps = [_step("first", "compose", True, action="stop", roles=["worker"]), _step("s", kind, **params)]
    with pytest.raises(PlaybookError, match=rf"steps\.s\.mutates: {change} changes the host"):
        parse_playbook({"name": "p", "steps": steps}, "p.yml")
    parse_playbook({"name": "p", "steps": [_step("s", kind, **params) | {"mutates": True}]}, "p.yml")
    assert parse_playbook({"name": "p", "steps": [_step("r", "git", action="status")]}, "p.yml").mutating is False


def test_git_reads_the_checkout_and_reverts_a_commit(sandbox_state: Sandbox, tmp_path: Path) -> None:
    head = _git(sandbox_state, "rev-parse", "HEAD")
    subjects = _git(sandbox_state, "log", "-n", "3", "--format=%s").splitlines()
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        res = run_steps(target, [
            _step("head", "git", action="rev-parse"),
            _step("status", "git", action="status"),
            _step("log", "git", action="log", count=3),
            _step("undo", "git", True, action="revert", ref=head),
        ], tmp_path)
    assert res.exit_code == 0, res.message
    assert res.facts["head"]["sha"] == head
    assert res.facts["status"]["clean"] is True
    assert [c["subject"] for c in res.facts["log"]["commits"]] == subjects
    new_head = _git(sandbox_state, "rev-parse", "HEAD")
    assert res.facts["undo"]["head"] == new_head != head
    assert _git(sandbox_state, "log", "-1", "--format=%s").startswith("Revert ")


def test_git_with_an_unknown_ref_fails_and_changes_nothing(sandbox_state: Sandbox, tmp_path: Path) -> None:
    head = _git(sandbox_state, "rev-parse", "HEAD")
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        read = run_steps(target, [_step("head", "git", action="rev-parse", ref="no-such-branch")], tmp_path)
        reset = run_steps(target, [_step("reset", "git", True, action="reset", ref="no-such-branch")], tmp_path)
    assert read.steps[0].status == "failed" and "exited" in read.steps[0].message
    assert reset.steps[0].status == "failed" and "no-such-branch" in reset.steps[0].message
    assert _git(sandbox_state, "rev-parse", "HEAD") == head


def test_lock_is_exclusive_and_released_only_by_its_run(sandbox_state: Sandbox, tmp_path: Path) -> None:
    lock_dir = sandbox_state.paths.project / ".runbooks-cleanup.lock"
    take = _step("lock", "lock", True, action="take", name="cleanup")
    release = _step("unlock", "lock", True, action="release", name="cleanup") | {"always": True}
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        first = run_steps(target, [take], tmp_path)
        assert first.exit_code == 0, first.message
        assert (lock_dir / "owner").is_file()
        token = first.facts["lock"]["token"]
        assert token in (lock_dir / "owner").read_text()
        second = run_steps(target, [take, _step("never", "git", action="status"), release], tmp_path)
        assert second.exit_code == 2 and second.steps[0].status == "failed"
        assert "is held by" in second.steps[0].message and "never" not in second.facts
        assert second.steps[-1].status == "skipped"  # it holds no lock: it must not release the first run's
        assert token in (lock_dir / "owner").read_text()
        third = run_steps(target, [_step("breaker", "lock", True, action="break", name="cleanup"),
                                   _step("ok", "git", action="status"), release], tmp_path)
    assert third.exit_code == 0, third.message
    assert [s.status for s in third.steps] == ["ok", "ok", "ok"]
    assert not lock_dir.exists()


@pytest.mark.parametrize(("kind", "params", "error"), [
    ("compose", {"action": "down"}, "action: required, one of"),
    ("compose", {"action": "stop", "services": ["--volumes"]}, "services: must be a list of names"),
    ("compose", {"action": "ps", "build": True}, "build: only with action: up"),
    ("git", {"action": "revert"}, "ref: required for revert"),
    ("git", {"action": "log", "ref": "--output=/tmp/x"}, "ref: must be a commit"),
    ("git", {"action": "push"}, "action: required, one of"),
    ("lock", {"action": "take", "name": "../etc"}, "name: lowercase letters"),
    ("lock", {"action": "grab"}, "action: required, one of take, release, break"),
])
def test_bad_params_are_refused_before_anything_runs(kind: str, params: dict[str, Any], error: str) -> None:
    with pytest.raises(PlaybookError, match=r"steps\.s\.params\." + error):
        parse_playbook({"name": "p", "steps": [_step("s", kind, **params)]}, "p.yml")
