"""Expressions and text templates: ONE sandboxed Jinja2 environment with the filters.

`when:`, `until:`, a `check`'s value, and text shown to people (descriptions, prompt and
confirmation text, a finding's title) are all compiled here, never with eval. Command
templates use an overlay of this same environment whose only difference is that every
`{{ value }}` comes out shell-quoted (runbooks/commands.py), so the filters are the same
in a command and in a condition.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runbooks.lang.filters import FILTERS

ENV = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                    keep_trailing_newline=False)
ENV.filters.update(FILTERS)


@lru_cache(maxsize=512)
def compile_condition(expr: str) -> Callable[..., Any]:
    """Compile once; raises jinja2.TemplateSyntaxError on bad syntax."""
    return ENV.compile_expression(expr)


def evaluate(expr: str, variables: Mapping[str, Any]) -> bool:
    return bool(compile_condition(expr)(**variables))


def value_of(expr: str, variables: Mapping[str, Any]) -> Any:
    """The expression's value (a `check`'s measured value, a loop's list)."""
    return compile_condition(expr)(**variables)


@lru_cache(maxsize=512)
def _text_template(text: str) -> jinja2.Template:
    return ENV.from_string(text)


def render_text(text: str, variables: Mapping[str, Any]) -> str:
    """Text for people (a description, a prompt): not quoted; plain text stays as is."""
    if "{" not in text:
        return text
    return _text_template(text).render(**variables).strip()


def check_syntax(source: str, expression: bool) -> None:
    """Refuse bad syntax, unknown filters and `_private` attribute access before anything
    runs. Raises ValueError with a one-line reason."""
    try:
        with warnings.catch_warnings():
            # '\d' in a Jinja string literal is an invalid escape (a warning today, an error
            # in a later Python): refused now, with the fix, rather than at 3 a.m.
            warnings.simplefilter("error")
            if expression:
                ast = ENV.parse("{{ (" + source + ") }}")
                ENV.compile_expression(source)
            else:
                ast = ENV.parse(source)
                ENV.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        hint = " (in a regex write [0-9] for \\d, or double the backslash)" if "escape" in str(exc.message) else ""
        raise ValueError(f"invalid {'expression' if expression else 'template'}: {exc.message}{hint}") from None
    private = private_access(ast)
    if private is not None:
        raise ValueError(f"access to {private[0]!r} is not allowed (expressions are sandboxed)")


def private_access(ast: nodes.Template) -> tuple[str, int] | None:
    """The first reach for an underscore attribute in a parsed template or expression
    (`x.__class__`, `x['_y']`, `x|attr('_z')`), with its line: the sandbox would refuse it
    at render time, so loading refuses it first."""
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        name: object = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem):
            name = getattr(node.arg, "value", None)
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            name = getattr(node.args[0], "value", None)
        if isinstance(name, str) and name.startswith("_"):
            return name, node.lineno
    return None


def checked_source(value: Any, label: str, expression: bool) -> str:
    """`value` as an expression (or text template) that parses and reaches for nothing
    private; else ValueError("<label>: why"), the one check both the playbook parser and
    the step kinds' validators use."""
    if not isinstance(value, str) or (expression and not value.strip()):
        raise ValueError(f"{label}: must be {'an expression string' if expression else 'a string'}")
    try:
        check_syntax(value, expression=expression)
    except ValueError as exc:
        raise ValueError(f"{label}: {exc}") from None
    return value
