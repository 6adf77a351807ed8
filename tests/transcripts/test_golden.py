"""Golden file: transcript.md rendered from a fixed run (fixed clock) through the real
Transcript sink. Stable ordering, folded output, no ANSI, and the canary secret masked
in both files. Regenerate after an intended template change with UPDATE_GOLDEN=1."""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from runbooks.record import transcript as transcript_mod
from runbooks.record.redact import Redactor
from runbooks.record.transcript import Transcript

GOLDEN = Path(__file__).parent / "golden" / "transcript.md"
CANARY = "CANARY-9f3e1c-do-not-leak"
T0 = datetime(2026, 1, 15, 10, 0, 0, tzinfo=timezone.utc)


def _record(base: Path, monkeypatch: pytest.MonkeyPatch) -> Transcript:
    ticks = itertools.count()
    monkeypatch.setattr(transcript_mod, "utcnow", lambda: T0 + timedelta(milliseconds=250 * next(ticks)))
    tr = Transcript(base, "rollback", "prod", Redactor([CANARY]), started=T0)
    long_out = "\n".join(f"\x1b[32mline {i}\x1b[0m" for i in range(1, 61)) + "\n"
    tr.emit("run_started", playbook="rollback", playbook_file="playbooks/rollback.yml", target="prod",
            address="deploy@eatfit24.ru:22", role="prod", operator="alice", client_host="laptop",
            argv=f"inv rollback --commit abc1234 --var token={CANARY}", version="0.1.0", commit="0123456789ab",
            options={"dry_run": False, "yes": False, "start_at": None, "vars": {"commit": "abc1234"}},
            steps=["preflight", "stop-worker", "git-revert"])
    tr.emit("connected", address="deploy@eatfit24.ru:22", host_key="SHA256:Zm9vYmFyYmF6cXV4", transport="ssh")
    tr.emit("step_started", step="preflight", kind="shell", description="check the repo", index=1, total=3)
    tr.emit("command", step="preflight", command="git -C /opt/eatfit24 log --oneline -60", mutates=False,
            timeout=60, dry_run=False, stdin_bytes=0)
    tr.emit("command_finished", step="preflight", command="git -C /opt/eatfit24 log --oneline -60", command_seq=4,
            exit_code=0,
            duration_s=0.42, timed_out=False, timeout=60, dry_run=False, mutates=False,
            stdout=long_out, stderr=f"warning: Authorization: Bearer {CANARY}\n")
    tr.emit("http", step="preflight", method="GET", url="https://eatfit24.ru/api/v1/meals/?date=2026-01-15",
            header_names=["X-Telegram-Init-Data"])
    tr.emit("http_finished", step="preflight", method="GET", url="https://eatfit24.ru/api/v1/meals/?date=2026-01-15",
            status=200, duration_s=0.2, error=None, body='{"meals": []}')
    tr.emit("note", step="preflight", text=f"init data {CANARY} in use", level="warn")
    tr.emit("step_finished", step="preflight", status="ok", duration_s=1.0, message="", facts_keys=[])
    tr.emit("step_started", step="stop-worker", kind="shell", description="stop the celery worker", index=2, total=3)
    tr.emit("confirm", step="stop-worker", prompt="Run this mutating command on prod?",
            commands=["docker exec eatfit24-celery-worker-1 pkill -f 'celery worker'"], answer="prod",
            by="operator alice (typed)", expected="prod", granted=True)
    tr.emit("command", step="stop-worker", command="docker exec eatfit24-celery-worker-1 pkill -f 'celery worker'",
            mutates=True, timeout=60, dry_run=False, stdin_bytes=0)
    tr.emit("interrupted", message="interrupted by the operator (Ctrl-C)")
    tr.emit("step_finished", step="stop-worker", status="aborted", duration_s=3.5)
    tr.emit("finding", id="stuck_photos", severity="P0", title="Photos stuck in PENDING/PROCESSING", count=2,
            evidence=[{"photo_id": 7, "status": "PROCESSING", "age_s": 600}, {"photo_id": 9, "status": "PENDING", "age_s": 90}],
            action="Check celery worker health", status="alert", reason="", threshold="> 60s", check="3")
    tr.emit("finding", id="api_failed_meal", severity="P0", title="FAILED meal in the meals API", count=0, evidence=[],
            action="", status="skipped", reason="no API credentials configured", threshold="any", check="5")
    tr.emit("finding", id="cancelled_photo_with_results", severity="P0", title="CANCELLED photo with results",
            count=0, evidence=[], action="", status="ok", reason="", threshold="any", check="4")
    tr.emit("run_finished", verdict="aborted", exit_code=4, message="interrupted by the operator (Ctrl-C)",
            metrics={"stuck_photos": 2, "dau": None}, remote_commands=2,
            resume="inv rollback --commit abc1234 --start-at stop-worker",
            steps=[{"name": "preflight", "status": "ok"}, {"name": "stop-worker", "status": "aborted"}])
    tr.close()
    tr.render_markdown()
    return tr


def test_transcript_md_matches_the_golden_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tr = _record(tmp_path, monkeypatch)
    md = tr.md_path.read_text(encoding="utf-8")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(md, encoding="utf-8")
    assert md == GOLDEN.read_text(encoding="utf-8")


def test_canary_secret_and_ansi_never_reach_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tr = _record(tmp_path, monkeypatch)
    md = tr.md_path.read_text(encoding="utf-8")
    events = tr.events_path.read_text(encoding="utf-8")
    for text in (md, events):
        assert CANARY not in text
        assert "\x1b" not in text and "\\u001b" not in text
    assert "token=***`" in md and "Authorization: ***" in md  # masked where it was, not dropped
    # what makes it a standalone attachment
    for needle in ("SHA256:Zm9vYmFyYmF6cXV4", "alice on laptop", "commit 0123456789ab", "exit code **0**",
                   "20 lines folded (full output in events.jsonl, event 5)", "**No result recorded** (event 12)",
                   "operator alice (typed)", "To resume: `inv rollback --commit abc1234 --start-at stop-worker`",
                   "| **P0** | `stuck_photos` | 2 |", "| P0 | `api_failed_meal` | skipped | `no API credentials configured` |"):
        assert needle in md, needle
    # timeline rows are in event order
    seqs = [int(line.split("|")[2]) for line in md.splitlines() if line.startswith("| 2026-01-15T") and line.split("|")[2].strip().isdigit()]
    assert seqs == sorted(seqs) and seqs[0] == 1 and seqs[-1] == 18
