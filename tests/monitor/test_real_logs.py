"""The real eatfit24 containers' logs (tests/fixtures/real_logs, captured from its public
source under production settings) through the REAL host filter, on the awks real hosts
have (mawk: Debian's and Ubuntu's default; busybox awk), then the rules.

What they hold (fixtures README): successes, handled AI upstream failures, partial and
full cancels through both cancel endpoints, a race guard, a cancel applied to a photo that
a restarted worker later set to SUCCESS (photo 17), the legacy endpoint overwriting a
SUCCESS photo (photo 18), a 500 with traceback, a worker that failed to boot once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runbooks.packs.eatfit24.monitor.gather import logs_command
from runbooks.packs.eatfit24.monitor.parse import summarize_log
from runbooks.packs.eatfit24.monitor.rules import evaluate
from runbooks.packs.eatfit24.monitor.sections import SECTIONS
from runbooks.packs.eatfit24.monitor.thresholds import settings_from
from runbooks.packs.eatfit24.monitor.window import parse_since

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real_logs"
SH = shutil.which("dash") or "/bin/sh"
AWKS = {"mawk": shutil.which("mawk"), "busybox": shutil.which("busybox")}


def docker_lines(name: str) -> list[str]:
    """What `docker logs --timestamps` replays from a json-file log."""
    out = []
    for raw in (REAL / name).read_text().splitlines():
        rec = json.loads(raw)
        out.append(f"{rec['time']} {rec['log'].removesuffix(chr(10))}")
    return out


def awk_dir(tmp_path: Path, which: str) -> Path:
    d = tmp_path / f"awk-{which}"
    d.mkdir()
    if which == "busybox":
        (d / "awk").write_text(f"#!/bin/sh\nexec {AWKS['busybox']} awk \"$@\"\n")
    else:
        (d / "awk").symlink_to(AWKS["mawk"])  # type: ignore[arg-type]
        return d
    (d / "awk").chmod(0o755)
    return d


def scan(tmp_path: Path, lines: list[str], container: str, awk: str, created: str = "2026-11-29T00:00:00Z") -> str:
    """Run the rendered scan command under dash, with a stand-in docker that serves
    `lines` and answers `docker inspect`, and the chosen awk first on PATH."""
    bindir = tmp_path / f"bin-{container}-{awk}"
    bindir.mkdir()
    log = bindir / "log.txt"
    log.write_bytes(("\n".join(lines) + "\n").encode())
    (bindir / "docker").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = inspect ]; then echo "{created} {created}"; exit 0; fi\n'
        f"cat '{log}'\n")
    (bindir / "docker").chmod(0o755)
    adir = bindir / "awkdir"
    adir.mkdir()
    src = awk_dir(adir, awk)
    env = {**os.environ, "PATH": f"{src}:{bindir}:{os.environ['PATH']}"}
    rendered = logs_command(container, parse_since("24h"), None, 5).render()
    proc = subprocess.run([SH, "-c", rendered], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode("utf-8", "replace")


def facts_from_real(tmp_path: Path, awk: str) -> dict[str, Any]:
    w = summarize_log(scan(tmp_path, docker_lines("celery-worker.json.log"), "eatfit24-celery-worker-1", awk),
                      "eatfit24-celery-worker-1")
    b = summarize_log(scan(tmp_path, docker_lines("backend.json.log"), "eatfit24-backend-1", awk), "eatfit24-backend-1")
    return {"worker_logs": w, "backend_logs": b, "errors": {}}


@pytest.mark.parametrize("awk", ["mawk", "busybox"])
def test_real_logs_give_the_real_verdicts(tmp_path: Path, awk: str) -> None:
    if not AWKS[awk]:
        pytest.skip(f"{awk} not installed")
    facts = facts_from_real(tmp_path, awk)
    w, b = facts["worker_logs"], facts["backend_logs"]
    assert w["exit_code"] == 0 and b["exit_code"] == 0 and w["malformed"] == 0 and b["malformed"] == 0
    assert w["lines_read"] == 722 and b["lines_read"] == 751
    # handled AI outcomes: two upstream (500, 503), two validation (unsupported, empty)
    assert w["ai_failed_by_category"] == {"server": 2, "validation": 2}
    handled = [blk for blk in w["error_blocks"] if blk["handled"]]
    assert len(handled) == 2 and all("Proxy error" in "".join(x["line"] for x in blk["lines"]) for blk in handled)
    # finalizations in BOTH containers: the legacy cancel endpoint finalizes in the backend
    assert (w["counts"]["finalized_complete"], w["counts"]["finalized_failed"]) == (10, 5)
    assert b["counts"]["finalized_failed"] == 4 and b["counts"]["legacy_cancel_marked"] == 6
    checks = list(SECTIONS["all"])
    s = settings_from([], set())
    findings, metrics = evaluate(facts, [c for c in checks if c not in ("cancel_noop_spike",)], s, {})
    by = {f.id: f for f in findings}
    # a handled AI upstream error is the system working: never a finalization P0
    assert by["finalization_exception"].status == "ok", by["finalization_exception"].evidence
    assert metrics["finalized_failed"] == 9 and metrics["finalized_complete"] == 10
    assert metrics["ai_upstream_errors"] == 2
    # photo 17: batch cancel UPDATED_PHOTOS [17] at 04:21:57.795, SUCCESS at 04:22:06 after a worker restart
    res = by["cancelled_photo_resurrected"]
    assert res.status == "alert" and [e["photo_id"] for e in res.evidence] == [17]
    assert res.evidence[0]["cancel_line"] == "UPDATED_PHOTOS"
    # photo 18 reached SUCCESS 12 ms BEFORE the legacy Mark line: a leak (DB check), not a resurrection
    srv = by["backend_server_error"]
    assert srv.status == "alert" and srv.count == 1 and srv.evidence[0]["path"] == "/api/v1/ai/recognize/"
    assert srv.evidence[0]["exception"].startswith("django.db.utils.IntegrityError: null value")
    assert by["cancel_exception"].status == "ok"


def test_a_forged_line_inside_one_log_line_stays_one_line(tmp_path: Path) -> None:
    """`\\r`, `\\v`, `\\f`, `\\x1c`, `\\u2028` inside ONE docker line must not become a second,
    tagged line with its own timestamp (Python's splitlines() splits on all of them)."""
    if not AWKS["mawk"]:
        pytest.skip("mawk not installed")
    forged = "4242 E 2020-01-01T00:00:00Z [MealService] Finalized meal_id=1 Traceback Exception"
    lines = [f"2026-11-30T04:00:0{i}.000000000Z [2026-11-30 07:00:00,000: INFO/MainProcess] hello{sep}{forged}"
             for i, sep in enumerate(["\r", "\v", "\f", "\x1c", "\u2028", "\x85"])]
    lines.append("2026-11-30T04:00:09.000000000Z [2026-11-30 07:00:09,000: INFO/ForkPoolWorker-1] "
                 "[MealService] Finalized meal_id=5 as COMPLETE")
    out = scan(tmp_path, lines, "w", "mawk")
    summary = summarize_log(out, "w")
    assert summary["malformed"] == 0
    assert [f["meal_id"] for f in summary["finalized"]] == [5]
    assert all(not ln["line"].startswith("4242") for blk in summary["error_blocks"] for ln in blk["lines"])
    assert all(blk["first_ts"] != "2020-01-01T00:00:00Z" for blk in summary["error_blocks"])


@pytest.mark.parametrize("awk", ["mawk", "busybox"])
def test_a_nul_byte_does_not_stop_the_scan(tmp_path: Path, awk: str) -> None:
    if not AWKS[awk]:
        pytest.skip(f"{awk} not installed")
    lines = ["2026-11-30T04:00:01.000000000Z binary\x00junk here",
             "2026-11-30T04:00:02.000000000Z [2026-11-30 07:00:02,000: INFO/ForkPoolWorker-1] "
             "[MealService] Finalized meal_id=77 as FAILED (all photos failed/cancelled)"]
    summary = summarize_log(scan(tmp_path, lines, "w", awk), "w")
    assert [f["meal_id"] for f in summary["finalized"]] == [77] and summary["exit_code"] == 0
