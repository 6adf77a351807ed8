"""The slice of Go's text/template that ``--format`` strings use: ``{{.A.B}}``,
``{{json .X}}``, ``{{json .}}``, ``{{index .Labels "k"}}``, ``{{lower .X}}``, ``table``."""

from __future__ import annotations

import json
import re
from typing import Any

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}")


class TemplateError(Exception):
    pass


def _path(obj: Any, expr: str) -> Any:
    if expr == ".":
        return obj
    if not expr.startswith("."):
        raise TemplateError(f'function "{expr}" not defined')
    cur = obj
    for part in expr[1:].split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise TemplateError(f"can't evaluate field {part} in type {type(cur).__name__}")
    return cur


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<no value>"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_str(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_str(v) for v in value) + "]"
    return str(value)


def _eval(obj: Any, action: str) -> str:
    words = re.findall(r'"[^"]*"|\S+', action)
    if not words:
        raise TemplateError("missing value for command")
    fn = words[0]
    if fn == "json" and len(words) == 2:
        return json.dumps(_path(obj, words[1]), separators=(",", ":"), ensure_ascii=False)
    if fn in ("lower", "upper", "title") and len(words) == 2:
        s = _str(_path(obj, words[1]))
        return getattr(s, fn)()
    if fn == "index" and len(words) == 3:
        container = _path(obj, words[1])
        key = words[2].strip('"')
        return _str(container.get(key, "")) if isinstance(container, dict) else ""
    if len(words) == 1:
        return _str(_path(obj, fn))
    raise TemplateError(f'function "{fn}" not defined')


def render(template: str, obj: Any) -> str:
    template = template.replace("\\t", "\t").replace("\\n", "\n")
    out, pos = [], 0
    for m in _ACTION.finditer(template):
        out.append(template[pos:m.start()])
        out.append(_eval(obj, m.group(1)))
        pos = m.end()
    out.append(template[pos:])
    return "".join(out)


def table_header(template: str, names: dict[str, str]) -> str:
    """Header line of a ``table ...`` format: each ``{{.X}}`` becomes its column title."""
    template = template.replace("\\t", "\t").replace("\\n", "\n")
    return _ACTION.sub(lambda m: names.get(m.group(1).lstrip("."), m.group(1).lstrip(".").upper()), template)
