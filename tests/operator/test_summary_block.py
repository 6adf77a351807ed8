"""The verdict is on the last screen: after a P0 on an 80x24 terminal, the summary block
(verdict, each P0/P1 finding with count, threshold and first evidence ids, next action,
transcript) is within the last 24 rows; ids are never cut; evidence reads key=value."""

from __future__ import annotations

import json
import re
from pathlib import Path

from runbooks.model import Finding, RunResult
from runbooks.summary import block, evidence_line, kv
from tests.helpers import inv_env
from tests.operator.helpers import finish, logical_lines, program, screen_rows, spawn

FAULTS = ("cancelled_photo_with_results", "stuck_photo", "stuck_meal", "finalization_exception", "failed_spike")


def _env(tmp_path: Path) -> dict[str, str]:
    return inv_env(None, tmp_path / "transcripts", XDG_CONFIG_HOME=str(tmp_path / "xdg"))


def test_after_a_p0_the_summary_block_is_within_the_last_24_rows_at_80_columns(sandbox, tmp_path: Path) -> None:
    for f in FAULTS:
        sandbox.inject(f)
    child = spawn([*program("inv"), "monitor.all"], _env(tmp_path), cwd=tmp_path, cols=80, rows=24)
    code, out = finish(child)
    assert code == 2, out[-3000:]
    last = screen_rows(out, 80)[-24:]
    screen = "\n".join(last)
    assert any(r.startswith("VERDICT P0 (exit 2) on sandbox") for r in last), screen
    assert "SIMULATED HOST" in screen
    for fid in ("cancelled_photo_with_results", "stuck_photos", "stuck_meals", "finalization_exception"):
        assert re.search(rf"^  P0 {fid}  count=\d+", screen, re.M), (fid, screen)  # whole id, its count
    # the P1s come after the P0s: listed when they fit, else counted
    assert re.search(r"^  P1 [a-z_]+  count=", screen, re.M) or re.search(r"^  \+\d+ more P0/P1 findings", screen, re.M)
    assert "threshold" in screen
    assert re.search(r"^      photo_id=\d+ meal_id=\d+", screen, re.M), screen  # first evidence ids
    assert re.search(r"^      ts=20\d\d-\S+ container=eatfit24-", screen, re.M), screen  # log time
    assert re.search(r"^Next: ", screen, re.M) and re.search(r"^Transcript: ", screen, re.M)
    assert "transcript.md" in screen.replace("\n", "")
    assert "+" in screen and " more" in screen  # the rest is counted, not listed
    block_text = "\n".join(logical_lines(out)).split("── summary")[-1]
    assert "{'" not in block_text and "': " not in block_text  # never a Python repr


def test_a_healthy_run_ends_with_the_ok_verdict_on_the_last_screen(sandbox, tmp_path: Path) -> None:
    child = spawn([*program("inv"), "monitor.all"], _env(tmp_path), cwd=tmp_path, cols=80, rows=24)
    code, out = finish(child)
    assert code == 0, out[-3000:]
    last = "\n".join(screen_rows(out, 80)[-8:])
    assert "VERDICT OK (exit 0) on sandbox" in last and "Transcript: " in last
    assert " P0 " not in last


def test_verbose_shows_each_commands_output(sandbox, tmp_path: Path) -> None:
    sandbox.inject("stuck_photo")
    quiet = spawn([*program("inv"), "monitor.stuck"], _env(tmp_path), cwd=tmp_path, cols=120)
    _, q = finish(quiet)
    loud = spawn([*program("inv"), "monitor.stuck", "-v"], _env(tmp_path), cwd=tmp_path, cols=120)
    code, v = finish(loud)
    assert code == 2
    assert "RUNBOOKS_RESULT" in v and "    | " in v  # the Django shell's result line, on the console
    assert "RUNBOOKS_RESULT" not in q


def test_json_says_simulated_and_stdout_is_one_document(sandbox, tmp_path: Path) -> None:
    import subprocess

    p = subprocess.run([*program("inv"), "monitor.p0", "--json"], env=_env(tmp_path), cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=120)
    doc = json.loads(p.stdout)
    assert doc["simulated"] is True and doc["target"] == "sandbox"
    assert "SIMULATED HOST" in p.stderr


# -- the block as text (pure) ----------------------------------------------------------

def _finding(fid: str, n: int, ev: list[dict]) -> Finding:
    return Finding(id=fid, severity="P0", title="t", count=n, evidence=ev, action="roll back", threshold="any")


def test_ids_are_never_cut_and_evidence_fits_with_a_count_of_the_rest() -> None:
    long_id = "cancelled_photo_with_results_and_a_very_long_suffix_that_goes_past_eighty_columns"
    f = _finding(long_id, 40, [{"photo_id": i, "meal_id": 1000 + i, "line": "x " * 50} for i in range(20)])
    r = RunResult("monitor.p0", "prod", "a", "b", "p0", 2, findings=[f], transcript="t/transcript.md")
    lines = [ln.text for ln in block(r, None, 80)]
    assert any(ln.startswith(f"  P0 {long_id}") for ln in lines)
    ev = evidence_line(f, 80)
    assert ev is not None and len(ev) <= 80 and ev.strip().startswith("photo_id=0 meal_id=1000")
    shown = ev.count("photo_id=")
    assert ev.endswith(f"+{40 - shown} more") and "line=" not in ev
    assert all(len(ln) <= 80 for ln in lines if not ln.startswith(("  P0", "VERDICT", "  1 ", "Next")))


def test_evidence_is_key_value_never_a_repr() -> None:
    assert kv({"photo_id": 1, "status": "CANCELLED", "line": "a b", "ok": True, "ids": [1, 2]}) == \
        'photo_id=1 status=CANCELLED line="a b" ok=true ids=[1,2]'


def test_checks_ran_and_the_message_are_printed_generically() -> None:
    r = RunResult("monitor.p0", "prod", "a", "b", "ok", 0, message="something to say",
                  facts={"checks_ran": "7/9 checks ran (2 not configured)"})
    text = "\n".join(ln.text for ln in block(r, None, 80))
    assert "something to say" in text and "7/9 checks ran (2 not configured)" in text
    assert "SIMULATED" not in text
    r.simulated = True
    assert "SIMULATED HOST" in block(r, None, 80)[1].text


def test_the_block_fits_one_screen_however_many_findings() -> None:
    from runbooks.summary import rows

    fs = [_finding(f"finding_number_{i:02d}_with_a_long_id", 10 + i,
                   [{"photo_id": j, "meal_id": 100 + j} for j in range(10)]) for i in range(12)]
    msg = "12 finding(s): " + ", ".join(f.id for f in fs) + "; 9/12 P0 checks ran: db failed: timeout after 180 s"
    r = RunResult("monitor.all", "prod", "a", "b", "p0", 2, findings=fs, message=msg, transcript="t/" * 30 + "x.md",
                  resume="inv -r /srv/ops rollback --commit abcdef1 --yes --start-at rebuild",
                  verdict_notes=["WORKER STOPPED: eatfit24-celery-worker-1 on prod; start it: cd /opt/x && docker compose start w"])
    lines = block(r, r.resume, 80)
    assert rows(lines, 80) <= 23
    text = "\n".join(ln.text for ln in lines)
    assert "9/12 P0 checks ran: db failed" in text and "WORKER STOPPED" in text and "To resume:" in text
    shown = [ln for ln in lines if ln.text.startswith("  P0 ")]
    assert shown and f"+{12 - len(shown)} more P0/P1 findings" in text
