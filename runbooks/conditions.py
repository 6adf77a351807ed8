"""`when:` conditions: Jinja2 expressions compiled in a sandboxed environment (never eval)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)


@lru_cache(maxsize=256)
def compile_condition(expr: str) -> Callable[..., Any]:
    """Compile once; raises jinja2.TemplateSyntaxError on bad syntax."""
    return _ENV.compile_expression(expr)


def evaluate(expr: str, variables: Mapping[str, Any]) -> bool:
    return bool(compile_condition(expr)(**variables))
