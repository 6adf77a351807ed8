"""transcripts.verify on real transcripts: intact, an edited byte, a removed event, a
crash-cut last line, a removed tail, an edited last line; exit codes through `inv`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runbooks.transcripts.verify import verify_run
from tests.transcripts.helpers import run_tiny

ROOT = Path(__file__).resolve().parents[2]


def _inv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (d,) = run_tiny(tmp_path, monkeypatch)
    return d


def _lines(d: Path) -> list[bytes]:
    return (d / "events.jsonl").read_bytes().split(b"\n")[:-1]


def _write(d: Path, lines: list[bytes], trailing_newline: bool = True) -> None:
    (d / "events.jsonl").write_bytes(b"\n".join(lines) + (b"\n" if trailing_newline else b""))


def test_real_run_is_intact_and_md_records_the_chain_head(run_dir: Path) -> None:
    v = verify_run(run_dir)
    assert v.status == "intact" and v.exit_code == 0, v.message
    lines = _lines(run_dir)
    assert v.events == len(lines) and json.loads(lines[-1])["type"] == "run_finished"
    md = (run_dir / "transcript.md").read_text()
    assert f"events.jsonl holds {len(lines)} events; SHA-256 of its last line: `{v.last_hash}`" in md
    r = _inv("transcripts.verify", str(run_dir))
    assert r.returncode == 0, r.stderr
    assert "INTACT" in r.stdout


def test_one_edited_byte_is_modified_and_names_the_event(run_dir: Path) -> None:
    lines = _lines(run_dir)
    i = next(n for n, raw in enumerate(lines) if b"listing" in raw and b'"command_finished"' in raw)
    lines[i] = lines[i].replace(b"listing", b"lasting", 1)  # one byte
    _write(run_dir, lines)
    v = verify_run(run_dir)
    seq = json.loads(lines[i])["seq"]
    assert v.status == "modified" and v.seq == seq, v.message
    assert f"event {seq} was modified" in v.message
    r = _inv("transcripts.verify", str(run_dir), "--json")
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "modified" and doc["runs"][0]["seq"] == seq


def test_a_removed_event_is_modified_and_names_it(run_dir: Path) -> None:
    lines = _lines(run_dir)
    removed = json.loads(lines[4])["seq"]
    del lines[4]
    _write(run_dir, lines)
    v = verify_run(run_dir)
    assert v.status == "modified" and v.exit_code == 2
    assert f"event(s) {removed} removed" in v.message


def test_a_crash_cut_last_line_is_truncated_not_tampering(run_dir: Path) -> None:
    (run_dir / "transcript.md").unlink()  # a crashed run never rendered its Markdown
    lines = _lines(run_dir)
    cut = lines[:-1] + [lines[-1][: len(lines[-1]) // 2]]  # partial JSON, no newline
    _write(run_dir, cut, trailing_newline=False)
    v = verify_run(run_dir)
    assert v.status == "truncated" and v.exit_code == 1, v.message
    assert "cut mid-write" in v.message and v.seq == len(lines) - 1
    assert _inv("transcripts.verify", str(run_dir)).returncode == 1


def test_a_removed_tail_is_truncated_with_or_without_the_markdown(run_dir: Path) -> None:
    lines = _lines(run_dir)
    _write(run_dir, lines[:-3])
    v = verify_run(run_dir)
    assert v.status == "truncated", v.message
    assert f"events {len(lines) - 2}-{len(lines)} are missing at the end" in v.message
    (run_dir / "transcript.md").unlink()
    v = verify_run(run_dir)
    assert v.status == "truncated" and "without run_finished" in v.message


def test_an_edited_last_event_is_caught_by_the_hash_in_the_markdown(run_dir: Path) -> None:
    lines = _lines(run_dir)
    last = json.loads(lines[-1])
    last["verdict"] = "ok" if last["verdict"] != "ok" else "warn"
    lines[-1] = json.dumps(last, ensure_ascii=False).encode()
    _write(run_dir, lines)
    v = verify_run(run_dir)
    assert v.status == "modified" and "(the last) was modified" in v.message


def test_a_directory_of_runs_reports_the_worst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d1, d2 = run_tiny(tmp_path, monkeypatch, target="a,b", names=("a", "b"))
    lines = _lines(d2)
    _write(d2, lines[:-1] + [lines[-1][:10]], trailing_newline=False)
    r = _inv("transcripts.verify", str(tmp_path / "transcripts"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "INTACT" in r.stdout and "TRUNCATED" in r.stdout
    assert _inv("transcripts.verify", str(tmp_path / "nothing-here")).returncode == 3
