"""Notification settings, messages and the per-target rate limit (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from runbooks.alerts import lifecycle, notify
from runbooks.alerts.identity import observe
from runbooks.errors import InputError
from runbooks.packs.eatfit24.monitor.history import History
from tests.alerts.servers import serve

from .test_identity import f

TOKEN = "555:secret-token-xyz"


def test_settings_from_the_environment_and_clear_refusals() -> None:
    assert notify.parse(None) is None
    s = notify.parse("telegram,webhook", {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": "-100",
                                          "RUNBOOKS_WEBHOOK_URL": "https://hooks.example/T0/B0/x"})
    assert s is not None and [c.name for c in s.channels] == ["telegram", "webhook"]
    assert s.channels[0].url == f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    assert s.timeout == 5.0 and s.max_per_hour == 6
    assert set(s.secrets) == {TOKEN, "-100", "https://hooks.example/T0/B0/x"}
    with pytest.raises(InputError, match="TELEGRAM_CHAT_ID"):
        notify.parse("telegram", {"TELEGRAM_BOT_TOKEN": TOKEN})
    with pytest.raises(InputError, match="RUNBOOKS_WEBHOOK_URL"):
        notify.parse("webhook", {})
    with pytest.raises(InputError, match="expected telegram, webhook"):
        notify.parse("email", {})
    with pytest.raises(InputError, match="RUNBOOKS_NOTIFY_TIMEOUT"):
        notify.parse("webhook", {"RUNBOOKS_WEBHOOK_URL": "http://x", "RUNBOOKS_NOTIFY_TIMEOUT": "soon"})


def _change(kind: str = "new", **kw: object) -> lifecycle.Change:
    base = dict(problem_id=1, kind=kind, key="stuck_photos:photo=42", finding="stuck_photos",
                findings=["stuck_photos", "stuck_meals"], severity="P0", count=1, title="Photos stuck in PENDING/PROCESSING",
                action="Check celery worker health", objects=["photo=42"], first_seen="2026-01-14T10:00:00Z",
                last_seen="2026-01-14T16:00:00Z", seen=2, resolved_at=None, transcript="/t/1/transcript.md")
    base.update(kw)
    return lifecycle.Change(**base)  # type: ignore[arg-type]


def test_message_in_the_teams_terms() -> None:
    text = notify.message("prod", [_change(), _change("resolved", key="stuck_meals:meal=9", finding="stuck_meals",
                                                       resolved_at="2026-01-14T17:00:00Z")], "/t/9/transcript.md")
    new, resolved, tail = text.split("\n\n")
    assert new.splitlines()[0] == "🔴 NEW P0 stuck_photos on prod: Photos stuck in PENDING/PROCESSING"
    assert "count 1; photo 42 (also stuck_meals)" in new and "next: Check celery worker health" in new
    assert "inv alerts.ack stuck_photos:photo=42" in new
    assert resolved.startswith("✅ RESOLVED P0 stuck_meals on prod") and "seen in 2 run(s)" in resolved
    assert tail == "transcript: /t/9/transcript.md"
    esc = notify.describe(_change("escalated", count=8, told_count=2), "prod")
    assert "ESCALATED" in esc and "count 2 -> 8" in esc
    long = notify.message("prod", [_change(objects=[f"photo={i}" for i in range(2000)], title="x" * 5000)], "/t")
    assert len(long) <= notify.MAX_TEXT and long.endswith("transcript: /t)")


def test_rate_limit_per_target_and_masked_errors(tmp_path: Path) -> None:
    con = History(tmp_path / "h.sqlite3").connect()
    lifecycle.update(con, lifecycle.RunInfo("prod", "monitor.p0", "s", "f", "p0", "/t"),
                     observe([f("stuck_photos", [{"photo_id": 1}])]), {"stuck_photos"}, "full")
    changes = lifecycle.pending_changes(con, "prod")
    now = datetime.now(timezone.utc)
    with serve("telegram", token=TOKEN) as tg:
        s = notify.parse("telegram", {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": "7",
                                      "RUNBOOKS_TELEGRAM_API": tg.url, "RUNBOOKS_NOTIFY_MAX_PER_HOUR": "2"})
        assert s is not None
        for _ in range(2):
            [d] = notify.send(con, s, "prod", changes, "/t", now=now)
            assert d.ok and d.sent
        [d] = notify.send(con, s, "prod", changes, "/t", now=now)
        assert not d.sent and "rate limit" in d.error and len(tg.received) == 2
        [d] = notify.send(con, s, "staging", changes, "/t", now=now)  # per target
        assert d.ok and len(tg.received) == 3
        bad = notify.parse("telegram", {"TELEGRAM_BOT_TOKEN": "999:wrong-token", "TELEGRAM_CHAT_ID": "7",
                                        "RUNBOOKS_TELEGRAM_API": tg.url})
        assert bad is not None
        [d] = notify.send(con, bad, "other", changes, "/t", now=now)
        assert not d.ok and d.error == "Telegram API HTTP 401: Unauthorized" and "wrong-token" not in d.error
    con.close()


def test_log_problem_message_quotes_the_first_line() -> None:
    c = _change(key="finalization_exception:log=ab12", finding="finalization_exception", findings=["finalization_exception"],
                objects=["log=ab12"], evidence=[{"container": "w", "lines": [{"line": "ERROR finalizing meal_id=41"}]}])
    assert "count 1; log: ERROR finalizing meal_id=41" in notify.describe(c, "prod")
