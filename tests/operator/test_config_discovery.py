"""Never mistake the sandbox for prod: runbooks.yaml is found like git finds .git (cwd,
then parents), then in the user config dir; without one the built-in sandbox says
SIMULATED HOST on its verdict line, in the JSON and in the transcript. Starting it in the
background says so once, with how to stop it, and it stops by itself when idle."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from runbooks.config import config_path
from runbooks.sandbox import Sandbox
from runbooks.sandbox.paths import IDLE_ENV, STATE_ENV
from tests.helpers import inv_env, wait_for, write_config
from tests.operator.helpers import finish, program, spawn


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return inv_env(None, tmp_path / "transcripts", XDG_CONFIG_HOME=str(tmp_path / "xdg"), **extra)


def _run(args: list[str], env: dict[str, str], cwd: Path, prog: str = "inv") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*program(prog), *args], env=env, cwd=str(cwd), capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_a_subdirectory_of_a_dir_with_runbooks_yaml_uses_that_config(ssh_sandbox, tmp_path: Path) -> None:
    project = tmp_path / "ops"
    deep = project / "incidents" / "2026-11-30"
    deep.mkdir(parents=True)
    write_config(project / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")
    for prog in ("inv", "runbooks"):
        p = _run(["monitor.p0", "--json"], _env(tmp_path), deep, prog)
        assert p.returncode == 0, p.stderr[-3000:]
        doc = json.loads(p.stdout)
        assert doc["target"] == "box" and doc["simulated"] is False
        verdict = [ln for ln in p.stderr.splitlines() if ln.startswith("VERDICT ")]
        assert verdict == ["VERDICT OK (exit 0) on box"], p.stderr
        assert "SIMULATED" not in p.stderr


def test_from_an_unrelated_dir_the_verdict_line_says_simulated_host(sandbox, tmp_path: Path) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    child = spawn([*program("runbooks"), "monitor.p0"], _env(tmp_path), cwd=elsewhere, cols=100)
    code, out = finish(child)
    assert code == 0, out[-2000:]
    verdict = [ln for ln in out.replace("\r", "").splitlines() if "VERDICT " in ln]
    assert verdict and all("SIMULATED HOST" in ln for ln in verdict), verdict
    md = next((tmp_path / "transcripts").glob("*-monitor.p0-sandbox/transcript.md")).read_text()
    assert "SIMULATED HOST" in md.splitlines()[0]
    cast = next((tmp_path / "transcripts").glob("*-monitor.p0-sandbox/transcript.cast")).read_text()
    assert "SIMULATED HOST" in cast


def test_the_user_config_dir_is_the_fallback_and_runbooks_config_wins(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    assert config_path(env, cwd=nowhere) is None
    user = tmp_path / "xdg" / "runbooks" / "runbooks.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("targets: {}\n")
    assert config_path(env, cwd=nowhere) == user
    (tmp_path / "runbooks.yaml").write_text("targets: {}\n")  # a parent of `nowhere` wins over the user dir
    assert config_path(env, cwd=nowhere) == tmp_path / "runbooks.yaml"
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("targets: {}\n")
    assert config_path({**env, "RUNBOOKS_CONFIG": str(explicit)}, cwd=nowhere) == explicit


def test_starting_the_sandbox_says_so_once_and_it_stops_by_itself_when_idle(tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = _env(tmp_path, **{STATE_ENV: str(state), IDLE_ENV: "3"})
    try:
        first = _run(["monitor.p0", "--json"], env, tmp_path)
        assert first.returncode == 0, first.stderr[-3000:]
        assert json.loads(first.stdout)["simulated"] is True  # the notice is on stderr only
        notice = [ln for ln in first.stderr.splitlines() if ln.startswith("runbooks: started the built-in SIMULATED")]
        assert len(notice) == 1 and "inv sandbox.down" in notice[0] and IDLE_ENV in notice[0]
        second = _run(["monitor.p0"], env, tmp_path)
        assert "started the built-in" not in second.stdout + second.stderr  # once
        sb = Sandbox(state)
        assert sb.is_up()
        wait_for(lambda: not sb.is_up(), timeout=30, what="the idle sandbox to stop by itself")
    finally:
        Sandbox(state).down()


def test_sandbox_up_says_how_it_stops(tmp_path: Path) -> None:
    state = tmp_path / "state"
    try:
        p = _run(["sandbox.up", "--state", str(state), "--no-seed"], _env(tmp_path), tmp_path, "runbooks")
        assert p.returncode == 0, p.stderr
        assert "SIMULATED" in p.stdout and "min idle" in p.stdout and "runbooks sandbox.down" in p.stdout
    finally:
        Sandbox(state).down()


def test_without_a_terminal_evidence_is_key_value(sandbox, tmp_path: Path) -> None:
    sandbox.inject("stuck_photo")
    p = _run(["monitor.stuck"], _env(tmp_path), tmp_path)
    assert p.returncode == 2
    ev = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("evidence: ")]
    assert ev and all("{" not in ln for ln in ev) and any("photo_id=" in ln for ln in ev), p.stdout


def test_report_and_watch_on_the_sandbox_say_simulated_host(sandbox, tmp_path: Path) -> None:
    p = _run(["report", "--json"], _env(tmp_path), tmp_path)
    assert json.loads(p.stdout)["simulated"] is True
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("REPORT ")]
    assert line and "SIMULATED HOST" in line[0], p.stderr[-2000:]
    w = _run(["monitor.watch", "--duration", "1", "--tail", "1"], _env(tmp_path), tmp_path)
    assert "SIMULATED HOST" in w.stdout, w.stdout[-2000:] + w.stderr[-2000:]
