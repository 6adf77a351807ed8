"""A target: where a playbook runs and how to reach it, plus its variables.

The engine needs only how to connect (transport, host, port, user, keys, env). Everything
else is for the playbooks that use it: `project_dir`, `containers`, `compose_services`,
`api`, and any other key of the target, which becomes a variable of every playbook run
on it (as Ansible's host vars). A pack checks the keys its own playbooks need before
connecting (runbooks/steps: KIND_TARGETS).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ApiConfig:
    base_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    verify_tls: bool = True
    timeout: float = 15.0  # total seconds per call (connect, headers, body, redirects)
    follow_redirects: bool = False  # same-origin redirects only; another origin never gets the headers

    def resolved_headers(self, environ: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
        """Headers with ${VAR} resolved, and the names of variables that are not set."""
        env = os.environ if environ is None else environ
        missing: list[str] = []
        out: dict[str, str] = {}
        for k, v in self.headers.items():
            names = ENV_REF.findall(v)
            absent = [n for n in names if not env.get(n)]
            if absent:
                missing.extend(absent)
                continue
            out[k] = ENV_REF.sub(lambda m: env[m.group(1)], v)
        return out, missing


@dataclass(frozen=True)
class Target:
    name: str
    transport: str = "ssh"
    host: str | None = None
    port: int | None = None
    user: str | None = None
    identity_file: str | None = None
    known_hosts: str | None = None
    project_dir: str = ""  # "" when not configured (only the playbooks that use it require it)
    containers: Mapping[str, str] = field(default_factory=dict)
    compose_services: Mapping[str, str] = field(default_factory=dict)
    api: ApiConfig = field(default_factory=ApiConfig)
    confirm: str = "typed"
    role: str = "prod"
    env: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float = 10.0
    monitor: Mapping[str, Any] = field(default_factory=dict)
    predeploy: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    vars: Mapping[str, Any] = field(default_factory=dict)  # the target's other keys: its host variables
    source: str = ""  # "runbooks.yaml:12": where it was defined, for errors found later
    builtin: bool = False  # the built-in sandbox target (not from a config file)

    @property
    def simulated(self) -> bool:
        """The built-in simulated eatfit24 host (directly, or served by `sandbox.up --ssh`)."""
        return self.builtin or "RUNBOOKS_SANDBOX_STATE" in self.env

    @property
    def address(self) -> str:
        """Human form: user@host:port, or 'local'."""
        if self.transport == "local":
            return "local"
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.host}{port}"

    def variables(self) -> dict[str, Any]:
        """What every playbook run on this target sees of it: the playbook-facing keys and
        its host variables."""
        return {
            "project_dir": self.project_dir,
            "containers": dict(self.containers),
            "compose_services": dict(self.compose_services),
            **self.vars,
        }

    def resolved_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        env = os.environ if environ is None else environ
        return {k: ENV_REF.sub(lambda m: env.get(m.group(1), ""), v) for k, v in self.env.items()}

    def secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every configured secret value currently resolvable (for masking)."""
        env = os.environ if environ is None else environ
        headers, _ = self.api.resolved_headers(env)
        out = [v for v in headers.values() if v]
        # env values that come from ${VAR} references are secrets too (tokens, passwords).
        for v in self.env.values():
            for name in ENV_REF.findall(v):
                if env.get(name):
                    out.append(env[name])
        return out
