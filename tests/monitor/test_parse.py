from __future__ import annotations

from runbooks.packs.eatfit24.monitor.parse import (
    cancel_fields,
    classify,
    extract_result,
    parse_filtered,
    parse_ts,
    split_docker_ts,
    summarize_log,
)

from .facts import filtered
from .logs import BACKEND_LINES, WORKER_LINES


def test_classify_every_format_string_with_prefixes() -> None:
    kinds = [classify(split_docker_ts(line)[1]) for line in WORKER_LINES[1:7]]
    assert kinds == ["race_guard_cancelled", "race_guard_failed", "photo_success", "finalized_complete",
                     "finalized_failed", "orphan_deleted"]
    kinds = [classify(split_docker_ts(line)[1]) for line in BACKEND_LINES]
    assert kinds == ["cancel_received", "cancel_updated_photos", "cancel_revoked", "cancel_event_saved",
                     "cancel_processed", "cancel_received", "cancel_noop", "cancel_received", "cancel_duplicate", "other"]
    assert classify("[AI][Cancel] REVOKE_FAILED task_id=t9 error=ConnectionError()") == "cancel_revoke_failed"
    assert classify("[AI][Cancel] MEAL_MISSING meal_id=3 user=4 (deleted or not owned)") == "cancel_meal_missing"
    assert classify("[AI][Cancel] RACE_CONDITION client_cancel_id=x (another request won), fetching existing") == \
        "cancel_race_condition"


def test_cancel_fields() -> None:
    f = cancel_fields(split_docker_ts(BACKEND_LINES[0])[1])
    assert f["user"] == "5" and f["reason"] == "user_cancel" and f["meal_photo_ids"] == "2"


def test_docker_timestamp_parsing() -> None:
    ts, text = split_docker_ts("2026-01-15T10:00:00.123456789Z [AI] x")
    assert ts == "2026-01-15T10:00:00.123456789Z" and text == "[AI] x"
    dt = parse_ts(ts)
    assert dt is not None and dt.microsecond == 123456 and dt.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert parse_ts("2026-01-15T13:00:00.5+03:00").hour == 13  # type: ignore[union-attr]
    assert split_docker_ts("no stamp here") == (None, "no stamp here")


def test_summary_counts_and_evidence() -> None:
    s = summarize_log(filtered(WORKER_LINES[1:7]), "w")
    assert s["counts"] == {"race_guard_cancelled": 1, "race_guard_failed": 1, "photo_success": 1,
                           "finalized_complete": 1, "finalized_failed": 1, "orphan_deleted": 1}
    assert s["race_guard"][0] == {"container": "w", "ts": "2026-01-15T10:00:01.123456789Z",
                                  "line": WORKER_LINES[1].split(" ", 1)[1], "photo_id": 101, "state": "CANCELLED"}
    assert s["finalized"][1]["meal_id"] == 8 and s["finalized"][1]["as"] == "FAILED"
    assert s["exit_code"] == 0


def test_error_blocks_and_finalization_hint() -> None:
    lines = WORKER_LINES[12:18]  # noise f, ERROR line, Traceback, File ... finalize_meal, meal.save(), IntegrityError
    tags = {1: "C", 2: "E", 3: "E", 4: "C", 5: "C", 6: "E"}
    s = summarize_log(filtered(lines, tags), "w")
    assert len(s["error_blocks"]) == 1
    b = s["error_blocks"][0]
    assert b["finalization"] is True and b["first_ts"] == "2026-01-15T10:00:12.123456789Z"
    assert len(b["lines"]) == 6
    # two separate blocks when line numbers are not contiguous
    out = "5 E ValueError: a\n9 E KeyError: b\n0 S RUNBOOKS_EXIT 0\n"
    assert len(summarize_log(out, "w")["error_blocks"]) == 2


def test_parse_filtered_rejects_garbage_and_reads_exit() -> None:
    f = parse_filtered("garbage\n3 M x\n0 S RUNBOOKS_EXIT 1\n")
    assert f.malformed == 1 and f.exit_code == 1 and [ln.nr for ln in f.lines] == [3]


def test_extract_result_ignores_banner_and_takes_tagged_line() -> None:
    out = ('27 objects imported automatically (use -v 2 for details).\n\n'
           'RUNBOOKS_RESULT {"a": 1}\n')
    assert extract_result(out) == {"a": 1}
    assert extract_result("RUNBOOKS_RESULT not json\n") is None
    assert extract_result('{"a": 1}\n') is None
