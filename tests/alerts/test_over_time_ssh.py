"""Alerts over time, as the team lives it: `inv monitor.p0 --notify telegram,webhook` runs
over a real sshd against the sandbox, with real HTTP servers on 127.0.0.1 standing in for
the Telegram Bot API and a webhook receiver.

One stuck photo seen by three runs is ONE "new" message; its fix is ONE "resolved"; a
second stuck photo is one more "new"; `inv report` then counts 2 distinct problems."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.alerts.servers import serve
from tests.helpers import all_transcript_text, inv_env, run_inv, write_config

TOKEN = "123456:AAH-test-bot-token-never-written"
CHAT = "-1001234567890"


def fix_stuck_photo(sandbox: Any, evidence: dict[str, Any]) -> None:
    """What the team does: the watchdog fails the photo, the meal is finalized."""
    from runbooks.sandbox import flow

    ctx = sandbox._ctx()
    from apps.nutrition.models import Meal

    now = datetime.now(timezone.utc)
    flow.mark_failed(ctx, evidence["photo_id"], now)
    flow.finalize(ctx, Meal.objects.get(id=evidence["meal_id"]), now)
    ctx.flush()


def run_p0(env: dict[str, str], cwd: Path) -> tuple[int, dict[str, Any], str]:
    r = run_inv(["monitor.p0", "--json", "--notify", "telegram,webhook"], env, cwd)
    return r.returncode, json.loads(r.stdout), r.stderr


def stuck(doc: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in doc["findings"] if f["id"] == "stuck_photos")


def test_one_message_per_problem_change_and_report_counts_problems(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                                     tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")
    tr = tmp_path / "transcripts"
    with serve("telegram", token=TOKEN) as tg, serve("webhook") as hook:
        env = inv_env(cfg, tr, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID=CHAT, RUNBOOKS_TELEGRAM_API=tg.url,
                      RUNBOOKS_WEBHOOK_URL=hook.url + "/slack/hook", RUNBOOKS_SANDBOX_INIT_DATA=sandbox.init_data)
        first = sandbox.inject("stuck_photo")
        key_a = f"stuck_photos:photo={first['photo_id']}"

        docs = []
        for n in range(3):
            code, doc, err = run_p0(env, tmp_path)
            assert code == 2, err
            assert {c["id"]: c["status"] for c in doc["checks"]}["api_failed_meal"] == "ok"  # every source seen
            docs.append(doc)
            assert len(tg.received) == 1 and len(hook.received) == 1, (n, tg.texts(), err)
        # run 1: new; runs 2, 3: ongoing since run 1, seen 2 and 3 times
        a1, a3 = stuck(docs[0])["alert"], stuck(docs[2])["alert"]
        assert a1 == {"key": key_a, "state": "new", "first_seen": docs[0]["started_at"],
                      "last_seen": docs[0]["started_at"], "seen": 1}
        assert stuck(docs[1])["alert"]["state"] == "ongoing" and stuck(docs[1])["alert"]["seen"] == 2
        assert a3["state"] == "ongoing" and a3["seen"] == 3 and a3["first_seen"] == docs[0]["started_at"]
        # the stuck meal of that photo is the same problem, not a second alert
        meals = next(f for f in docs[0]["findings"] if f["id"] == "stuck_meals")
        assert meals["alert"]["key"] == key_a
        assert all(d["resolved"] == [] for d in docs)
        # the message, in the team's terms
        msg = tg.received[0]
        assert msg.path == f"/bot{TOKEN}/sendMessage" and msg.body["chat_id"] == CHAT
        text = msg.body["text"]
        assert "NEW P0 stuck_photos on box" in text and f"photo {first['photo_id']}" in text
        assert "count 1" in text and "next: Check celery worker health" in text
        assert docs[0]["transcript"] in text and "RESOLVED" not in text
        assert hook.received[0].path == "/slack/hook" and hook.received[0].body["text"] == text
        md1 = Path(docs[0]["transcript"]).read_text()
        md2 = Path(docs[1]["transcript"]).read_text()
        assert f"`{key_a}` | **NEW**" in md1 and f"`{key_a}` | **ONGOING**" in md2
        assert "webhook: sent" in md1 and "telegram: sent" in md1 and "Notifications:" not in md2

        # the fix: one "resolved", reported once
        fix_stuck_photo(sandbox, first)
        code, fixed, err = run_p0(env, tmp_path)
        assert code == 0, err
        assert [r["key"] for r in fixed["resolved"]] == [key_a]
        assert fixed["resolved"][0]["seen"] == 3 and fixed["resolved"][0]["first_seen"] == docs[0]["started_at"]
        assert len(tg.received) == 2 and len(hook.received) == 2
        assert tg.texts()[1].startswith("✅ RESOLVED P0 stuck_photos on box") and key_a in tg.texts()[1]
        assert f"RESOLVED P0 {key_a}" in err
        code, quiet, err = run_p0(env, tmp_path)  # healthy again: nothing to tell, nothing resolved twice
        assert code == 0 and quiet["resolved"] == [] and len(tg.received) == 2

        # a second stuck photo: one more "new"
        second = sandbox.inject("stuck_photo")
        code, doc5, err = run_p0(env, tmp_path)
        assert code == 2, err
        key_b = f"stuck_photos:photo={second['photo_id']}"
        assert stuck(doc5)["alert"]["key"] == key_b and stuck(doc5)["alert"]["state"] == "new"
        assert len(tg.received) == 3 and len(hook.received) == 3
        assert tg.texts()[2].startswith("🔴 NEW P0 stuck_photos on box") and f"photo {second['photo_id']}" in tg.texts()[2]

        # inv report: 2 distinct problems, each once with first/last seen and its runs
        r = run_inv(["report", "--json"], env, tmp_path)
        assert r.returncode == 2, r.stderr
        rep = json.loads(r.stdout)
        probs = {p["key"]: p for p in rep["problems"]["problems"]}
        assert rep["problems"]["distinct"] == 2 and set(probs) == {key_a, key_b}
        assert rep["problems"]["runs"] == 7  # 6 monitor runs + the report's own
        a, b = probs[key_a], probs[key_b]
        assert a["state"] == "resolved" and a["seen"] == 3
        assert a["first_seen"] == docs[0]["started_at"] and a["last_seen"] == docs[2]["started_at"]
        assert b["state"] == "open" and b["first_seen"] == doc5["started_at"] and b["seen"] == 2
        assert len(a["runs"]) == 3 and len(b["runs"]) == 2
        report_md = Path(rep["report_file"])
        text = report_md.read_text()
        assert "**2 distinct problem(s)**" in text and text.count(f"`{key_a}`") == 1
        for run in a["runs"]:
            assert (report_md.parent / run["link"]).is_file()
        stuck_row = next(c for c in rep["criteria"] if c["id"] == "no_stuck")
        assert stuck_row["status"] == "FAIL" and "2 distinct problem(s)" in stuck_row["summary"]
        # the report's run never notifies
        assert len(tg.received) == 3

    # the bot token and chat id are never written anywhere
    written = all_transcript_text(tr) + (tr / "history.sqlite3").read_bytes().decode("latin-1")
    assert TOKEN not in written and CHAT not in written and hook.url not in written
    assert sandbox.init_data not in written
