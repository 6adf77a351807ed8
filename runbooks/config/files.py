"""The inventory: `runbooks.yaml` found and loaded into targets and groups.

The file named by $RUNBOOKS_CONFIG, else runbooks.yaml in the cwd or its nearest parent (as
git finds .git), else the user config dir; none: the built-in sandbox. Every error names
the file, line and key and exits 3.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runbooks.config.parse import CONTROL_RE, NAME_RE, parse_target
from runbooks.config.target import Target
from runbooks.errors import ConfigError
from runbooks.yamlfile import line_of, load_yaml

SANDBOX = "sandbox"
CONFIG_NAME = "runbooks.yaml"
TOP_KEYS = {"default_target", "targets", "groups", "secret_env", "signing_key"}


@dataclass
class Config:
    path: Path | None = None
    default_target: str | None = None
    targets: dict[str, Target] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    secret_env: list[str] = field(default_factory=list)
    signing_key: str | None = None  # SSH key that signs each run's seal ($RUNBOOKS_SIGNING_KEY wins)

    def secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        env = os.environ if environ is None else environ
        out = [env[n] for n in self.secret_env if env.get(n)]
        for t in self.targets.values():
            out.extend(t.secrets(env))
        return sorted(set(out), key=len, reverse=True)

    def target_names(self, spec: str | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
        """Resolve --target / $RUNBOOKS_TARGET / default_target / sandbox into target names."""
        env = os.environ if environ is None else environ
        spec = spec or env.get("RUNBOOKS_TARGET") or self.default_target or SANDBOX
        names: list[str] = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            if part in self.groups:
                names.extend(self.groups[part])
            elif part in self.targets or part == SANDBOX:
                names.append(part)
            else:
                known = ", ".join(sorted(set(self.targets) | set(self.groups) | {SANDBOX}))
                where = f" in {self.path}" if self.path else ""
                raise ConfigError(f"unknown target {part!r}{where} (known: {known})")
        if not names:
            raise ConfigError("--target is empty")
        return list(dict.fromkeys(names))

    def target(self, name: str) -> Target:
        if name in self.targets:
            return self.targets[name]
        if name == SANDBOX:
            return sandbox_target()
        raise ConfigError(f"unknown target {name!r}")


def sandbox_target(ensure_up: bool = True) -> Target:
    """The built-in target: the simulated eatfit24 host, started on demand. The sandbox (and
    Django with it) is imported only here: an extra the core does not need."""
    from runbooks import sandbox

    sandbox.require()
    state = sandbox.default_state_dir()
    if ensure_up:
        sandbox.ensure_up(state)
    raw = sandbox.builtin_target(state, start=ensure_up)
    if not os.environ.get("RUNBOOKS_SANDBOX_INIT_DATA"):
        sandbox.export_init_data(state)  # the target's API header refers to it; masked as a secret
    return dataclasses.replace(parse_target(SANDBOX, raw, "built-in sandbox target"), builtin=True)


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CONFIG_HOME/runbooks/runbooks.yaml`, by default `~/.config/runbooks/runbooks.yaml`."""
    env = os.environ if environ is None else environ
    base = Path(env["XDG_CONFIG_HOME"]).expanduser() if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "runbooks" / CONFIG_NAME


def config_path(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path | None:
    """$RUNBOOKS_CONFIG, else runbooks.yaml in the cwd or its nearest parent (as git finds
    .git), else the user config dir; None: no config (the built-in sandbox)."""
    env = os.environ if environ is None else environ
    if env.get("RUNBOOKS_CONFIG"):
        p = Path(env["RUNBOOKS_CONFIG"]).expanduser()
        if not p.is_file():
            raise ConfigError(f"RUNBOOKS_CONFIG={p}: no such file")
        return p
    here = (cwd or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / CONFIG_NAME).is_file():
            return d / CONFIG_NAME
    user = user_config_path(env)
    return user if user.is_file() else None


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    path = path if path is not None else config_path(environ)
    if path is None:
        return Config()
    data = load_yaml(path, ConfigError)
    if data is None:
        return Config(path=path)
    where = str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}:{line_of(data)}: the top level must be a mapping")
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(f"{where}:{line_of(data, key)}: unknown key {key!r} (allowed: {', '.join(sorted(TOP_KEYS))})")
    targets_raw = data.get("targets") or {}
    if not isinstance(targets_raw, dict):
        raise ConfigError(f"{where}:{line_of(data, 'targets')}: 'targets' must be a mapping of name -> target")
    targets: dict[str, Target] = {}
    for name, raw in targets_raw.items():
        name = str(name)
        if not NAME_RE.match(name):
            raise ConfigError(f"{where}:{line_of(targets_raw, name)}: targets.{name}: invalid target name (letters, digits, . _ -)")
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}:{line_of(targets_raw, name)}: targets.{name}: must be a mapping")
        targets[name] = parse_target(name, raw, where)
    groups_raw = data.get("groups") or {}
    if not isinstance(groups_raw, dict):
        raise ConfigError(f"{where}:{line_of(data, 'groups')}: 'groups' must be a mapping of name -> [targets]")
    groups: dict[str, list[str]] = {}
    for g, members in groups_raw.items():
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ConfigError(f"{where}:{line_of(groups_raw, g)}: groups.{g}: must be a list of target names")
        for m in members:
            if m not in targets and m != SANDBOX:
                raise ConfigError(f"{where}:{line_of(groups_raw, g)}: groups.{g}: unknown target {m!r}")
        groups[str(g)] = list(members)
    default = data.get("default_target")
    if default is not None and (not isinstance(default, str) or (default not in targets and default not in groups and default != SANDBOX)):
        raise ConfigError(f"{where}:{line_of(data, 'default_target')}: default_target: unknown target {default!r}")
    secret_env = data.get("secret_env") or []
    if not isinstance(secret_env, list) or not all(isinstance(s, str) for s in secret_env):
        raise ConfigError(f"{where}:{line_of(data, 'secret_env')}: secret_env: must be a list of environment variable names")
    signing = data.get("signing_key")
    if signing is not None and (not isinstance(signing, str) or not signing.strip()
                                or CONTROL_RE.search(signing.replace(" ", ""))):
        raise ConfigError(f"{where}:{line_of(data, 'signing_key')}: signing_key: must be the path of an SSH key file")
    return Config(path=path, default_target=default, targets=targets, groups=groups, secret_env=list(secret_env),
                  signing_key=signing)
