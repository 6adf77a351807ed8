"""Operator mode through a real pseudo-terminal (pexpect): the checklist and the prompt
show, the operator does the UI step (here: the test, through the sandbox's HTTP endpoints)
while the run waits, Enter continues to a verified PASS; `q` aborts with exit 4. Also:
`role: prod` is refused before anything runs, and operator mode without a terminal too."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pexpect

from .helpers import ROOT, Phone, api_user_id, run_predeploy, task_env, write_config


def _spawn(config: Path, *args: str) -> pexpect.spawn:
    return pexpect.spawn(sys.executable, ["-m", "invoke", "-r", str(ROOT), "predeploy", "--target", "stg", *args],
                         env=task_env(config), encoding="utf-8", timeout=60, dimensions=(50, 200))


def test_prompt_waits_for_operator_then_enter_verifies(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_target, predeploy={"test_user_id": api_user_id(sandbox)})
    child = _spawn(config, "--scenario", "C", "--timeout", "60")
    child.expect("Click Cancel while it is PROCESSING")  # the checklist is shown first
    child.expect("Press Enter when done")
    up = Phone(sandbox).scenario_c()  # the operator's clicks, while the prompt waits
    child.sendline("")
    child.expect(pexpect.EOF, timeout=90)
    child.close()
    out = child.before or ""
    assert child.exitstatus == 0, out
    assert f"Photo {up['meal_photo_id']} is in terminal state CANCELLED" in out
    assert "PASS" in out
    events = [json.loads(ln) for p in (tmp_path / "transcripts").glob("*/events.jsonl") for ln in p.read_text().splitlines()]
    prompts = [e for e in events if e["type"] == "prompt"]
    assert prompts and prompts[0]["answer"] == "" and prompts[0]["by"].startswith("operator")


def test_q_at_the_prompt_aborts_with_exit_4(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_target, predeploy={"test_user_id": api_user_id(sandbox)})
    child = _spawn(config, "--scenario", "A")
    child.expect("Press Enter when done")
    calls_path = sandbox.paths.calls
    before = calls_path.read_text().splitlines() if calls_path.exists() else []
    child.sendline("q")
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus == 4, child.before
    assert "aborted" in (child.before or "").lower()
    after = calls_path.read_text().splitlines() if calls_path.exists() else []
    assert after == before  # nothing reached the host after the abort: no lookup, no log scan


def test_role_prod_is_refused_without_allow_prod(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_target, role="prod", predeploy={"test_user_id": api_user_id(sandbox)})
    before = sandbox.paths.calls.read_text() if sandbox.paths.calls.exists() else ""
    proc = run_predeploy(config, "--drive", "--yes")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "role: prod" in proc.stderr and "--allow-prod" in proc.stderr
    after = sandbox.paths.calls.read_text() if sandbox.paths.calls.exists() else ""
    assert after == before  # no docker command reached the host
    assert not (tmp_path / "transcripts").exists()  # no run was even started


def test_operator_mode_without_a_terminal_is_refused(sandbox: Any, sandbox_target: dict[str, Any], tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_target, predeploy={"test_user_id": api_user_id(sandbox)})
    proc = run_predeploy(config, "--scenario", "B")
    assert proc.returncode == 3
    assert "not a terminal" in proc.stderr and "--drive" in proc.stderr
    assert not (tmp_path / "transcripts").exists()


def test_prompt_timeout_ends_the_wait_and_the_scenario_fails_with_the_reason(sandbox: Any, sandbox_target: dict[str, Any],
                                                                             tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_target, predeploy={"test_user_id": api_user_id(sandbox)})
    child = _spawn(config, "--scenario", "B", "--timeout", "2")
    child.expect("Press Enter when done")
    child.expect("no answer within 2 s")  # nobody typed anything: the real select() timeout fired
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus == 2, child.before
    assert "no meal of test user" in (child.before or "")
