"""transcript.md is rendered twice per run (at the verdict, then after the alert lifecycle
appended its events): the second render reuses the first's folded outputs, gives byte for
byte the Markdown a render from scratch gives, and never reuses another run's."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.record import append as alerts_record
from runbooks.record import render
from runbooks.record.redact import Redactor
from runbooks.record.transcript import read_events
from tests.transcripts.test_golden import CANARY, T0, _record

ALERTS = [("alerts", {"updated": True, "mode": "full", "note": "", "marks": [], "resolved": []})]


class _NoMemo:
    active = False  # every fold computed afresh (what every render did before)


def _run_and_alert(base: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(alerts_record, "utcnow", lambda: T0)
    tr = _record(base, monkeypatch)
    alerts_record.append(tr.dir, Redactor([CANARY]), ALERTS)
    return tr.md_path.read_text(encoding="utf-8")


def test_the_alerts_render_reuses_the_runs_folds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folds: list[int] = []
    real = render._pretty_json_lines
    monkeypatch.setattr(render, "_pretty_json_lines", lambda lines: folds.append(1) or real(lines))
    monkeypatch.setattr(render, "_folds", type(render._folds)())  # this thread starts with no memo
    tr = _record(tmp_path / "a", monkeypatch)
    first = len(folds)
    assert first > 0
    monkeypatch.setattr(alerts_record, "utcnow", lambda: T0)
    alerts_record.append(tr.dir, Redactor([CANARY]), ALERTS)
    assert len(folds) == first  # the same outputs, read back from events.jsonl: folded once
    other = [dict(e) for e in read_events(tr.events_path)]
    other[0]["ts"] = "2026-01-15T10:05:00.000Z"  # another run (started later), the same outputs
    render.render_transcript_md(other, {})
    assert len(folds) > first  # folded anew: one run's record never takes another's work


def test_the_markdown_is_the_same_as_without_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "_folds", type(render._folds)())
    reused = _run_and_alert(tmp_path / "reused", monkeypatch)
    monkeypatch.setattr(render, "_folds", _NoMemo())
    fresh = _run_and_alert(tmp_path / "fresh", monkeypatch)
    assert reused == fresh
    assert "## " in reused and CANARY not in reused


def test_the_alerts_render_keeps_the_record_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The alert lifecycle's transcript.md is written 0600 like the rest of the record,
    whatever the umask (it once came out 0644: readable by anyone on the machine)."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        _run_and_alert(tmp_path, monkeypatch)
    finally:
        os.umask(old)
    (md,) = tmp_path.rglob("transcript.md")
    assert stat.S_IMODE(md.stat().st_mode) == 0o600
