"""Commands are values: a Jinja2 template plus variables, rendered by ONE function.

Every value interpolated into a command is shell-quoted by the renderer itself (a Jinja2
`finalize` hook), so a template author cannot forget to quote: `{{ commit }}` is always
safe. Pre-quoted fragments that must pass through as shell syntax are wrapped in `Raw`
(only code builds those, never user input). The form shown to people comes from the same
template with secret variables replaced by a mask.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2

from runbooks.lang.expr import ENV as EXPR_ENV
from runbooks.lang.expr import private_access

MASK = "***"


class Raw(str):
    """A string that is already valid shell: the renderer does not quote it again."""


def quote(value: Any) -> Raw:
    """Shell-quote one value; lists/tuples become space-separated quoted words."""
    if isinstance(value, Raw):
        return value
    if value is None:
        return Raw("''")
    if isinstance(value, bool):
        return Raw("true" if value else "false")
    if isinstance(value, (list, tuple)):
        return Raw(" ".join(quote(v) for v in value))
    return Raw(shlex.quote(str(value)))


def _finalize(value: Any) -> Any:
    return quote(value)


# The language's one sandboxed environment (runbooks/lang/expr.py: same filters, same
# sandbox: a template can read the run's variables, never reach Python internals such as
# `cycler.__init__.__globals__.os`), overlaid so that every `{{ value }}` is shell-quoted.
_ENV = EXPR_ENV.overlay(
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters = {**EXPR_ENV.filters, "q": quote, "raw": Raw}  # raw: for trusted, code-built fragments only


@functools.lru_cache(maxsize=512)
def _compiled(template: str) -> jinja2.Template:
    """A template compiled once per run, however many times (and targets) it renders:
    compiling is most of a command's local CPU, and 32 targets render the same ones."""
    return _ENV.from_string(template)


@dataclass(frozen=True)
class Command:
    """A shell command as a value.

    `template` is Jinja2 source; `vars` its variables; names in `secret_vars` are masked
    in `display()`. `mutates` marks commands that change the host (never sent in dry-run).
    """

    template: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    secret_vars: frozenset[str] = frozenset()
    mutates: bool = False
    timeout: float | None = None
    stdin: str | None = None
    stream: bool = False  # stream output live to the operator (long builds)
    show: bool = False  # show the output's last lines on the console even without -v (a playbook's shell step)
    # exit codes that are not a failure (None: any), for the console: a failed command's
    # output is shown whole, not only its last lines (a playbook's shell step `ok_exit`)
    ok_exit: frozenset[int] | None = frozenset({0})
    label: str = ""  # short human name ("docker logs worker")

    def render(self) -> str:
        return render(self.template, self.vars)

    def display(self, extra_secrets: Iterable[str] = ()) -> str:
        masked = {k: (Raw(MASK) if k in self.secret_vars else v) for k, v in self.vars.items()}
        text = render(self.template, masked)
        for secret in extra_secrets:
            if secret:
                text = text.replace(secret, MASK)
        return text


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Render a command template; every `{{ value }}` comes out shell-quoted."""
    from runbooks.errors import PlaybookError

    try:
        return _compiled(template).render(**variables).strip()
    except jinja2.UndefinedError as exc:
        raise PlaybookError(f"command template uses an undefined variable: {exc.message}") from exc
    except jinja2.exceptions.SecurityError as exc:
        raise PlaybookError(f"command template refused by the sandbox: {exc}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise PlaybookError(f"command template line {exc.lineno}: syntax error: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise PlaybookError(f"command template cannot be rendered: {exc}") from exc


def check_template(template: str) -> None:
    """Refuse a command template before anything runs: Jinja syntax errors and any
    reach for an underscore attribute (the sandbox would refuse it at render time).
    Raises ValueError with a one-line reason."""
    try:
        ast = _ENV.parse(template)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"template line {exc.lineno}: Jinja syntax error: {exc.message}") from exc
    private = private_access(ast)
    if private is not None:
        raise ValueError(f"template line {private[1]}: access to {private[0]!r} is not allowed (templates are sandboxed)")


def cmd(template: str, **kwargs: Any) -> Command:
    """Shorthand: `cmd("git -C {{ d }} rev-parse HEAD", d=path)`; Command options as kwargs."""
    opts = {k: kwargs.pop(k) for k in ("mutates", "timeout", "stdin", "stream", "show", "ok_exit", "label", "secret_vars")
            if k in kwargs}
    if "secret_vars" in opts:
        opts["secret_vars"] = frozenset(opts["secret_vars"])
    return Command(template=template, vars=kwargs, **opts)
