"""Rollback test helpers: run `inv rollback` as a real subprocess against the sandbox
reached over a real sshd, and read the host's real state (git, docker-calls.jsonl)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runbooks.sandbox.paths import INIT_DATA_ENV
from runbooks.sandbox.project_repo import git
from tests.helpers import ROOT, inv_env, write_config

FEATURE = "feat: server-safe cancel"


@dataclass
class Host:
    """The sandbox as the rollback sees it, with the means to check what really happened."""

    sandbox: Any
    target: dict[str, Any]
    config: Path
    transcripts: Path
    sshd: Any = None

    @property
    def repo(self) -> Path:
        return self.sandbox.paths.project

    def git(self, *args: str) -> str:
        return git(self.repo, *args).strip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def sha_of(self, subject: str) -> str:
        for line in self.git("log", "--format=%H %s").splitlines():
            sha, _, subj = line.partition(" ")
            if subj == subject:
                return sha
        raise AssertionError(f"no commit {subject!r}")

    def calls(self) -> list[dict[str, Any]]:
        p = self.sandbox.paths.calls
        return [json.loads(x) for x in p.read_text().splitlines()] if p.exists() else []

    def container(self, name: str) -> dict[str, Any]:
        from runbooks.sandbox import containers

        c = containers.get(self.sandbox.paths, name)
        assert c is not None
        return c

    @property
    def lock_dir(self) -> Path:
        return self.repo / ".runbooks-rollback.lock"

    def run(self, *args: str, timeout: float = 120, stdin: str | None = "", **env: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "rollback", *args],
                              input=stdin, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT),
                              env=inv_env(self.config, self.transcripts, **{INIT_DATA_ENV: self.sandbox.init_data,
                                                                            **env}))

    def events(self, proc: subprocess.CompletedProcess | None = None) -> list[dict[str, Any]]:
        runs = sorted(self.transcripts.glob("*-rollback-*/events.jsonl"))
        assert runs, "no transcript"
        return [json.loads(x) for x in runs[-1].read_text().splitlines()]


MUTATING_DOCKER = ("stop", "up", "start", "restart", "kill", "rm")


def mutating(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """docker calls that change containers (compose stop/up..., exec pkill)."""
    out = []
    for c in calls:
        argv = c["argv"]
        if argv[1:2] == ["compose"] and any(a in MUTATING_DOCKER for a in argv[2:]):
            out.append(c)
        elif argv[1:2] in (["stop"], ["kill"], ["rm"], ["restart"]):
            out.append(c)
        elif argv[1:2] == ["exec"] and any("pkill" in a or "kill" == a for a in argv):
            out.append(c)
    return out


@pytest.fixture
def host(sandbox: Any, tmp_path: Path) -> Iterator[Host]:
    """Like the `ssh_sandbox` fixture (sandbox behind a real sshd, docker shim first on PATH),
    keeping the server handle so tests can count SSH authentications."""
    from tests.fixtures.sshd import start_sshd

    srv = start_sshd(tmp_path / "sshd", path_prepend=str(sandbox.paths.bin_dir))
    try:
        target = srv.target(**sandbox.target_fields())
        cfg = write_config(tmp_path / "runbooks.yaml", {"box": target}, default_target="box")
        yield Host(sandbox=sandbox, target=target, config=cfg, transcripts=tmp_path / "transcripts", sshd=srv)
    finally:
        srv.stop()


def django(host: Host, code: str) -> str:
    """Run Python in the sandbox backend's real Django shell (through the docker shim)."""
    import os

    from runbooks.sandbox.paths import STATE_ENV

    env = {**os.environ, STATE_ENV: str(host.sandbox.paths.root)}
    backend = host.target["containers"]["backend"]
    p = subprocess.run([str(host.sandbox.paths.docker), "exec", "-i", backend, "python", "manage.py", "shell",
                        "--no-imports", "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def doc(p: subprocess.CompletedProcess) -> dict[str, Any]:
    """The --json document (exactly one line on stdout)."""
    lines = [x for x in p.stdout.splitlines() if x.strip()]
    assert len(lines) == 1, p.stdout
    return json.loads(lines[0])


def statuses(d: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["status"] for s in d["steps"]}
