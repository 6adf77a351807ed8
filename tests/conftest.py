"""Shared fixtures. Real sshd on 127.0.0.1 with throwaway keys; the sandbox as the host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.fixtures.sshd", "tests.fixtures.sandbox", "tests.fixtures.awks"]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's runbooks.yaml, transcripts or history by accident."""
    monkeypatch.delenv("RUNBOOKS_CONFIG", raising=False)
    monkeypatch.delenv("RUNBOOKS_TARGET", raising=False)
    monkeypatch.setenv("RUNBOOKS_TRANSCRIPTS", str(tmp_path / "transcripts"))
    monkeypatch.setenv("RUNBOOKS_HISTORY", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # never the developer's ~/.config/runbooks
    os.environ.setdefault("COLUMNS", "160")
