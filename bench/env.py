"""The bench's world: one sandbox (a generated day of traffic) behind N real OpenSSH sshd
instances on 127.0.0.1 (separate processes, same host), a runbooks.yaml naming them
bench-1..bench-N plus a group, and the environment subprocess runs need."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runbooks.sandbox import Sandbox
from runbooks.sandbox.paths import INIT_DATA_ENV
from runbooks.sshd import SshServer

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class BenchEnv:
    out: Path
    sandbox: Sandbox
    servers: list[SshServer] = field(default_factory=list)
    config: Path | None = None
    traffic: dict[str, Any] = field(default_factory=dict)
    extra_targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def start(cls, out: Path, n_sshd: int, meals: int, seed: int = 24) -> BenchEnv:
        out.mkdir(parents=True, exist_ok=True)
        sb = Sandbox(out / "sandbox")
        if sb.paths.config.exists():  # a previous bench's state: start from scratch
            sb.reset()
        sb.up()
        env = cls(out=out, sandbox=sb)
        try:
            env.traffic = sb.traffic(seed=seed, meals=meals, hours=24)
            for i in range(n_sshd):
                env.servers.append(SshServer.start(out / f"sshd-{i + 1}", path_prepend=str(sb.paths.bin_dir)))
            env.write_config()
        except BaseException:
            env.stop()
            raise
        return env

    def target(self, i: int = 0) -> dict[str, Any]:
        return self.servers[i].target(**self.sandbox.target_fields())

    def write_config(self) -> Path:
        targets = {f"bench-{i + 1}": self.target(i) for i in range(len(self.servers))}
        targets.update(self.extra_targets)
        doc = {"default_target": "bench-1", "targets": targets,
               "groups": {"fleet": [f"bench-{i + 1}" for i in range(len(self.servers))]}}
        self.config = self.out / "runbooks.yaml"
        self.config.write_text(yaml.safe_dump(doc, sort_keys=False))
        return self.config

    def add_target(self, name: str, mapping: dict[str, Any]) -> None:
        self.extra_targets[name] = mapping
        self.write_config()

    def environ(self) -> dict[str, str]:
        e = dict(os.environ)
        e.update({"RUNBOOKS_CONFIG": str(self.config), "RUNBOOKS_TRANSCRIPTS": str(self.out / "transcripts"),
                  "RUNBOOKS_HISTORY": str(self.out / "history.sqlite3"), INIT_DATA_ENV: self.sandbox.init_data,
                  "COLUMNS": "160", "NO_COLOR": "1"})
        e.pop("RUNBOOKS_TARGET", None)
        return e

    def ssh_argv(self, i: int = 0) -> list[str]:
        """The OpenSSH client as a person uses it: the sandbox key, strict known_hosts, BatchMode."""
        s = self.servers[i]
        return ["ssh", "-p", str(s.port), "-i", str(s.identity_file), "-o", f"UserKnownHostsFile={s.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                f"{s.user}@{s.host}"]

    def values(self) -> dict[str, str]:
        """Placeholders of the checklist commands."""
        f = self.sandbox.target_fields()
        return {"worker": f["containers"]["worker"], "backend": f["containers"]["backend"],
                "base_url": f["api"]["base_url"], "date": dt.datetime.now(dt.timezone(dt.timedelta(hours=3))).date().isoformat()}

    # host-side counters (what the host saw, whoever ran the commands)
    def sessions(self) -> int:
        return sum(s.sessions() for s in self.servers)

    def docker_calls(self) -> list[dict[str, Any]]:
        p = self.sandbox.paths.calls
        if not p.exists():
            return []
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        for s in self.servers:
            s.stop()
        self.sandbox.down()


def django_boots(calls: list[dict[str, Any]]) -> int:
    return sum(1 for c in calls if "exec" in c["argv"] and "manage.py" in c["argv"] and "shell" in c["argv"])


def inv_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "-r", str(ROOT), *args]
