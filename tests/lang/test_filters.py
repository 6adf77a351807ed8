"""Filters turn a step's output into data; on input they cannot read they say why."""

from __future__ import annotations

import pytest

from runbooks.lang.expr import render_text, value_of

DF = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 41152736 34979824 6156528 86% /\n"


@pytest.mark.parametrize(("expr", "expected"), [
    ("df | regex('([0-9]+)%') | number", 86),
    ("df | regex('(nothing)')", None),
    ("df | regex('/dev/(sd)(a)', 2)", "a"),
    ("df | regex('[0-9]+%')", "86%"),
    ("'a1 b22 c3' | regex_all('[a-z]([0-9]+)')", ["1", "22", "3"]),
    ("'x-y' | regex_replace('-', '+')", "x+y"),
    ("'85%' | number", 85),
    ("' 1,234.5 ' | number", 1234.5),
    ("'11G' | size", 11 * 1024**3),
    ("'11G' | size('G')", 11),
    ("'512K' | size", 512 * 1024),
    ("'1.5T' | size('G')", 1536),
    ("'100' | size", 100),
    ("'2GiB' | size('M')", 2048),
    ("'{\"items\": [{\"status\": \"ok\"}]}' | from_json | json_path('items[0].status')", "ok"),
    ("'{\"a\": {\"b\": 3}}' | json_path('a.b')", 3),
    ("'{\"a\": 1}' | json_path('a.zz', 'none')", "none"),
    ("df | lines | length", 2),
    ("{'b': 1, 'a': [2]} | to_json", '{"a": [2], "b": 1}'),
])
def test_filters(expr: str, expected: object) -> None:
    assert value_of(expr, {"df": DF}) == expected


@pytest.mark.parametrize(("expr", "why"), [
    ("'n/a' | number", "number: not a number"),
    ("none | number", "number: not a number"),
    ("'eleven' | size", "size: not a size"),
    ("'11G' | size('X')", "size: unknown unit"),
    ("'{bad' | from_json", "from_json: not JSON"),
])
def test_unreadable_input_says_why(expr: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        value_of(expr, {})


def test_text_templates_are_not_quoted_and_plain_text_stays() -> None:
    assert render_text("disk {{ p }} at {{ n }}%", {"p": "/var lib", "n": 85}) == "disk /var lib at 85%"
    assert render_text("no template here", {}) == "no template here"


def test_command_templates_share_the_filters_and_stay_quoted() -> None:
    from runbooks.commands import render

    out = render("echo {{ df | regex('(/dev/[a-z0-9]+)') }} {{ '2G' | size('M') }}", {"df": DF + "; rm -rf /"})
    assert out == "echo /dev/sda1 2048"
    assert render("echo {{ x | regex('(.*)') }}", {"x": "a; rm -rf /"}) == "echo 'a; rm -rf /'"


def test_the_sandbox_holds_for_expressions() -> None:
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        value_of("cycler.__init__.__globals__", {"cycler": object()})
