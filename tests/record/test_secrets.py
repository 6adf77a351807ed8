"""Issue 12 item 4: secrets masked in every path.

An escape code inside a secret, a secret split across two reads of streamed output, `env:`
values on the host's command lines (`ps`), env keys that are shell syntax, `--var` values
named like credentials, and record files readable by other users of the machine.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runbooks.config import load_config
from runbooks.connectors.ssh import SshConnector
from runbooks.sshd import SshServer
from tests.helpers import inv_cmd, inv_env, run_dirs, run_inv, wait_for, write_config, write_playbook
from tests.record.helpers import as_seen, cast_output, ssh_target

SECRET = "SUPERSECRET-4f9a1c"
SECRET_ENV = "RB_TEST_TOKEN"


def _local(tmp_path: Path, **extra: Any) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return write_config(tmp_path / "runbooks.yaml", {"loc": {"transport": "local", "project_dir": str(project),
                                                            "role": "dev", "containers": {"backend": "b", "worker": "w"},
                                                            **extra}},
                        default_target="loc", secret_env=[SECRET_ENV])


def _everything(tmp_path: Path, proc_out: str) -> dict[str, str]:
    """Every place the secret could surface, as the operator/reader would see it."""
    (run,) = run_dirs(tmp_path / "tr")
    return {"console": as_seen(proc_out), "events.jsonl": (run / "events.jsonl").read_text(),
            "transcript.md": (run / "transcript.md").read_text(),
            "transcript.cast": as_seen(cast_output(run / "transcript.cast"))}


def test_secret_split_by_an_escape_code_is_still_masked(tmp_path: Path) -> None:
    cfg = _local(tmp_path)
    leak = tmp_path / "project" / "leak.log"
    leak.write_bytes(f"token {SECRET[:5]}\x1b[0m{SECRET[5:]} end\n".encode())
    pb = write_playbook(tmp_path / "pb.yml", "leak", [
        {"name": "show", "kind": "shell", "params": {"command": f"cat {leak}", "stream": True}},
        {"name": "fail", "kind": "shell", "params": {"command": f"cat {leak} >&2; exit 1"}}])
    r = run_inv(["play", "--playbook", str(pb)], inv_env(cfg, tmp_path / "tr", **{SECRET_ENV: SECRET}), tmp_path)
    assert r.returncode == 2, r.stderr
    for where, text in _everything(tmp_path, r.stdout + r.stderr).items():
        assert SECRET not in text, where
        assert "token ***" in text, where  # masked where it was, not dropped


def test_secret_split_across_two_writes_is_masked_on_the_console_and_in_the_cast(tmp_path: Path) -> None:
    cfg = _local(tmp_path)
    half = len(SECRET) // 2
    pb = write_playbook(tmp_path / "pb.yml", "leak", [
        {"name": "show", "kind": "shell",
         "params": {"command": f"printf 'auth is {SECRET[:half]}'; sleep 0.5; printf '{SECRET[half:]} ok\\n'; echo next",
                    "stream": True}}])
    r = run_inv(["play", "--playbook", str(pb)], inv_env(cfg, tmp_path / "tr", **{SECRET_ENV: SECRET}), tmp_path)
    assert r.returncode == 0, r.stderr
    places = _everything(tmp_path, r.stdout)
    for where, text in places.items():
        assert SECRET not in text, where
    assert "auth is *** ok\nnext" in places["console"]
    assert "auth is *** ok" in places["transcript.cast"].replace("\r\n", "\n")


def _cmdlines() -> list[str]:
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace"))
            except OSError:
                continue
    return out


def test_env_values_never_appear_on_a_host_command_line(tmp_path: Path, sshd: SshServer) -> None:
    """`env:` values travel on the channel, not in argv: no `ps` on the host shows them,
    while the command still sees them (and a multi-line value with quotes arrives intact)."""
    odd = "line1\n'quoted' \"dq\" $HOME `x`\nline3"
    target = ssh_target(sshd, tmp_path / "project", env={"API_TOKEN": f"${{{SECRET_ENV}}}", "ODD": odd})
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": target}, default_target="box")
    out = tmp_path / "seen.txt"
    pb = write_playbook(tmp_path / "pb.yml", "env", [
        {"name": "use", "kind": "shell",
         "params": {"command": f"sleep 2; printf '%s|%s' \"$API_TOKEN\" \"$ODD\" > {out}"}}])
    env = inv_env(cfg, tmp_path / "tr", **{SECRET_ENV: SECRET})
    p = subprocess.Popen(inv_cmd("play", "--playbook", str(pb)), env=env, cwd=tmp_path, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen: list[str] = []

        def sleeping() -> bool:
            lines = _cmdlines()
            seen.extend(lines)
            return any(line.startswith("sleep 2") for line in lines)

        wait_for(sleeping, timeout=30, what="the command to run on the host")
        leaking = [line for line in seen if SECRET in line or "quoted" in line]
        assert leaking == [], leaking
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, stderr
    assert out.read_text() == f"{SECRET}|{odd}"


def test_env_preamble_leaves_the_commands_own_stdin_intact(tmp_path: Path, sshd: SshServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    cfg = write_config(tmp_path / "runbooks.yaml",
                       {"box": ssh_target(sshd, tmp_path / "project", env={"API_TOKEN": f"${{{SECRET_ENV}}}"})})
    conn = SshConnector(load_config(cfg).target("box"))
    conn.open()
    try:
        script = "first line\nsecond line\n" * 1000
        res = conn.run('test "$API_TOKEN" = ' + SECRET + ' && cat', stdin=script, timeout=30)
        assert res.exit_code == 0, res.stderr
        assert res.stdout == script
        res = conn.run("cat", timeout=30)  # no stdin of its own: EOF right after the env block
        assert res.exit_code == 0 and res.stdout == ""
    finally:
        conn.close()


def test_env_key_that_is_not_an_identifier_is_refused_before_anything_runs(tmp_path: Path, sshd: SshServer) -> None:
    marker = tmp_path / "pwned"
    target = ssh_target(sshd, tmp_path / "project", env={f"X=1; touch {marker}; Y": "v"})
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": target}, default_target="box")
    pb = write_playbook(tmp_path / "pb.yml", "env", [{"name": "x", "kind": "shell", "params": {"command": "true"}}])
    r = run_inv(["play", "--playbook", str(pb)], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode == 3, r.stderr
    assert "targets.box.env" in r.stderr and "not an environment variable name" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not marker.exists() and sshd.accepted_auths() == 0


@pytest.mark.parametrize("name", ["init_data", "api_token", "db_password", "signing_key", "client_secret"])
def test_var_named_like_a_secret_is_masked_everywhere(tmp_path: Path, name: str) -> None:
    cfg = _local(tmp_path)
    value = "AAEhUmQ2AAAAAB-" + name.replace("_", "")
    pb = write_playbook(tmp_path / "pb.yml", "vars", [
        {"name": "echo", "kind": "shell", "params": {"command": f"echo {{{{ {name} }}}}", "stream": True}}])
    r = run_inv(["play", "--playbook", str(pb), "--var", f"{name}={value}", "--var", "plain=visible-value"],
                inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode == 0, r.stderr
    for where, text in _everything(tmp_path, r.stdout + r.stderr).items():
        assert value not in text, where
    assert "visible-value" in _everything(tmp_path, r.stdout)["events.jsonl"]  # ordinary vars stay readable


def test_transcript_folder_and_files_are_private(tmp_path: Path) -> None:
    cfg = _local(tmp_path)
    pb = write_playbook(tmp_path / "pb.yml", "p", [{"name": "x", "kind": "shell", "params": {"command": "echo hi"}}])
    old = os.umask(0o022)
    try:
        r = run_inv(["play", "--playbook", str(pb)], inv_env(cfg, tmp_path / "tr"), tmp_path)
    finally:
        os.umask(old)
    assert r.returncode == 0, r.stderr
    (run,) = run_dirs(tmp_path / "tr")
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "tr").stat().st_mode) == 0o700
    files = sorted(p.name for p in run.iterdir())
    assert {"events.jsonl", "transcript.md", "transcript.cast"} <= set(files)
    for p in run.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name


def test_stream_masker_releases_whole_lines_only() -> None:
    from runbooks.record.redact import Redactor

    m = Redactor([SECRET]).stream()
    pieces = [SECRET[:3], SECRET[3:9], SECRET[9:] + " tail\nnext ", "\x1b]0;t", "itle\x07x"]
    shown = "".join(m.feed(p) for p in pieces) + m.flush()
    assert SECRET not in shown and shown == "*** tail\nnext x"


def test_a_character_split_across_two_reads_is_shown_whole(tmp_path: Path, sshd: SshServer) -> None:
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": ssh_target(sshd, tmp_path / "project")}, default_target="box")
    pb = write_playbook(tmp_path / "pb.yml", "utf8", [
        {"name": "show", "kind": "shell",
         "params": {"command": "printf 'check \\342\\234'; sleep 0.5; printf '\\223 done\\n'", "stream": True}}])
    r = run_inv(["play", "--playbook", str(pb)], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode == 0, r.stderr
    assert "check \u2713 done" in r.stdout and "\ufffd" not in r.stdout
