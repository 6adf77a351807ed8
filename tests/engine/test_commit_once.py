"""The tool's own commit (run_started's `commit`) is asked of git once per process, not
once per target: a 32-target fan-out ran 64 git processes for the same answer."""

from __future__ import annotations

import threading

import pytest

from runbooks.engine import options


def test_git_is_asked_once_for_every_target(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(options, "_commit", [])
    real = options._git_commit
    monkeypatch.setattr(options, "_git_commit", lambda: calls.append(1) or real())
    seen: list[str | None] = []
    threads = [threading.Thread(target=lambda: seen.append(options.runbooks_commit())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(seen) == 8 and len(set(seen)) == 1
    assert seen[0] == real()  # the same answer git gives (a commit id, or None outside a checkout)
