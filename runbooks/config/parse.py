"""One target's keys, validated: each error names the file, line and key (exit 3).

The keys the engine reads (how to connect, confirm, role) and the playbook-facing ones
(`project_dir`, `containers`, `compose_services`, `api`) are checked for their form here,
none of them required but `host` for ssh. Any other key becomes a variable of the playbooks
run on the target (its host variables), unless it looks like a misspelt known key
(`hots`, `projectdir`), which is refused as before. A pack's own sections (`monitor:`,
`predeploy:`) are validated by the pack (SECTIONS).
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Mapping
from typing import Any

from runbooks.config.target import ApiConfig, Target
from runbooks.errors import ConfigError
from runbooks.yamlfile import line_of

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
HOST_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")
CONTAINER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CONTROL_RE = re.compile(r"[\x00-\x20\x7f-\x9f]")
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# a pack's section of a target -> the module whose validate(raw, ctx, where) checks it
SECTIONS = {
    "monitor": "runbooks.packs.eatfit24.monitor.targetconf",
    "predeploy": "runbooks.packs.eatfit24.predeploy.targetconf",
}
TARGET_KEYS = {
    "transport", "host", "port", "user", "identity_file", "known_hosts", "project_dir",
    "containers", "compose_services", "api", "confirm", "role", "env", "connect_timeout",
    "description", *SECTIONS,
}
# variables every run has from the engine: a host variable may not hide them
ENGINE_VARS = {"target", "role", "dry_run", "transcript_dir", "task", "steps", "facts", "vars"}
API_KEYS = {"base_url", "headers", "verify_tls", "timeout", "follow_redirects"}
ROLES = ("prod", "staging", "sandbox", "dev")


def _str(raw: Mapping[str, Any], key: str, ctx: str, where: str, required: bool = False) -> str | None:
    v = raw.get(key)
    if v is None:
        if required:
            raise ConfigError(f"{where}:{line_of(raw)}: {ctx}.{key}: required key is missing")
        return None
    if not isinstance(v, (str, int)) or isinstance(v, bool):
        raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: must be a string")
    return str(v)


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


def _names(raw: Mapping[str, Any], key: str, what: str, ctx: str, where: str) -> dict[str, str]:
    """A mapping of role -> docker container / compose service name (quoted anyway)."""
    names = _str_map(raw, key, ctx, where)
    for role, name in names.items():
        if not CONTAINER_RE.match(name):
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}.{role}: not a {what} name: {name!r}")
    return names


def plain(x: Any) -> Any:
    """A YAML value without its line bookkeeping (host variables reach templates and JSON)."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x


def _host_vars(raw: Mapping[str, Any], ctx: str, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in raw:
        if key in TARGET_KEYS:
            continue
        k = str(key)
        near = difflib.get_close_matches(k, sorted(TARGET_KEYS), n=1, cutoff=0.75)
        if near:
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}: unknown key {k!r} (did you mean {near[0]!r}? "
                              f"allowed: {', '.join(sorted(TARGET_KEYS))}, or a variable of your own)")
        if not VAR_RE.match(k):
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}: unknown key {k!r} (allowed: "
                              f"{', '.join(sorted(TARGET_KEYS))}, or a variable: letters, digits and _)")
        if k in ENGINE_VARS:
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{k}: a variable every run sets itself; "
                              "choose another name")
        out[k] = plain(raw[key])
    return out


def _api(raw: Mapping[str, Any], ctx: str, where: str) -> ApiConfig:
    api_raw = raw.get("api") or {}
    if not isinstance(api_raw, dict):
        raise ConfigError(f"{where}:{line_of(raw, 'api')}: {ctx}.api: must be a mapping")
    for key in api_raw:
        if key not in API_KEYS:
            raise ConfigError(f"{where}:{line_of(api_raw, key)}: {ctx}.api: unknown key {key!r} (allowed: {', '.join(sorted(API_KEYS))})")
    base_url = _str(api_raw, "base_url", f"{ctx}.api", where)
    if base_url is not None and not re.match(r"^https?://[^\s/]+", base_url):
        raise ConfigError(f"{where}:{line_of(api_raw, 'base_url')}: {ctx}.api.base_url: must be an http(s) URL")
    if base_url is not None and CONTROL_RE.search(base_url):
        raise ConfigError(f"{where}:{line_of(api_raw, 'base_url')}: {ctx}.api.base_url: contains whitespace or a "
                          "control character (CR/LF would inject HTTP headers)")
    headers = _str_map(api_raw, "headers", f"{ctx}.api", where)
    for hname, hval in headers.items():
        if not HEADER_NAME_RE.match(hname) or CONTROL_RE.search(hval.replace(" ", "").replace("\t", "")):
            raise ConfigError(f"{where}:{line_of(api_raw, 'headers')}: {ctx}.api.headers.{hname}: not a valid HTTP "
                              "header (a token name; no CR, LF or control characters in the value)")
    return ApiConfig(
        base_url=base_url.rstrip("/") if base_url else None,
        headers=headers,
        verify_tls=_bool(api_raw, "verify_tls", True, f"{ctx}.api", where),
        timeout=_seconds(api_raw, "timeout", 15.0, f"{ctx}.api", where),
        follow_redirects=_bool(api_raw, "follow_redirects", False, f"{ctx}.api", where),
    )


def _sections(raw: Mapping[str, Any], ctx: str, where: str) -> None:
    for key, module in SECTIONS.items():
        if raw.get(key) is None:
            continue
        if not isinstance(raw[key], dict):
            raise ConfigError(f"{where}:{line_of(raw, key)}: {ctx}.{key}: must be a mapping")
        importlib.import_module(module).validate(raw[key], f"{ctx}.{key}", where)


def parse_target(name: str, raw: Mapping[str, Any], where: str) -> Target:
    ctx = f"targets.{name}"
    host_vars = _host_vars(raw, ctx, where)
    transport = _str(raw, "transport", ctx, where) or "ssh"
    if transport not in ("ssh", "local"):
        raise ConfigError(f"{where}:{line_of(raw, 'transport')}: {ctx}.transport: must be 'ssh' or 'local', not {transport!r}")
    host = _str(raw, "host", ctx, where, required=transport == "ssh")
    if host is not None and not HOST_RE.match(host):
        raise ConfigError(f"{where}:{line_of(raw, 'host')}: {ctx}.host: not a hostname: {host!r}")
    port = raw.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
        raise ConfigError(f"{where}:{line_of(raw, 'port')}: {ctx}.port: must be an integer 1-65535")
    project_dir = _str(raw, "project_dir", ctx, where) or ""
    if project_dir and (not project_dir.startswith("/") or "\n" in project_dir or "\x00" in project_dir):
        raise ConfigError(f"{where}:{line_of(raw, 'project_dir')}: {ctx}.project_dir: must be an absolute path")
    confirm = _str(raw, "confirm", ctx, where) or "typed"
    if confirm not in ("typed", "yes"):
        raise ConfigError(f"{where}:{line_of(raw, 'confirm')}: {ctx}.confirm: must be 'typed' or 'yes', not {confirm!r}")
    role = _str(raw, "role", ctx, where) or "prod"
    if role not in ROLES:
        raise ConfigError(f"{where}:{line_of(raw, 'role')}: {ctx}.role: must be one of {', '.join(ROLES)}, not {role!r}")
    env = _str_map(raw, "env", ctx, where)
    for key in env:
        if not ENV_KEY_RE.match(key):  # it becomes `export KEY=...` in a shell on the host
            raise ConfigError(f"{where}:{line_of(raw.get('env') or {}, key)}: {ctx}.env: {key!r} is not an environment "
                              f"variable name (letters, digits and _, not starting with a digit)")
    ct = raw.get("connect_timeout", 10.0)
    if not isinstance(ct, (int, float)) or isinstance(ct, bool) or ct <= 0:
        raise ConfigError(f"{where}:{line_of(raw, 'connect_timeout')}: {ctx}.connect_timeout: must be a positive number of seconds")
    containers = _names(raw, "containers", "container", ctx, where)
    services = _names(raw, "compose_services", "service", ctx, where)
    api = _api(raw, ctx, where)
    _sections(raw, ctx, where)
    return Target(
        name=name,
        transport=transport,
        host=host,
        port=port,
        user=_str(raw, "user", ctx, where),
        identity_file=_str(raw, "identity_file", ctx, where),
        known_hosts=_str(raw, "known_hosts", ctx, where),
        project_dir=project_dir.rstrip("/") or ("/" if project_dir else ""),
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
        vars=host_vars,
        source=f"{where}:{line_of(raw)}" if line_of(raw) else where,
    )
