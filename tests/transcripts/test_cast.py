"""transcript.cast: valid asciicast v2 from a real run, one marker per step, only the run's
own target's output under fan-out, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbooks.record.cast import CastWriter, read_cast
from runbooks.record.transcript import read_events
from tests.transcripts.helpers import run_tiny


def test_cast_is_asciicast_v2_with_one_marker_per_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (d,) = run_tiny(tmp_path, monkeypatch)
    cast = d / "transcript.cast"
    header, events = read_cast(cast)  # raises on anything that is not asciicast v2
    first = json.loads(cast.read_text().splitlines()[0])
    assert set(first) >= {"version", "width", "height", "timestamp", "title"}
    assert first["version"] == 2 and first["title"] == "tiny on loc"
    markers = [e[2] for e in events if e[1] == "m"]
    steps = [e["step"] for e in read_events(d / "events.jsonl") if e["type"] == "step_started"]
    assert markers == steps == ["hello", "listing", "last"]
    out = "".join(e[2] for e in events if e[1] == "o")
    # the terminal recording keeps the console's own colour (the bold cyan step line) ...
    assert "\x1b[1;36m[1/3] hello" in out
    # ... but never the host's escape codes: remote text cannot drive a replaying terminal
    assert "hello from loc" in out and "\x1b[31m" not in out
    assert "\r\n60\r\n" in out and "VERDICT OK (exit 0)" in out
    assert "\x1b" not in (d / "events.jsonl").read_text() and "\x1b" not in (d / "transcript.md").read_text()
    # ... and each marker precedes its step's output
    i_marker = next(i for i, e in enumerate(events) if e[1] == "m" and e[2] == "listing")
    i_output = next(i for i, e in enumerate(events) if e[1] == "o" and "listing loc" in e[2])
    assert i_marker < i_output


def test_fan_out_each_cast_gets_only_its_own_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = run_tiny(tmp_path, monkeypatch, target="alpha,beta", names=("alpha", "beta"))
    assert len(runs) == 2
    for d in runs:
        me = "alpha" if d.name.endswith("-alpha") else "beta"
        other = "beta" if me == "alpha" else "alpha"
        _, events = read_cast(d / "transcript.cast")
        out = "".join(e[2] for e in events if e[1] == "o")
        assert f"listing {me}" in out and f"from {me}" in out
        assert other not in out
        assert [e[2] for e in events if e[1] == "m"] == ["hello", "listing", "last"]


def test_writer_masks_secrets_and_ignores_other_targets(tmp_path: Path) -> None:
    from runbooks.record.redact import Redactor

    w = CastWriter(tmp_path / "x.cast", "a", "t", Redactor(["sekrit-value"]), solo=False, width=80, height=24)
    w.on_text("a", "token sekrit-value\n", "bold")
    w.on_text("b", "not mine\n", None)
    w.on_text(None, "prompt of a fan-out run\n", None)
    w.marker("step-1")
    w.close()
    header, events = read_cast(tmp_path / "x.cast")
    assert (header["width"], header["height"]) == (80, 24)
    text = json.dumps(events)
    assert "sekrit-value" not in text and "***" in text
    assert [e[1] for e in events] == ["o", "m"]
