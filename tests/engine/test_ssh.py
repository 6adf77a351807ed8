"""The engine over a real OpenSSH sshd on 127.0.0.1 with throwaway keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from runbooks.sshd import SshServer
from tests.helpers import events, inv_cmd, inv_env, run_dirs, run_inv, wait_for, write_config, write_playbook


def _target(srv: SshServer, project: Path, **extra: Any) -> dict[str, Any]:
    project.mkdir(exist_ok=True)
    return srv.target(project_dir=str(project), containers={"backend": "b", "worker": "w"},
                      role="staging", confirm="yes", **extra)


@pytest.fixture
def env_for(tmp_path: Path, sshd: SshServer):
    def make(**target_extra: Any) -> tuple[dict[str, str], Path]:
        cfg = write_config(tmp_path / "runbooks.yaml", {"box": _target(sshd, tmp_path / "project", **target_extra)},
                           default_target="box")
        return inv_env(cfg, tmp_path / "transcripts"), tmp_path / "transcripts"
    return make


def _pgrep(pattern: str) -> list[str]:
    r = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [p for p in r.stdout.split() if p and int(p) != os.getpid()]


def test_unknown_host_key_is_refused_and_nothing_runs(tmp_path: Path, sshd: SshServer) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    cfg = write_config(tmp_path / "r.yaml", {"box": _target(sshd, tmp_path / "p", known_hosts=str(empty))})
    marker = tmp_path / "ran"
    pb = write_playbook(tmp_path / "pb.yml", "touch", [{"name": "touch", "kind": "shell", "params": {"command": f"touch {marker}"}}])
    r = run_inv(["play", "--playbook", str(pb), "--target", "box"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode == 3, r.stderr
    assert "unknown host key for [127.0.0.1]" in r.stderr
    assert "ssh-ed25519 SHA256:" in r.stderr and "ssh-keyscan -p" in r.stderr
    assert not marker.exists()
    assert sshd.accepted_auths() == 0  # refused before authenticating
    assert empty.read_text() == ""  # never auto-added


def test_unknown_host_key_without_known_hosts_setting_uses_users_file(tmp_path: Path, sshd: SshServer) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    t = _target(sshd, tmp_path / "p")
    del t["known_hosts"]
    cfg = write_config(tmp_path / "r.yaml", {"box": t})
    r = run_inv(["doctor", "--target", "box"], inv_env(cfg, tmp_path / "tr", HOME=str(home)), tmp_path)
    assert r.returncode == 3 and "unknown host key" in r.stderr
    assert not (home / ".ssh" / "known_hosts").exists()
    # once the user adds the key to ~/.ssh/known_hosts, the same target connects
    (home / ".ssh" / "known_hosts").write_text(sshd.known_hosts.read_text())
    r = run_inv(["doctor", "--target", "box"], inv_env(cfg, tmp_path / "tr", HOME=str(home)), tmp_path)
    assert "unknown host key" not in r.stderr
    assert sshd.accepted_auths() == 1


def test_changed_host_key_is_refused(tmp_path: Path, sshd: SshServer) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    kind, blob = other.with_suffix(".pub").read_text().split()[:2]
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    cfg = write_config(tmp_path / "r.yaml", {"box": _target(sshd, tmp_path / "p", known_hosts=str(kh))})
    marker = tmp_path / "ran"
    pb = write_playbook(tmp_path / "pb.yml", "touch", [{"name": "touch", "kind": "shell", "params": {"command": f"touch {marker}"}}])
    r = run_inv(["play", "--playbook", str(pb), "--target", "box", "--json"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode == 3
    assert "HOST KEY CHANGED" in r.stderr and "ssh-keygen -R" in r.stderr
    assert json.loads(r.stdout)["verdict"] == "error"
    assert not marker.exists()
    assert sshd.accepted_auths() == 0


def test_unreachable_host_exits_3(tmp_path: Path, sshd: SshServer) -> None:
    t = _target(sshd, tmp_path / "p")
    t["port"] = 1  # nothing listens there
    cfg = write_config(tmp_path / "r.yaml", {"box": t})
    r = run_inv(["doctor", "--target", "box"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode == 3
    assert "cannot reach" in r.stderr


def test_hanging_command_times_out_and_is_killed_on_the_host(tmp_path: Path, env_for) -> None:
    env, tr = env_for()
    pb = write_playbook(tmp_path / "pb.yml", "hang", [
        {"name": "hang", "kind": "shell", "timeout": 1, "params": {"command": "sleep 397 & sleep 398; echo never"}},
        {"name": "after", "kind": "shell", "params": {"command": "echo after"}},
    ])
    started = time.monotonic()
    r = run_inv(["play", "--playbook", str(pb), "--json"], env, tmp_path)
    assert r.returncode == 2, r.stderr
    doc = json.loads(r.stdout)
    assert [s["status"] for s in doc["steps"]] == ["timeout"]  # stopped: "after" never ran
    assert "--start-at hang" in (doc["resume"] or "")
    assert time.monotonic() - started < 30
    wait_for(lambda: not _pgrep("sleep 39[78]"), what="the hung command to disappear from the host")
    ev = events(run_dirs(tr)[0])
    done = [e for e in ev if e["type"] == "command_finished"]
    assert done[0]["timed_out"] is True and done[0]["exit_code"] == 124


def test_values_with_shell_metacharacters_reach_the_host_literally(tmp_path: Path, env_for) -> None:
    env, tr = env_for()
    out = tmp_path / "project" / "out.txt"
    payloads = ["a;touch /tmp/rb_pwned", "$(touch /tmp/rb_pwned)", "`touch /tmp/rb_pwned`", "it's \"quoted\"",
                "line1\nline2", "--help", "*", "$HOME", "\\", ""]
    pb = write_playbook(tmp_path / "pb.yml", "echo", [
        {"name": "write", "kind": "shell", "params": {"command": "printf '%s' {{ payload }} > {{ out }}"}},
    ])
    for payload in payloads:
        r = run_inv(["play", "--playbook", str(pb), "--var", f"payload={payload}", "--var", f"out={out}"], env, tmp_path)
        assert r.returncode == 0, r.stderr
        assert out.read_text() == payload
    assert not Path("/tmp/rb_pwned").exists()


def test_non_tty_without_yes_refuses_confirm_playbook_before_anything(tmp_path: Path, env_for, sshd: SshServer) -> None:
    env, tr = env_for()
    marker = tmp_path / "project" / "first-step-ran"
    pb = write_playbook(tmp_path / "pb.yml", "danger", [
        {"name": "harmless", "kind": "shell", "params": {"command": f"touch {marker}"}},
        {"name": "destroy", "kind": "shell", "mutates": True, "confirm": True, "params": {"command": "echo destroy"}},
    ])
    r = run_inv(["play", "--playbook", str(pb)], env, tmp_path)
    assert r.returncode == 3
    assert "needs confirmations" in r.stderr and "--yes" in r.stderr
    assert not marker.exists()
    assert sshd.accepted_auths() == 0
    # with --yes it runs, and the transcript records who answered
    r = run_inv(["play", "--playbook", str(pb), "--yes"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    confirms = [e for d in run_dirs(tr) for e in events(d) if e["type"] == "confirm"]
    assert confirms and confirms[0]["by"].startswith("--yes on behalf of")


def test_dry_run_sends_nothing_mutating(tmp_path: Path, env_for) -> None:
    env, tr = env_for()
    marker = tmp_path / "project" / "mutated"
    pb = write_playbook(tmp_path / "pb.yml", "m", [
        {"name": "read", "kind": "shell", "params": {"command": "echo reading"}},
        {"name": "write", "kind": "shell", "mutates": True, "confirm": True, "params": {"command": f"touch {marker}"}},
    ])
    r = run_inv(["play", "--playbook", str(pb), "--dry-run", "--json"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
    ev = events(run_dirs(tr)[0])
    sent = [e for e in ev if e["type"] == "command_finished"]
    assert [e["dry_run"] for e in sent] == [False, True]
    assert f"touch {marker}" in sent[1]["command"]


def test_ctrl_c_exits_4_and_keeps_the_transcript(tmp_path: Path, env_for) -> None:
    env, tr = env_for()
    pb = write_playbook(tmp_path / "pb.yml", "long", [
        {"name": "first", "kind": "shell", "params": {"command": "echo first-done"}},
        {"name": "wait", "kind": "shell", "params": {"command": "sleep 399"}},
        {"name": "never", "kind": "shell", "params": {"command": "echo never"}},
    ])
    proc = subprocess.Popen(inv_cmd("play", "--playbook", str(pb)), env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def waiting() -> bool:
        dirs = run_dirs(tr)
        return bool(dirs) and any(e["type"] == "command" and e["step"] == "wait" for e in events(dirs[0]))

    wait_for(waiting, timeout=30, what="the 'wait' step to start")
    wait_for(lambda: bool(_pgrep("sleep 399")), what="sleep on the host")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 4, err
    ev = events(run_dirs(tr)[0])
    types = [e["type"] for e in ev]
    assert "interrupted" in types and types[-1] == "run_finished"
    assert ev[-1]["verdict"] == "aborted"
    assert not any(e.get("step") == "never" for e in ev)
    first = next(e for e in ev if e["type"] == "command_finished" and e["step"] == "first")
    assert "first-done" in first["stdout"]
    md = (run_dirs(tr)[0] / "transcript.md").read_text()
    assert "ABORTED" in md and "first-done" in md
    wait_for(lambda: not _pgrep("sleep 399"), what="the interrupted command to be killed on the host")


def test_canary_secret_never_printed_or_written(tmp_path: Path, sshd: SshServer) -> None:
    canary = "canary-9f3b2c7e-SECRET"
    t = _target(sshd, tmp_path / "project", env={"APP_TOKEN": "${RB_CANARY}"},
                api={"base_url": "http://127.0.0.1:9", "headers": {"X-Telegram-Init-Data": "${RB_CANARY}"}})
    cfg = write_config(tmp_path / "r.yaml", {"box": t}, default_target="box")
    tr = tmp_path / "transcripts"
    env = inv_env(cfg, tr, RB_CANARY=canary)
    pb = write_playbook(tmp_path / "pb.yml", "leak", [
        {"name": "leak", "kind": "shell", "params": {"command": "echo \"token=$APP_TOKEN\"; echo \"$APP_TOKEN\" >&2; echo {{ note }}"}},
        {"name": "fail", "kind": "shell", "params": {"command": "echo \"$APP_TOKEN\" >&2; exit 3"}},
    ])
    for extra in ([], ["--json"]):
        r = run_inv(["play", "--playbook", str(pb), "--var", f"note=Authorization: Bearer {canary}", *extra], env, tmp_path)
        assert r.returncode == 2
        assert canary not in r.stdout and canary not in r.stderr
        assert "***" in (r.stdout + r.stderr)
    files = [p for p in tr.rglob("*") if p.is_file()]
    assert any(p.name == "events.jsonl" for p in files) and any(p.name == "transcript.md" for p in files)
    for p in files:
        assert canary not in p.read_text(errors="replace"), p


def test_one_connection_for_a_ten_step_playbook(tmp_path: Path, env_for, sshd: SshServer) -> None:
    env, tr = env_for()
    steps = [{"name": f"s{i}", "kind": "shell", "params": {"command": f"echo step-{i}"}} for i in range(10)]
    pb = write_playbook(tmp_path / "pb.yml", "ten", steps)
    before = sshd.accepted_auths()
    r = run_inv(["play", "--playbook", str(pb), "--json"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["steps"]) == 10
    assert sshd.accepted_auths() - before == 1
    ev = events(run_dirs(tr)[0])
    assert sum(1 for e in ev if e["type"] == "command_finished") == 10


def test_ssh_config_alias_is_honoured(tmp_path: Path, sshd: SshServer) -> None:
    """host: an ~/.ssh/config alias; HostName, Port, User, IdentityFile and UserKnownHostsFile
    all come from ssh_config, as they would for `ssh prod`."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f"Host eatfit-prod\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.identity_file}\n  UserKnownHostsFile {sshd.known_hosts}\n"
    )
    project = tmp_path / "project"
    project.mkdir()
    cfg = write_config(tmp_path / "r.yaml", {"prod": {"host": "eatfit-prod", "project_dir": str(project),
                                                      "containers": {"backend": "b", "worker": "w"}, "confirm": "yes"}})
    marker = project / "ran-over-alias"
    pb = write_playbook(tmp_path / "pb.yml", "touch", [{"name": "touch", "kind": "shell", "params": {"command": f"touch {marker}"}}])
    r = run_inv(["play", "--playbook", str(pb), "--target", "prod", "--json"], inv_env(cfg, tmp_path / "tr", HOME=str(home)), tmp_path)
    assert r.returncode == 0, r.stderr
    assert marker.exists()
    assert sshd.accepted_auths() == 1
    ev = events(run_dirs(tmp_path / "tr")[0])
    connected = next(e for e in ev if e["type"] == "connected")
    assert connected["address"] == f"{sshd.user}@127.0.0.1:{sshd.port}"
    assert connected["host_key"].startswith("ssh-ed25519 SHA256:")
