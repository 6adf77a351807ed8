"""A target's `monitor:` section, checked when the config loads (before connecting) with
the monitor's own rules; errors point at the file line of the offending key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runbooks.errors import ConfigError
from runbooks.packs.eatfit24.monitor.catalog import CATALOG
from runbooks.packs.eatfit24.monitor.custom import validate as validate_custom
from runbooks.packs.eatfit24.monitor.thresholds import settings_from
from runbooks.yamlfile import line_of


def validate(raw: Mapping[str, Any], prefix: str, where: str) -> None:
    """`prefix` is `targets.<name>.monitor`."""
    ctx = prefix.rsplit(".", 1)[0]
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
