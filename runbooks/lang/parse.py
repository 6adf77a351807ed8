"""YAML -> Playbook, every error as `file:line: key: why` (exit 3), nothing run before.

Include and vars-files resolution live here: an `include:` entry is replaced by the other
playbook's steps (its `when:` and `tags:` added to each, its vars under theirs, its
`always:` over theirs), so the
engine sees one flat list of steps and --start-at, tags and always: work the same on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runbooks.errors import PlaybookError
from runbooks.lang.expr import check_syntax
from runbooks.lang.model import INCLUDE_KEYS, PLAYBOOK_KEYS, STEP_KEYS, Playbook, Step
from runbooks.lang.steps import expression, parse_step, variables
from runbooks.resources import playbooks_dir
from runbooks.yamlfile import line_of, load_yaml

_STEP_REF = re.compile(r"\bsteps\.([A-Za-z0-9_]+)|\bsteps\[\s*['\"]([^'\"]+)['\"]\s*\]")


def resolve_path(name_or_path: str | Path, base: Path | None = None) -> Path:
    """A playbook name (`doctor` -> playbooks/doctor.yml) or a .yml path (relative to `base`,
    the including file's folder, when given)."""
    p = Path(name_or_path)
    if p.suffix not in (".yml", ".yaml"):
        return playbooks_dir() / f"{name_or_path}.yml"
    if base is not None and not p.is_absolute():
        return base / p
    return p


def load_playbook(name_or_path: str | Path) -> Playbook:
    p = resolve_path(name_or_path)
    if not p.is_file():
        raise PlaybookError(f"playbook {str(name_or_path)!r} not found ({p})")
    return parse_playbook(load_yaml(p, PlaybookError), str(p))


def parse_playbook(data: Any, where: str, _stack: tuple[str, ...] = ()) -> Playbook:
    def err(node: Any, key: str | None, msg: str) -> PlaybookError:
        return PlaybookError(f"{where}:{line_of(node, key)}: {msg}")

    if not isinstance(data, dict):
        raise err(data, None, "a playbook must be a mapping with 'name' and 'steps'")
    for key in data:
        if key not in PLAYBOOK_KEYS:
            raise err(data, key, f"unknown key {key!r} (allowed: {', '.join(sorted(PLAYBOOK_KEYS))})")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise err(data, "name", "name: required, a string")
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise err(data, "steps", "steps: required, a non-empty list")
    pvars = variables(data.get("vars"), data, "vars", where)
    for i, f in enumerate(_list_of_str(data, "vars_files", where)):
        pvars.update(_vars_file(f, where, data, i))
    serial = data.get("serial")
    if serial is True:
        serial = 1
    if serial is not None and (isinstance(serial, bool) or serial != 1):
        raise err(data, "serial", "serial: only 1 (one target at a time) is supported")
    base = Path(where).parent if Path(where).is_file() else None
    steps: list[Step] = []
    includes: list[str] = []
    for i, raw in enumerate(steps_raw):
        if isinstance(raw, dict) and "include" in raw:
            inc, files = _include(raw, i, where, base, (*_stack, where))
            steps.extend(inc)
            includes.extend(files)
        else:
            steps.append(parse_step(raw, i, where, steps_raw))
    _check_names_and_refs(steps, where)
    return Playbook(name=name, steps=tuple(steps), description=str(data.get("description") or ""), vars=pvars,
                    source=where, serial=serial, includes=tuple(includes))


def _list_of_str(data: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PlaybookError(f"{where}:{line_of(data, key)}: {key}: must be a list of file names")
    return list(value)


def _vars_file(name: str, where: str, data: Any, i: int) -> dict[str, Any]:
    base = Path(where).parent if Path(where).is_file() else Path.cwd()
    p = Path(name) if Path(name).is_absolute() else base / name
    if not p.is_file():
        raise PlaybookError(f"{where}:{line_of(data, 'vars_files')}: vars_files[{i}]: no such file {str(p)!r}")
    loaded = load_yaml(p, PlaybookError)
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise PlaybookError(f"{p}:{line_of(loaded)}: a vars file must be a mapping of name -> value")
    return variables(loaded, {"vars": loaded}, "vars", str(p), label="vars")


def _include(raw: dict[str, Any], i: int, where: str, base: Path | None,
             stack: tuple[str, ...]) -> tuple[list[Step], list[str]]:
    for key in raw:
        if key not in INCLUDE_KEYS:
            raise PlaybookError(f"{where}:{line_of(raw, key)}: steps[{i}]: unknown key {key!r} in an include "
                                f"(allowed: {', '.join(sorted(INCLUDE_KEYS))})")
    target = raw["include"]
    if not isinstance(target, str) or not target:
        raise PlaybookError(f"{where}:{line_of(raw, 'include')}: steps[{i}].include: a playbook name or a .yml path")
    p = resolve_path(target, base)
    if not p.is_file():
        raise PlaybookError(f"{where}:{line_of(raw, 'include')}: steps[{i}].include: playbook {target!r} not found ({p})")
    if str(p) in stack or str(p.resolve()) in {str(Path(s).resolve()) for s in stack}:
        raise PlaybookError(f"{where}:{line_of(raw, 'include')}: steps[{i}].include: {target!r} includes itself "
                            f"({' -> '.join([*stack, str(p)])})")
    inner = parse_playbook(load_yaml(p, PlaybookError), str(p), stack)
    ivars = variables(raw.get("vars"), raw, "vars", where, label=f"steps[{i}].vars")
    when = raw.get("when")
    if when is not None:
        expression(raw, "when", f"steps[{i}].when", where)
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise PlaybookError(f"{where}:{line_of(raw, 'tags')}: steps[{i}].tags: must be a list of strings")
    always = raw.get("always")
    if always is not None and not isinstance(always, bool):
        raise PlaybookError(f"{where}:{line_of(raw, 'always')}: steps[{i}].always: must be true or false")
    out = []
    for s in inner.steps:
        combined = s.when if not when else (f"({when}) and ({s.when})" if s.when else when)
        out.append(replace(s, when=combined, tags=tuple(dict.fromkeys([*s.tags, *tags])),
                           vars={**inner.vars, **ivars, **s.vars}, always=s.always if always is None else always))
    return out, [str(p), *inner.includes]


def _check_names_and_refs(steps: list[Step], where: str) -> None:
    """Unique names and registers (across includes too), and `steps.X` read only after X ran."""
    seen: dict[str, Step] = {}
    registers: dict[str, Step] = {}
    for s in steps:
        if s.register:
            if s.register in registers:
                raise PlaybookError(f"{s.source}: steps.{s.name}.register: {s.register!r} is already the register of "
                                    f"step {registers[s.register].name}")
            registers[s.register] = s
        if s.name in seen:
            raise PlaybookError(f"{s.source}: steps.{s.name}.name: duplicate step name {s.name!r} "
                                f"(first at {seen[s.name].source})")
        for key, text, self_ok in _sources(s):
            for m in _STEP_REF.finditer(_jinja_part(text)):
                ref = m.group(1) or m.group(2)
                if ref in seen or (self_ok and ref == s.name):
                    continue
                why = "a later step" if any(t.name == ref for t in steps) else "no such step"
                if ref == s.name:
                    why = "the step itself (only `until:` may read it)"
                raise PlaybookError(f"{s.source}: steps.{s.name}.{key}: reads steps.{ref}: {why}; "
                                    "a step can read only the steps before it")
        seen[s.name] = s


_DELIMITED = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def _jinja_part(text: str) -> str:
    """What Jinja reads in `text`: inside {{ }} / {% %} for a template; the whole text for an
    expression; nothing for plain text (`cat steps.log` in a command is not a reference)."""
    if "{{" in text or "{%" in text:
        return " ".join(_DELIMITED.findall(text))
    try:
        check_syntax(text, expression=True)
    except ValueError:
        return ""
    return text


def _sources(s: Step) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    for key, value in (("when", s.when), ("description", s.description), ("confirm", s.confirm_text),
                       ("loop", s.loop if isinstance(s.loop, str) else None)):
        if value:
            out.append((key, value, False))
    if s.until:
        out.append(("until", s.until, True))

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, str):
            out.append((prefix, v, False))
        elif isinstance(v, Mapping):
            for k, x in v.items():
                walk(f"{prefix}.{k}", x)
        elif isinstance(v, list):
            for j, x in enumerate(v):
                walk(f"{prefix}[{j}]", x)

    walk("params", s.params)
    return out


__all__ = ["load_playbook", "parse_playbook", "resolve_path", "Playbook", "Step", "STEP_KEYS", "PLAYBOOK_KEYS"]
