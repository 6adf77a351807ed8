"""Playbooks: YAML files of ordered, named steps, validated with file:line:key errors.

    name: rollback
    description: ...
    steps:
      - name: stop-worker
        kind: shell
        params: {command: "docker exec {{ worker }} pkill -f 'celery worker'"}
        confirm: true        # false | true | typed
        mutates: true
        timeout: 60
        when: "not dry_run"
        always: false        # true: runs despite --start-at and after a failure/abort
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from runbooks.conditions import compile_condition
from runbooks.errors import PlaybookError
from runbooks.resources import playbooks_dir
from runbooks.steps.base import Step, changes_host, is_kind, known_kinds, validate_params
from runbooks.yamlfile import line_of, load_yaml

PLAYBOOK_KEYS = {"name", "description", "steps", "vars", "mutating"}
STEP_KEYS = {"name", "kind", "params", "confirm", "mutates", "timeout", "when", "description", "tags", "always"}
_STEP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")




@dataclass(frozen=True)
class Playbook:
    name: str
    steps: tuple[Step, ...]
    description: str = ""
    vars: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def mutating(self) -> bool:
        return any(s.mutates for s in self.steps)

    @property
    def needs_confirmation(self) -> bool:
        return any(s.confirm for s in self.steps)

    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]

    def index_of(self, name: str) -> int:
        for i, s in enumerate(self.steps):
            if s.name == name:
                return i
        raise PlaybookError(f"no step named {name!r} in {self.name} (steps: {', '.join(self.step_names())})")


def load_playbook(name_or_path: str | Path) -> Playbook:
    p = Path(name_or_path)
    if p.suffix not in (".yml", ".yaml"):
        p = playbooks_dir() / f"{name_or_path}.yml"
    if not p.is_file():
        raise PlaybookError(f"playbook {name_or_path!r} not found ({p})")
    return parse_playbook(load_yaml(p, PlaybookError), str(p))


def parse_playbook(data: Any, where: str) -> Playbook:
    if not isinstance(data, dict):
        raise PlaybookError(f"{where}:{line_of(data)}: a playbook must be a mapping with 'name' and 'steps'")
    for key in data:
        if key not in PLAYBOOK_KEYS:
            raise PlaybookError(f"{where}:{line_of(data, key)}: unknown key {key!r} (allowed: {', '.join(sorted(PLAYBOOK_KEYS))})")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise PlaybookError(f"{where}:{line_of(data, 'name')}: name: required, a string")
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise PlaybookError(f"{where}:{line_of(data, 'steps')}: steps: required, a non-empty list")
    pvars = data.get("vars") or {}
    if not isinstance(pvars, dict):
        raise PlaybookError(f"{where}:{line_of(data, 'vars')}: vars: must be a mapping")
    steps: list[Step] = []
    seen: set[str] = set()
    for i, raw in enumerate(steps_raw):
        at = f"{where}:{line_of(raw) or line_of(steps_raw)}"
        if not isinstance(raw, dict):
            raise PlaybookError(f"{at}: steps[{i}]: must be a mapping")
        for key in raw:
            if key not in STEP_KEYS:
                raise PlaybookError(f"{where}:{line_of(raw, key)}: steps[{i}]: unknown key {key!r} (allowed: {', '.join(sorted(STEP_KEYS))})")
        sname = raw.get("name")
        if not isinstance(sname, str) or not _STEP_NAME.match(sname):
            raise PlaybookError(f"{where}:{line_of(raw, 'name')}: steps[{i}].name: required, lowercase letters, digits, - and _")
        if sname in seen:
            raise PlaybookError(f"{where}:{line_of(raw, 'name')}: steps[{i}].name: duplicate step name {sname!r}")
        seen.add(sname)
        kind = raw.get("kind")
        if not isinstance(kind, str) or not is_kind(kind):
            raise PlaybookError(f"{where}:{line_of(raw, 'kind')}: steps.{sname}.kind: unknown kind {kind!r} (known: {', '.join(known_kinds())})")
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise PlaybookError(f"{where}:{line_of(raw, 'params')}: steps.{sname}.params: must be a mapping")
        try:
            validate_params(kind, params)
        except (ValueError, TypeError) as exc:
            raise PlaybookError(f"{where}:{line_of(raw, 'params')}: steps.{sname}.params.{exc}") from exc
        confirm = raw.get("confirm", False)
        if confirm not in (False, True, "typed"):
            raise PlaybookError(f"{where}:{line_of(raw, 'confirm')}: steps.{sname}.confirm: must be false, true or 'typed'")
        mutates = raw.get("mutates", False)
        if not isinstance(mutates, bool):
            raise PlaybookError(f"{where}:{line_of(raw, 'mutates')}: steps.{sname}.mutates: must be true or false")
        change = changes_host(kind, params)
        if change and not mutates:
            raise PlaybookError(f"{where}:{line_of(raw)}: steps.{sname}.mutates: {change} changes the host: "
                                "mark the step `mutates: true`")
        timeout = raw.get("timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not 0 < timeout < float("inf")):
            raise PlaybookError(f"{where}:{line_of(raw, 'timeout')}: steps.{sname}.timeout: must be a positive number of seconds")
        when = raw.get("when")
        if when is not None:
            if not isinstance(when, str):
                raise PlaybookError(f"{where}:{line_of(raw, 'when')}: steps.{sname}.when: must be an expression string")
            try:
                compile_condition(when)
            except jinja2.TemplateSyntaxError as exc:
                raise PlaybookError(f"{where}:{line_of(raw, 'when')}: steps.{sname}.when: invalid expression: {exc.message}") from exc
        always = raw.get("always", False)
        if not isinstance(always, bool):
            raise PlaybookError(f"{where}:{line_of(raw, 'always')}: steps.{sname}.always: must be true or false")
        tags = raw.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise PlaybookError(f"{where}:{line_of(raw, 'tags')}: steps.{sname}.tags: must be a list of strings")
        steps.append(Step(
            name=sname, kind=str(kind), params=dict(params), confirm=confirm, mutates=mutates,
            timeout=float(timeout) if timeout is not None else None, when=when,
            description=str(raw.get("description") or ""), tags=tuple(tags),
            source=f"{where}:{line_of(raw)}", always=always,
        ))
    return Playbook(name=name, steps=tuple(steps), description=str(data.get("description") or ""),
                    vars=dict(pvars), source=where)
