"""The built-in target: auto-start, DESIGN.md schema, secret only via the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runbooks.sandbox import Sandbox, builtin_target, ensure_up, export_init_data


def test_builtin_target_autostarts_and_matches_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "sb"
    monkeypatch.delenv("RUNBOOKS_SANDBOX_INIT_DATA", raising=False)
    sb = ensure_up(state, seed=20)
    try:
        assert ensure_up(state).status()["server_pid"] == sb.status()["server_pid"]  # idempotent
        t = builtin_target(state)
        assert t["transport"] == "local" and t["role"] == "sandbox" and t["confirm"] == "yes"
        assert t["containers"] == {"backend": "eatfit24-backend-1", "worker": "eatfit24-celery-worker-1"}
        assert t["compose_services"] == {"backend": "backend", "worker": "celery-worker"}
        assert t["env"]["PATH"].split(os.pathsep)[0] == str(sb.paths.bin_dir)
        assert t["api"]["headers"] == {"X-Telegram-Init-Data": "${RUNBOOKS_SANDBOX_INIT_DATA}"}
        assert sb.init_data not in json.dumps(t)
        export_init_data(state)
        assert os.environ["RUNBOOKS_SANDBOX_INIT_DATA"] == sb.init_data
        assert sb.ground_truth()["db"]["meals"]["COMPLETE"] > 0  # seeded on first start
    finally:
        Sandbox(state).down()
    assert not Sandbox(state).is_up()
