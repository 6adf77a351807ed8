"""The host-side filter, run for real: the rendered pipeline under `sh -c` (dash) with
the system awk, over a known input served by a stand-in `docker` on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from runbooks.packs.eatfit24.monitor.gather import logs_command
from runbooks.packs.eatfit24.monitor.parse import parse_filtered, summarize_log
from runbooks.packs.eatfit24.monitor.window import parse_since

from .logs import BACKEND_LINES, WORKER_LINES

SH = shutil.which("dash") or "/bin/sh"


def fake_docker(tmp_path: Path, lines: list[str], rc: int = 0, stderr: str = "") -> dict[str, str]:
    log = tmp_path / "log.txt"
    log.write_text("".join(line + "\n" for line in lines))
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    argv_file = tmp_path / "argv.txt"
    script = bindir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        "if [ \"$1\" = inspect ]; then echo 2020-01-01T00:00:00.000000000Z 2020-01-01T00:00:00.000000000Z; exit 0; fi\n"
        f"printf '%s\\n' \"$@\" > '{argv_file}'\n"
        f"cat '{log}'\n"
        + (f"echo '{stderr}' >&2\n" if stderr else "")
        + f"exit {rc}\n"
    )
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}


def run_pipeline(tmp_path: Path, lines: list[str], rc: int = 0, stderr: str = "", container: str = "eatfit24-celery-worker-1",
                 tail: int | None = None, since: str = "24h") -> str:
    env = fake_docker(tmp_path, lines, rc, stderr)
    rendered = logs_command(container, parse_since(since), tail, 5).render()
    proc = subprocess.run([SH, "-c", rendered], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_exactly_markers_and_exception_context_pass(tmp_path: Path) -> None:
    out = run_pipeline(tmp_path, WORKER_LINES)
    flog = parse_filtered(out)
    assert flog.exit_code == 0 and flog.malformed == 0
    passed = {ln.nr: ln.tag for ln in flog.lines}
    # markers 2-7 and 25; the error lines 14, 15, 18; context: 5 before 14 (9-13) and 5 after 18 (19-23)
    expected = {2: "M", 3: "M", 4: "M", 5: "M", 6: "M", 7: "M", 25: "M",
                9: "C", 10: "C", 11: "C", 12: "C", 13: "C", 14: "E", 15: "E", 16: "C", 17: "C", 18: "E",
                19: "C", 20: "C", 21: "C", 22: "C", 23: "C"}
    assert passed == expected
    # line content survives byte for byte (timestamp split off)
    by_nr = {ln.nr: ln for ln in flog.lines}
    assert by_nr[2].ts == "2026-01-15T10:00:01.123456789Z"
    assert f"{by_nr[2].ts} {by_nr[2].text}" == WORKER_LINES[1]


def test_marker_just_before_error_keeps_full_before_context(tmp_path: Path) -> None:
    lines = [f"l{i}" for i in range(1, 8)] + ["[MealService] Finalized meal_id=1 as COMPLETE", "x", "ValueError: bad"]
    flog = parse_filtered(run_pipeline(tmp_path, lines))
    assert [(ln.nr, ln.tag) for ln in flog.lines] == [(5, "C"), (6, "C"), (7, "C"), (8, "M"), (9, "C"), (10, "E")]


def test_docker_args_and_exit_status(tmp_path: Path) -> None:
    run_pipeline(tmp_path, ["a"], tail=1000, since="2d")
    argv = (tmp_path / "argv.txt").read_text().split("\n")
    assert argv[:7] == ["logs", "--timestamps", "--since", "48h", "--tail", "1000", "eatfit24-celery-worker-1"]
    out = run_pipeline(tmp_path, [], rc=1, stderr="Error response from daemon: No such container: nope")
    flog = parse_filtered(out)
    assert flog.exit_code == 1
    assert [ln.text for ln in flog.lines] == ["Error response from daemon: No such container: nope"]


def test_hostile_container_name_is_quoted(tmp_path: Path) -> None:
    run_pipeline(tmp_path, ["a"], container="x; touch pwned")
    assert not (Path.cwd() / "pwned").exists()
    assert (tmp_path / "argv.txt").read_text().split("\n")[4] == "x; touch pwned"


def test_backend_scan_summary(tmp_path: Path) -> None:
    s = summarize_log(run_pipeline(tmp_path, BACKEND_LINES, container="eatfit24-backend-1"), "eatfit24-backend-1")
    assert s["lines_passed"] == 9  # the gunicorn access line is not a marker
    assert s["counts"]["cancel_received"] == 3
    assert s["received_by_reason"] == {"user_cancel": 2, "not_specified": 1}
    assert s["cancel"]["DUPLICATE"][0]["client_cancel_id"] == "11111111-1111-1111-1111-111111111111"
    assert s["cancel"]["UPDATED_PHOTOS"][0]["meal_photo_ids"] == "[101, 102]"
