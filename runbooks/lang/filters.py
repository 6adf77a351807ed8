"""Filters for expressions and templates: turn a step's output into data.

    {{ steps.df.stdout | regex('(\\d+)%') | number }}        -> 85
    {{ '11G' | size }}                                        -> 11811160064 (bytes)
    {{ steps.api.stdout | from_json | json_path('items[0].status') }}

Each raises ValueError with a one-line reason on input it cannot read, so a `check`
over a step that printed something unexpected says why instead of guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_SIZE = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*([-+]?[0-9][0-9_,]*(?:\.[0-9]+)?|[-+]?\.[0-9]+)\s*%?\s*$")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def _text(value: Any, name: str) -> str:
    if value is None:
        raise ValueError(f"{name}: got nothing (None)")
    return value if isinstance(value, str) else str(value)


def regex(value: Any, pattern: str, group: int | str | None = None) -> str | None:
    """The first match: its first capture group (or `group`), the whole match when the
    pattern has no group; None when nothing matches."""
    m = re.search(pattern, _text(value, "regex"), re.MULTILINE)
    if m is None:
        return None
    if group is not None:
        return m.group(group)
    return m.group(1) if m.re.groups else m.group(0)


def regex_all(value: Any, pattern: str) -> list[Any]:
    """Every match (tuples when the pattern has several groups)."""
    return re.findall(pattern, _text(value, "regex_all"), re.MULTILINE)


def regex_replace(value: Any, pattern: str, replacement: str = "") -> str:
    return re.sub(pattern, replacement, _text(value, "regex_replace"), flags=re.MULTILINE)


def number(value: Any) -> int | float:
    """'85%' -> 85, ' 1,234.5 ' -> 1234.5, 3 -> 3. A bool, None or text that is not one
    number raises ValueError (a check then says why rather than comparing garbage)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"number: not a number: {value!r}")
    if isinstance(value, (int, float)):
        return value
    m = _NUMBER.match(str(value))
    if m is None:
        raise ValueError(f"number: not a number: {str(value)[:60]!r}")
    digits = m.group(1).replace(",", "").replace("_", "")
    f = float(digits)
    return int(f) if f.is_integer() and "." not in digits else f


def size(value: Any, unit: str = "B") -> int | float:
    """A size as `df -h`/`du -h` print it ('11G', '512K', '1.5T', '100') -> bytes (binary
    units, 1K = 1024), or in `unit` ('G' -> gigabytes)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        n = float(value)
    else:
        m = _SIZE.match(_text(value, "size"))
        if m is None:
            raise ValueError(f"size: not a size like 11G or 512K: {str(value)[:60]!r}")
        n = float(m.group(1).replace(",", ".")) * _UNITS[m.group(2).upper()]
    div = _UNITS.get(re.sub(r"I?B$", "", unit.strip().upper()))
    if div is None:
        raise ValueError(f"size: unknown unit {unit!r} (B, K, M, G, T, P)")
    out = n / div
    return int(out) if out.is_integer() else round(out, 3)


def from_json(value: Any) -> Any:
    try:
        return json.loads(_text(value, "from_json"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"from_json: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def json_path(value: Any, path: str, default: Any = None) -> Any:
    """`items[0].status` into parsed JSON (a JSON string is parsed first); `default` when
    a key or index is missing."""
    data = from_json(value) if isinstance(value, str) else value
    for m in _PATH_PART.finditer(path):
        key, index = m.group(1), m.group(2)
        try:
            if index is not None:
                data = data[int(index)]
            elif isinstance(data, dict):
                data = data[key]
            elif isinstance(data, list) and key.lstrip("-").isdigit():
                data = data[int(key)]
            else:
                return default
        except (KeyError, IndexError, TypeError):
            return default
    return data


def lines(value: Any) -> list[str]:
    """The non-empty lines, stripped."""
    return [ln.strip() for ln in _text(value, "lines").splitlines() if ln.strip()]


FILTERS: dict[str, Callable[..., Any]] = {
    "regex": regex,
    "regex_all": regex_all,
    "regex_replace": regex_replace,
    "number": number,
    "size": size,
    "from_json": from_json,
    "to_json": to_json,
    "json_path": json_path,
    "lines": lines,
}
