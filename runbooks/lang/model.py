"""The playbook model: typed steps as parsed from YAML (see parse.py and docs/playbooks.md).

The key tables below are the one list of what a playbook may say: the parser refuses
anything else, the JSON Schema is generated from them and the docs are tested against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runbooks.errors import PlaybookError

# key -> one line of help (the JSON Schema's description, for editors)
PLAYBOOK_KEYS: dict[str, str] = {
    "name": "the playbook's name (shown in the record and the verdict)",
    "description": "what the playbook is for",
    "vars": "default variables for every step's templates and expressions (--var wins)",
    "vars_files": "YAML files of variables, relative to this file, loaded in order over `vars`",
    "serial": "1: a mutating playbook may run on several targets, one at a time, confirmed, stopping at the first "
              "failure and asking whether to go on after a warning",
    "steps": "the ordered steps",
}
STEP_KEYS: dict[str, str] = {
    "name": "the step's name: lowercase letters, digits, - and _; its output is `steps.<name>`",
    "kind": "what the step does (shell, check, prompt, ...): see docs/playbooks.md",
    "params": "the kind's parameters",
    "description": "a line for the operator; a template over the run's variables and earlier steps",
    "when": "an expression: the step runs only when it is true",
    "confirm": "false | true | typed | a text: ask the operator before the step's change (the text is the question); "
               "a loop/until step is asked once for all its items",
    "mutates": "true when the step changes the host (never sent under --dry-run)",
    "timeout": "seconds before a command of the step is killed",
    "tags": "labels for --tags / --skip-tags",
    "always": "run even when --start-at begins later and after a failure, a decline or Ctrl-C (cleanup, re-checks)",
    "vars": "variables for this step only (over the playbook's)",
    "register": "also name the step's output as a variable for later steps (Ansible's register): `NAME.stdout`",
    "loop": "a list, or an expression giving one: the step runs once per item (`item`)",
    "loop_var": "the loop variable's name (default item)",
    "until": "an expression over `steps.<name>` re-checked after each attempt; retried while false",
    "retries": "attempts after the first for `until` (default 3); a number or an expression",
    "delay": "seconds between `until` attempts (default 5); a number or an expression",
}
# An `include:` entry in `steps:` (instead of a step): another playbook's steps, in place.
INCLUDE_KEYS: dict[str, str] = {
    "include": "another playbook (a name in playbooks/ or a path relative to this file) whose steps run here",
    "vars": "variables for the included steps",
    "when": "a condition added to every included step",
    "tags": "tags added to every included step",
    "always": "true | false: set on every included step, over its own (false: none of them runs after a failure)",
}
CONFIRM_MODES = (False, True, "typed")
DEFAULT_RETRIES = 3
DEFAULT_DELAY = 5.0


@dataclass(frozen=True)
class Step:
    """One step of a playbook, as parsed from YAML."""

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    confirm: bool | str = False  # False | True | "typed"
    mutates: bool = False
    timeout: float | None = None
    when: str | None = None  # sandboxed Jinja2 expression over the run's vars and steps
    description: str = ""  # a text template
    tags: tuple[str, ...] = ()
    source: str = ""  # "playbooks/x.yml:12" for error messages
    # always: run even when --start-at begins later, and still run (after the failed or
    # aborted step) when an earlier step failed, the operator declined or pressed Ctrl-C.
    # For read-only re-checks before a resume and for cleanup such as releasing a lock.
    always: bool = False
    confirm_text: str = ""  # `confirm: "Delete the files listed above?"`: the question asked
    vars: Mapping[str, Any] = field(default_factory=dict)  # step (and include) variables
    loop: Any = None  # a list, or an expression string giving one
    loop_var: str = "item"
    until: str | None = None
    retries: int | str | None = None  # None: no until; else attempts after the first (or an expression)
    delay: float | str = DEFAULT_DELAY  # seconds, or an expression giving them (`recheck_delay | number`)
    register: str | None = None  # the output is also the variable NAME for later steps


@dataclass(frozen=True)
class Playbook:
    name: str
    steps: tuple[Step, ...]
    description: str = ""
    vars: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    serial: int | None = None  # 1: several targets allowed, one at a time (mutating playbooks)
    includes: tuple[str, ...] = ()  # files included (for --check-only's report)

    @property
    def mutating(self) -> bool:
        return any(s.mutates for s in self.steps)

    def step_names(self) -> list[str]:
        return [s.name for s in self.steps]

    def index_of(self, name: str) -> int:
        for i, s in enumerate(self.steps):
            if s.name == name:
                return i
        raise PlaybookError(f"no step named {name!r} in {self.name} (steps: {', '.join(self.step_names())})")
