"""One step entry of a playbook -> a typed Step, or a `file:line: steps.NAME.KEY: why` error."""

from __future__ import annotations

import math
import re
from typing import Any

from runbooks.errors import PlaybookError
from runbooks.lang.expr import check_syntax, checked_source
from runbooks.lang.model import DEFAULT_DELAY, DEFAULT_RETRIES, STEP_KEYS, Step
from runbooks.yamlfile import line_of

_STEP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def expression(raw: Any, key: str, label: str, where: str) -> str:
    """`raw[key]` as a compiled-clean expression string (or the error naming file:line:key)."""
    try:
        return checked_source(raw.get(key), label, expression=True)
    except ValueError as exc:
        raise PlaybookError(f"{where}:{line_of(raw, key)}: {exc}") from None


def text_template(raw: Any, key: str, label: str, where: str, value: Any = None) -> str:
    try:
        return checked_source(raw.get(key) if value is None else value, label, expression=False)
    except ValueError as exc:
        raise PlaybookError(f"{where}:{line_of(raw, key)}: {exc}") from None


def _number(raw: Any, key: str, label: str, where: str, minimum: float, allow_zero: bool) -> float | None:
    v = raw.get(key)
    if v is None:
        return None
    bad = isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
    if bad or v < minimum or (not allow_zero and v == 0):
        need = "a number of seconds, 0 or more" if allow_zero else "a positive number of seconds"
        raise PlaybookError(f"{where}:{line_of(raw, key)}: {label}: must be {need}")
    return float(v)


RESERVED_VARS = frozenset({"steps", "facts"})


def variables(value: Any, parent: Any, key: str, where: str, label: str | None = None) -> dict[str, Any]:
    """A `vars:` mapping: identifier names, none of the reserved ones."""
    label = label or key
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PlaybookError(f"{where}:{line_of(parent, key)}: {label}: must be a mapping of name -> value")
    for name in value:
        if not isinstance(name, str) or not name.isidentifier():
            raise PlaybookError(f"{where}:{line_of(value, str(name))}: {label}.{name}: a variable name must be an identifier")
        if name in RESERVED_VARS:
            raise PlaybookError(f"{where}:{line_of(value, name)}: {label}.{name}: reserved (the run's step outputs)")
    return dict(value)


def parse_step(raw: Any, i: int, where: str, parent: Any) -> Step:
    from runbooks.steps.base import changes_host, is_kind, known_kinds, validate_params

    if not isinstance(raw, dict):
        raise PlaybookError(f"{where}:{line_of(raw) or line_of(parent)}: steps[{i}]: must be a mapping")

    def err(key: str | None, label: str, msg: str) -> PlaybookError:
        return PlaybookError(f"{where}:{line_of(raw, key)}: {label}: {msg}")

    for key in raw:
        if key not in STEP_KEYS:
            raise err(str(key), f"steps[{i}]", f"unknown key {key!r} (allowed: {', '.join(sorted(STEP_KEYS))}, or include)")
    sname = raw.get("name")
    if not isinstance(sname, str) or not _STEP_NAME.match(sname):
        raise err("name", f"steps[{i}].name", "required, lowercase letters, digits, - and _")
    at = f"steps.{sname}"
    kind = raw.get("kind")
    if not isinstance(kind, str) or not is_kind(kind):
        raise err("kind", f"{at}.kind", f"unknown kind {kind!r} (known: {', '.join(known_kinds())})")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise err("params", f"{at}.params", "must be a mapping")
    try:
        validate_params(kind, params)
    except (ValueError, TypeError) as exc:
        pkey = str(exc).split(":", 1)[0].split(".", 1)[0].split("[", 1)[0]
        line = line_of(params, pkey) if pkey in params else line_of(raw, "params")
        raise PlaybookError(f"{where}:{line}: {at}.params.{exc}") from exc
    confirm, confirm_text = _confirm(raw, at, where)
    mutates = raw.get("mutates", False)
    if not isinstance(mutates, bool):
        raise err("mutates", f"{at}.mutates", "must be true or false")
    change = changes_host(kind, params)
    if change and not mutates:
        raise err(None, f"{at}.mutates", f"{change} changes the host: mark the step `mutates: true`")
    timeout = _number(raw, "timeout", f"{at}.timeout", where, 0, allow_zero=False)
    when = expression(raw, "when", f"{at}.when", where) if "when" in raw else None
    always = raw.get("always", False)
    if not isinstance(always, bool):
        raise err("always", f"{at}.always", "must be true or false")
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise err("tags", f"{at}.tags", "must be a list of strings")
    description = text_template(raw, "description", f"{at}.description", where) if raw.get("description") else ""
    svars = variables(raw.get("vars"), raw, "vars", where, label=f"{at}.vars")
    loop = _loop(raw, at, where)
    loop_var = raw.get("loop_var", "item")
    if not isinstance(loop_var, str) or not loop_var.isidentifier() or loop_var in ("steps", "facts"):
        raise err("loop_var", f"{at}.loop_var", "must be a variable name (an identifier)")
    if "loop_var" in raw and loop is None:
        raise err("loop_var", f"{at}.loop_var", "needs `loop:`")
    until = expression(raw, "until", f"{at}.until", where) if "until" in raw else None
    retries = raw.get("retries")
    if isinstance(retries, str):
        retries = expression(raw, "retries", f"{at}.retries", where)
    elif retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 1000):
        raise err("retries", f"{at}.retries", "must be a whole number from 0 to 1000, or an expression giving one")
    delay: float | str | None
    if isinstance(raw.get("delay"), str):
        delay = expression(raw, "delay", f"{at}.delay", where)
    else:
        delay = _number(raw, "delay", f"{at}.delay", where, 0, allow_zero=True)
    for key in ("retries", "delay"):
        if key in raw and until is None:
            raise err(key, f"{at}.{key}", "needs `until:` (the condition re-checked after each attempt)")
    register = raw.get("register")
    if register is not None and (not isinstance(register, str) or not register.isidentifier() or register in RESERVED_VARS):
        raise err("register", f"{at}.register", "must be a variable name (an identifier, not steps or facts)")
    return Step(
        register=register,
        name=sname, kind=kind, params=dict(params), confirm=confirm, mutates=mutates, timeout=timeout, when=when,
        description=description, tags=tuple(tags), source=f"{where}:{line_of(raw)}", always=always,
        confirm_text=confirm_text, vars=svars, loop=loop, loop_var=loop_var, until=until,
        retries=(DEFAULT_RETRIES if retries is None else retries) if until else None,
        delay=DEFAULT_DELAY if delay is None else delay,
    )


def _confirm(raw: Any, at: str, where: str) -> tuple[bool | str, str]:
    """false | true | typed | "the question" | {text: "the question", typed: true}."""
    value = raw.get("confirm", False)
    label = f"{at}.confirm"
    if value is True or value is False or value == "typed":
        return value, ""
    if isinstance(value, str) and value.strip():
        return True, text_template(raw, "confirm", label, where)
    if isinstance(value, dict):
        extra = set(value) - {"text", "typed"}
        if extra:
            raise PlaybookError(f"{where}:{line_of(value, sorted(extra)[0])}: {label}: unknown key {sorted(extra)[0]!r} "
                                "(allowed: text, typed)")
        typed = value.get("typed", False)
        if not isinstance(typed, bool):
            raise PlaybookError(f"{where}:{line_of(value, 'typed')}: {label}.typed: must be true or false")
        text = text_template(value, "text", f"{label}.text", where) if "text" in value else ""
        return ("typed" if typed else True), text
    raise PlaybookError(f"{where}:{line_of(raw, 'confirm')}: {label}: must be false, true, 'typed', "
                        "a question to ask, or {text: ..., typed: true}")


def _loop(raw: Any, at: str, where: str) -> Any:
    if "loop" not in raw:
        return None
    value = raw["loop"]
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{{") and text.endswith("}}"):  # Ansible's spelling: loop: "{{ names }}"
            text = text[2:-2].strip()
        try:
            check_syntax(text, expression=True)
        except ValueError as exc:
            raise PlaybookError(f"{where}:{line_of(raw, 'loop')}: {at}.loop: {exc}") from None
        return text
    raise PlaybookError(f"{where}:{line_of(raw, 'loop')}: {at}.loop: must be a list or an expression giving one")
