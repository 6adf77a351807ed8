"""The step protocol: a step kind is a generator over requests.

    def run(step: Step, ctx: StepContext) -> StepGen:
        res = yield cmd("docker ps --format {{ f }}", f="{{.Names}}")   # -> Result
        ok = yield Confirm("Stop the worker?")                              # -> bool
        line = yield Prompt("Press Enter when done", timeout=600)             # -> str | None
        resp = yield HttpRequest("GET", url)                                 # -> HttpResponse
        a, b = yield Batch((cmd_a, cmd_b))       # read-only, run concurrently -> (Result, Result)
        yield Note("worker stopped")                                         # -> None
        return StepOutcome(status="ok", facts={...})

The runner sends back the answer to each request. Under --dry-run a mutating Command is
not executed: the step receives a Result with `dry_run=True` and exit_code 0. A declined
Confirm raises `Aborted` inside the runner (the generator is closed), so steps need no
"operator said no" branches.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from runbooks.commands import Command
from runbooks.lang.model import Step
from runbooks.model import Batch, Confirm, HttpRequest, HttpResponse, Note, Prompt, Result, StepOutcome

if TYPE_CHECKING:
    from runbooks.config import Target

Request = Union[Command, HttpRequest, Confirm, Prompt, Note, Batch]
Answer = Union[Result, HttpResponse, bool, str, None]
StepGen = Generator[Request, Any, StepOutcome]


@dataclass
class StepContext:
    """What a step may read: the target, the run's variables and earlier steps' outputs.

    `vars` is the step's whole scope: the run's variables, the step's own, the loop
    variable, `steps` (name -> output, see runbooks/lang/outputs.py) and `facts` (name ->
    that step's StepOutcome.facts, the older spelling). Expressions and templates of
    the language kinds (check, prompt, shell) are evaluated over it.
    """

    target: "Target"
    vars: dict[str, Any]
    facts: dict[str, Any]  # step name -> that step's StepOutcome.facts
    dry_run: bool = False
    playbook: str = ""
    steps: Mapping[str, Mapping[str, Any]] | None = None  # step name -> output; None: derived from facts
    confirmed: bool = False  # the operator confirmed the whole loop/until already (lang/covering.py)
    # one per run, the same object for every step: what a pack's steps compute once and
    # hand to its later steps as values (the monitor's window, settings and instant,
    # packs/eatfit24/monitor/frame.py); not recorded, not seen by expressions
    shared: dict[str, Any] = field(default_factory=dict)

    def scope(self) -> dict[str, Any]:
        """The variables an expression sees: vars, `steps` and `facts`."""
        from runbooks.lang.outputs import outputs_from_facts

        steps = self.steps if self.steps is not None else outputs_from_facts(self.facts)
        return {**self.vars, "steps": steps, "facts": self.facts}


StepFn = Callable[[Step, StepContext], StepGen]

_REGISTRY: dict[str, StepFn] = {}
_VALIDATORS: dict[str, Callable[[Mapping[str, Any]], None]] = {}
_MUTATES: dict[str, Callable[[Mapping[str, Any]], str | None]] = {}
_SCHEMAS: dict[str, dict[str, Any]] = {}


def step_kind(name: str, validate: Callable[[Mapping[str, Any]], None] | None = None,
              mutates: Callable[[Mapping[str, Any]], str | None] | None = None,
              schema: dict[str, Any] | None = None) -> Callable[[StepFn], StepFn]:
    """Register a step kind. `validate(params)` raises ValueError('key: why') on bad params;
    `mutates(params)` says what the step changes on the host ("compose stop"), or None, so
    a playbook that forgot `mutates: true` is refused when it loads, not halfway through;
    `schema` is the JSON Schema of its params (for editors: runbooks/lang/schema.py)."""

    def deco(fn: StepFn) -> StepFn:
        _REGISTRY[name] = fn
        if validate is not None:
            _VALIDATORS[name] = validate
        if mutates is not None:
            _MUTATES[name] = mutates
        if schema is not None:
            _SCHEMAS[name] = schema
        return fn

    return deco


def changes_host(kind: str, params: Mapping[str, Any]) -> str | None:
    """What a (validated) step of `kind` changes on the host, or None: read-only."""
    from runbooks.steps import load_kind

    load_kind(kind)
    fn = _MUTATES.get(kind)
    return fn(params) if fn is not None else None


def params_schema(kind: str) -> dict[str, Any] | None:
    from runbooks.steps import load_kind

    load_kind(kind)
    return _SCHEMAS.get(kind)


def kind_module(kind: str) -> str:
    """The module that registered `kind` (the docs test tells generic kinds from packs')."""
    return get_kind(kind).__module__


def get_kind(name: str) -> StepFn:
    if not is_kind(name):
        raise KeyError(name)
    return _REGISTRY[name]


def is_kind(name: str) -> bool:
    from runbooks.steps import load_all, load_kind

    load_kind(name)
    if name not in _REGISTRY:
        load_all()  # a kind whose name does not start with its module's prefix
    return name in _REGISTRY


def known_kinds() -> list[str]:
    from runbooks.steps import load_all

    load_all()
    return sorted(_REGISTRY)


def validate_params(kind: str, params: Mapping[str, Any]) -> None:
    from runbooks.steps import load_kind

    load_kind(kind)
    v = _VALIDATORS.get(kind)
    if v is not None:
        v(params)
