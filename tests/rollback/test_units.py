"""Pure pieces of the rollback: flag validation, lock records, parsers, rendered commands."""

from __future__ import annotations

import pytest

from runbooks.errors import InputError
from runbooks.packs.eatfit24.rollback import cmds, djshell, inputs, lock, plan
from runbooks.packs.eatfit24.rollback.common import parse_head, reverts

V = {"project_dir": "/opt/eatfit24", "backend": "eatfit24-backend-1", "worker": "eatfit24-celery-worker-1",
     "compose_services": {"backend": "backend", "worker": "celery-worker"}, "commit": "abcdef1", "target": "prod",
     "lock_token": "t0k", "operator": "ann", "client_host": "lap", "client_pid": 7, "started_at": "2026-01-15T10:00:00Z"}


@pytest.mark.parametrize("value", ["abc;rm -rf /", "$(id)", "`id`", "abcdef1\n", "abcdef", "a" * 41,
                                   "-abcdef1", "abcdefg"])
def test_sha_refuses_anything_but_7_to_40_hex(value: object) -> None:
    with pytest.raises(InputError, match="expected a commit SHA"):
        inputs.sha("--commit", value)


@pytest.mark.parametrize("value", ["", None])
def test_a_missing_sha_says_the_flag_is_required(value: object) -> None:
    with pytest.raises(InputError, match="--commit is required"):
        inputs.sha("--commit", value)


def test_sha_accepts_short_and_full_and_lowercases() -> None:
    assert inputs.sha("--commit", "ABCDEF1") == "abcdef1"
    assert inputs.sha("--commit", "a" * 40) == "a" * 40


def test_start_at_and_target_validation() -> None:
    assert inputs.start_at("rebuild", ["preflight", "rebuild"]) == "rebuild"
    with pytest.raises(InputError, match="unknown step"):
        inputs.start_at("rebuild;id", ["preflight", "rebuild"])
    with pytest.raises(InputError):
        inputs.target("x;y")
    assert inputs.target("prod") == "prod"


def test_resume_command_repeats_every_flag_that_changes_the_plan() -> None:
    r = inputs.resume_command("abcdef1", "prod", "1234567", True)
    assert r.format(step="rebuild") == ("inv rollback --commit abcdef1 --target prod --reset-to 1234567 --cleanup "
                                        "--start-at rebuild")


def test_lock_commands_are_atomic_and_quote_the_owner_record() -> None:
    take = lock.take(V).render()
    assert take.startswith("if mkdir /opt/eatfit24/.runbooks-rollback.lock 2>/dev/null; then")
    assert "exit 75" in take
    v = {**V, "operator": "x'; rm -rf / #"}
    assert "'\"'\"'" in lock.take(v).render()  # the quote inside the JSON is escaped, not executed
    rel = lock.release(V, "t0k").render()
    assert "grep -qF t0k" in rel and "rm -rf" not in rel  # releases only its own lock, never rm -rf


def test_lock_holder_parsing_and_description() -> None:
    holder = lock.parse_holder('RUNBOOKS_LOCK held\n{"operator": "ann", "client_host": "lap", "pid": 7}\n')
    assert holder is not None and "ann@lap pid 7" in lock.describe_holder(holder)
    assert "unknown holder" in lock.describe_holder(lock.parse_holder("RUNBOOKS_LOCK held\n"))


def test_revert_detection_needs_the_full_sha() -> None:
    full = "a" * 40
    assert reverts(f'Revert "x"\n\nThis reverts commit {full}.\n', full)
    assert not reverts(f'Revert "x"\n\nThis reverts commit {"b" * 40}.\n', full)
    assert parse_head(f"{full}\n--body--\nmsg\n") == (full, "msg\n")


def test_parse_states() -> None:
    s = cmds.parse_states("/w|exited|false|2|137|2026-01-15T10:00:00Z\nError: No such object: x\n")
    assert s == {"w": {"status": "exited", "running": False, "restarts": 2, "exit_code": 137,
                       "started_at": "2026-01-15T10:00:00Z"}}


def test_revert_sets_an_identity_only_when_the_host_has_none() -> None:
    assert cmds.revert(V, "a" * 40, None).render() == f"git -C /opt/eatfit24 revert --no-edit {'a' * 40}"
    r = cmds.revert(V, "a" * 40, cmds.identity_for(V)).render()
    assert r.startswith("git -C /opt/eatfit24 -c 'user.name=ann (runbooks rollback)' -c user.email=ann@lap revert")


def test_django_scripts_carry_params_as_data_and_parse_the_tagged_line() -> None:
    s = djshell.script("rollback_cleanup.py.j2", {"apply": False, "photo_ids": [1], "meal_ids": [2],
                                                   "older_than_s": 60, "selection": "x\"); import os #",
                                                   "error_code": "E", "error_message": "m"})
    compile(s, "cleanup", "exec")  # valid Python whatever the strings hold
    assert "import os #" not in s.split("PARAMS = json.loads(")[0]
    assert djshell.parse('27 objects imported automatically\n\nRUNBOOKS_RESULT {"a": 1}\n') == {"a": 1}
    assert djshell.parse("Affected meals: 3\n") is None


def test_plan_lists_every_command_and_the_typed_reset() -> None:
    pf = {"commit_full": "a" * 40, "head": "c" * 40, "reset_full": "b" * 40, "git_identity": True}
    steps = plan.build({**V, "cleanup": True}, pf)
    assert [s["step"] for s in steps] == ["stop-worker", "check-affected", "git-revert", "rebuild", "cleanup",
                                          "verify", "host-state", "release-lock"]
    text = plan.render(steps, V, pf)
    assert f"git -C /opt/eatfit24 reset --hard {'b' * 40}" in text and "typed confirmation" in text
    assert "cd /opt/eatfit24 && docker compose up -d --build --force-recreate backend celery-worker" in text
    resumed = plan.build({**V, "start_at": "rebuild"}, {**pf, "reset_full": None, "already_reverted": True})
    assert [s["step"] for s in resumed][:2] == ["rebuild", "verify"]
