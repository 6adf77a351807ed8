"""Targets and inventory from `runbooks.yaml` ($RUNBOOKS_CONFIG), validated.

Every error names the file, line and key and exits 3. Header values and `env` values may
reference the environment as `${NAME}`; they are resolved at use time and every resolved
value is treated as a secret (masked before anything is printed or written).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbooks.errors import ConfigError
from runbooks.yamlfile import LMap, line_of, load_yaml

SANDBOX = "sandbox"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HOST_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")
_CONTAINER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CONTROL_RE = re.compile(r"[\x00-\x20\x7f-\x9f]")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

TOP_KEYS = {"default_target", "targets", "groups", "secret_env", "signing_key"}
TARGET_KEYS = {
    "transport", "host", "port", "user", "identity_file", "known_hosts", "project_dir",
    "containers", "compose_services", "api", "confirm", "role", "env", "connect_timeout",
    "monitor", "predeploy", "description",
}
API_KEYS = {"base_url", "headers", "verify_tls", "timeout", "follow_redirects"}
ROLES = ("prod", "staging", "sandbox", "dev")


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
            names = _ENV_REF.findall(v)
            absent = [n for n in names if not env.get(n)]
            if absent:
                missing.extend(absent)
                continue
            out[k] = _ENV_REF.sub(lambda m: env[m.group(1)], v)
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
    project_dir: str = ""
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
    builtin: bool = False  # the built-in sandbox target (not from a config file)

    @property
    def simulated(self) -> bool:
        """The built-in simulated eatfit24 host (directly, or served by `sandbox.up --ssh`)."""
        return self.builtin or "RUNBOOKS_SANDBOX_STATE" in self.env

    @property
    def backend(self) -> str:
        return self.containers["backend"]

    @property
    def worker(self) -> str:
        return self.containers["worker"]

    @property
    def address(self) -> str:
        """Human form: user@host:port, or 'local'."""
        if self.transport == "local":
            return "local"
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.host}{port}"

    def resolved_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        env = os.environ if environ is None else environ
        return {k: _ENV_REF.sub(lambda m: env.get(m.group(1), ""), v) for k, v in self.env.items()}

    def secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every configured secret value currently resolvable (for masking)."""
        env = os.environ if environ is None else environ
        headers, _ = self.api.resolved_headers(env)
        out = [v for v in headers.values() if v]
        # env values that come from ${VAR} references are secrets too (tokens, passwords).
        for v in self.env.values():
            for name in _ENV_REF.findall(v):
                if env.get(name):
                    out.append(env[name])
        return out


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
    """The built-in target: the simulated eatfit24 host, started on demand."""
    from runbooks import sandbox

    sandbox.require()
    state = sandbox.default_state_dir()
    if ensure_up:
        sandbox.ensure_up(state)
    raw = sandbox.builtin_target(state, start=ensure_up)
    if not os.environ.get("RUNBOOKS_SANDBOX_INIT_DATA"):
        sandbox.export_init_data(state)  # the target's API header refers to it; masked as a secret
    return dataclasses.replace(parse_target(SANDBOX, raw, "built-in sandbox target"), builtin=True)


CONFIG_NAME = "runbooks.yaml"


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
        if not _NAME_RE.match(name):
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
                                or _CONTROL_RE.search(signing.replace(" ", ""))):
        raise ConfigError(f"{where}:{line_of(data, 'signing_key')}: signing_key: must be the path of an SSH key file")
    return Config(path=path, default_target=default, targets=targets, groups=groups, secret_env=list(secret_env),
                  signing_key=signing)


def _str(raw: Mapping[str, Any], key: str, ctx: str, where: str, required: bool = False) -> str | None:
    v = raw.get(key)
    if v is None:
        if required:
            raise ConfigError(f"{where}:{line_of(raw)}: {ctx}.{key}: required key is missing")
        return None
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: must be a string")
    return str(v)


_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _bool(raw: Mapping[str, Any], key: str, default: bool, ctx: str, where: str) -> bool:
    v = raw.get(key, default)
    if not isinstance(v, bool):
        raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: must be true or false, not {v!r}")
    return v


def _seconds(raw: Mapping[str, Any], key: str, default: float, ctx: str, where: str) -> float:
    v = raw.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
        raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: must be a positive number of seconds, not {v!r}")
    return float(v)


def _str_map(raw: Mapping[str, Any], key: str, ctx: str, where: str) -> dict[str, str]:
    v = raw.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v.values()):
        raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: must be a mapping of name -> string")
    return {str(k): str(x) for k, x in v.items()}


def parse_target(name: str, raw: Mapping[str, Any], where: str) -> Target:
    ctx = f"targets.{name}"
    for key in raw:
        if key not in TARGET_KEYS:
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}: unknown key {key!r} (allowed: {', '.join(sorted(TARGET_KEYS))})")
    transport = _str(raw, "transport", ctx, where) or "ssh"
    if transport not in ("ssh", "local"):
        raise ConfigError(f"{where}:{line_of(raw, 'transport')}: {ctx}.transport: must be 'ssh' or 'local', not {transport!r}")
    host = _str(raw, "host", ctx, where, required=transport == "ssh")
    if host is not None and not _HOST_RE.match(host):
        raise ConfigError(f"{where}:{line_of(raw, 'host')}: {ctx}.host: not a hostname: {host!r}")
    port = raw.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        raise ConfigError(f"{where}:{line_of(raw, 'port')}: {ctx}.port: must be an integer 1-65535")
    project_dir = _str(raw, "project_dir", ctx, where, required=True) or ""
    if not project_dir.startswith("/") or "\n" in project_dir or "\x00" in project_dir:
        raise ConfigError(f"{where}:{line_of(raw, 'project_dir')}: {ctx}.project_dir: must be an absolute path")
    containers = _str_map(raw, "containers", ctx, where)
    for role in ("backend", "worker"):
        if role not in containers:
            raise ConfigError(f"{where}:{line_of(raw, 'containers') or line_of(raw)}: {ctx}.containers.{role}: required key is missing")
    for role, cname in containers.items():
        if not _CONTAINER_RE.match(cname):
            raise ConfigError(f"{where}:{line_of(raw, 'containers')}: {ctx}.containers.{role}: not a container name: {cname!r}")
    services = _str_map(raw, "compose_services", ctx, where) or {"backend": "backend", "worker": "celery-worker"}
    for role, sname in services.items():
        if not _CONTAINER_RE.match(sname):
            raise ConfigError(f"{where}:{line_of(raw, 'compose_services')}: {ctx}.compose_services.{role}: not a service name: {sname!r}")
    api_raw = raw.get("api") or {}
    if not isinstance(api_raw, dict):
        raise ConfigError(f"{where}:{line_of(raw, 'api')}: {ctx}.api: must be a mapping")
    for key in api_raw:
        if key not in API_KEYS:
            raise ConfigError(f"{where}:{line_of(api_raw, key)}: {ctx}.api: unknown key {key!r} (allowed: {', '.join(sorted(API_KEYS))})")
    base_url = _str(api_raw, "base_url", f"{ctx}.api", where)
    if base_url is not None and not re.match(r"^https?://[^\s/]+", base_url):
        raise ConfigError(f"{where}:{line_of(api_raw, 'base_url')}: {ctx}.api.base_url: must be an http(s) URL")
    if base_url is not None and _CONTROL_RE.search(base_url):
        raise ConfigError(f"{where}:{line_of(api_raw, 'base_url')}: {ctx}.api.base_url: contains whitespace or a "
                          "control character (CR/LF would inject HTTP headers)")
    headers = _str_map(api_raw, "headers", f"{ctx}.api", where)
    for hname, hval in headers.items():
        if not _HEADER_NAME_RE.match(hname) or _CONTROL_RE.search(hval.replace(" ", "").replace("\t", "")):
            raise ConfigError(f"{where}:{line_of(api_raw, 'headers')}: {ctx}.api.headers.{hname}: not a valid HTTP "
                              "header (a token name; no CR, LF or control characters in the value)")
    api = ApiConfig(
        base_url=base_url.rstrip("/") if base_url else None,
        headers=headers,
        verify_tls=_bool(api_raw, "verify_tls", True, f"{ctx}.api", where),
        timeout=_seconds(api_raw, "timeout", 15.0, f"{ctx}.api", where),
        follow_redirects=_bool(api_raw, "follow_redirects", False, f"{ctx}.api", where),
    )
    confirm = _str(raw, "confirm", ctx, where) or "typed"
    if confirm not in ("typed", "yes"):
        raise ConfigError(f"{where}:{line_of(raw, 'confirm')}: {ctx}.confirm: must be 'typed' or 'yes', not {confirm!r}")
    role = _str(raw, "role", ctx, where) or "prod"
    if role not in ROLES:
        raise ConfigError(f"{where}:{line_of(raw, 'role')}: {ctx}.role: must be one of {', '.join(ROLES)}, not {role!r}")
    for key in ("monitor", "predeploy"):
        if raw.get(key) is not None and not isinstance(raw.get(key), dict):
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: must be a mapping")
    _check_predeploy(raw.get("predeploy") or {}, f"{ctx}.predeploy", where)
    env = _str_map(raw, "env", ctx, where)
    for key in env:
        if not _ENV_KEY_RE.match(key):  # it becomes `export KEY=...` in a shell on the host
            raise ConfigError(f"{where}:{line_of(raw.get('env') or {}, key)}: {ctx}.env: {key!r} is not an environment "
                              f"variable name (letters, digits and _, not starting with a digit)")
    if raw.get("monitor"):
        _validate_monitor(raw["monitor"], ctx, where)
    ct = raw.get("connect_timeout", 10.0)
    if not isinstance(ct, (int, float)) or isinstance(ct, bool) or ct <= 0:
        raise ConfigError(f"{where}:{line_of(raw, 'connect_timeout')}: {ctx}.connect_timeout: must be a positive number of seconds")
    return Target(
        name=name,
        transport=transport,
        host=host,
        port=port,
        user=_str(raw, "user", ctx, where),
        identity_file=_str(raw, "identity_file", ctx, where),
        known_hosts=_str(raw, "known_hosts", ctx, where),
        project_dir=project_dir.rstrip("/") or "/",
        containers=containers,
        compose_services=services,
        api=api,
        confirm=confirm,
        role=role,
        env=env,
        connect_timeout=float(ct),
        monitor=dict(raw.get("monitor") or {}),
        predeploy=dict(raw.get("predeploy") or {}),
        description=_str(raw, "description", ctx, where) or "",
    )


PREDEPLOY_KEYS = ("driver", "test_user_id", "test_username", "photos_dir", "stuck_grace_s")
PREDEPLOY_DRIVERS = ("sandbox", "eatfit24")


def _check_predeploy(raw: Mapping[str, Any], ctx: str, where: str) -> None:
    """`predeploy:` keys: driver (sandbox | eatfit24), photos_dir (a directory of JPEG/PNG
    test photos), stuck_grace_s (seconds a PROCESSING meal with no active photo may wait)."""
    for key in raw:
        if key not in PREDEPLOY_KEYS:
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: unknown key (allowed: {', '.join(PREDEPLOY_KEYS)})")
    driver = raw.get("driver")
    if driver is not None and driver not in PREDEPLOY_DRIVERS:
        raise ConfigError(f"{where}:{line_of(raw, 'driver')}: {ctx}.driver: must be one of {', '.join(PREDEPLOY_DRIVERS)}, "
                          f"not {driver!r}")
    photos = raw.get("photos_dir")
    if photos is not None and (not isinstance(photos, str) or not photos.strip()):
        raise ConfigError(f"{where}:{line_of(raw, 'photos_dir')}: {ctx}.photos_dir: must be a directory path")
    grace = raw.get("stuck_grace_s")
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, (int, float)) or not 0 < grace <= 600):
        raise ConfigError(f"{where}:{line_of(raw, 'stuck_grace_s')}: {ctx}.stuck_grace_s: must be seconds in (0, 600]")


def _validate_monitor(raw: Mapping[str, Any], ctx: str, where: str) -> None:
    """The target's `monitor:` settings checked when the config loads (before connecting),
    with the monitor's own rules; errors point at the file line of the offending key."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from runbooks.packs.eatfit24.monitor.catalog import CATALOG
    from runbooks.packs.eatfit24.monitor.custom import validate as validate_custom
    from runbooks.packs.eatfit24.monitor.thresholds import settings_from

    prefix = f"{ctx}.monitor"
    try:
        settings = settings_from([(raw, prefix)], set(CATALOG))
        validate_custom(settings.rules, set(CATALOG))
    except ConfigError as exc:
        msg = exc.message if exc.message.startswith(ctx) else f"{ctx}.{exc.message}"
        path = msg.split(":", 1)[0][len(prefix):].lstrip(".")
        raise ConfigError(f"{where}:{_line_at(raw, path)}: {msg}") from exc
    if raw.get("app_timezone") is not None:
        try:
            ZoneInfo(str(raw["app_timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}:{line_of(raw, 'app_timezone')}: {prefix}.app_timezone: unknown time zone "
                              f"{raw['app_timezone']!r} (e.g. Europe/Moscow)") from None


def _line_at(node: Any, path: str) -> int:
    """The line of `a.b[2].c` inside a loaded YAML node (the deepest part that exists)."""
    line = line_of(node)
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("[") and isinstance(node, list):
            i = int(part[1:-1])
            if i >= len(node):
                break
            node = node[i]
            line = line_of(node) or line
        elif isinstance(node, dict) and part in node:
            line = line_of(node, part) or line
            node = node[part]
        else:
            break
    return line


def is_lmap(x: Any) -> bool:
    return isinstance(x, LMap)
