"""Commands as values: every interpolated value is quoted; secrets masked in display."""

from __future__ import annotations

import shlex
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st

from runbooks.commands import Command, cmd, render

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@given(value=text)
def test_any_value_is_one_literal_word(value: str) -> None:
    rendered = render("git revert --no-edit {{ sha }}", {"sha": value})
    assert shlex.split(rendered) == ["git", "revert", "--no-edit", value]


@given(values=st.lists(text, max_size=5))
def test_lists_become_separate_literal_words(values: list[str]) -> None:
    rendered = render("docker compose up -d {{ services }}", {"services": values})
    assert shlex.split(rendered) == ["docker", "compose", "up", "-d", *values]


@settings(max_examples=60, deadline=None)
@given(value=text)
def test_a_real_shell_sees_the_literal_text(value: str) -> None:
    out = subprocess.run(["/bin/sh", "-c", render("printf '%s' {{ v }}", {"v": value})], capture_output=True)
    assert out.stdout.decode("utf-8", "surrogateescape") == value


def test_display_masks_secret_vars_and_extra_secrets() -> None:
    c = cmd("curl -H {{ h }} {{ url }}", h="X-Telegram-Init-Data: s3cr3t-value", url="https://x/api?k=tok123456",
            secret_vars=["h"])
    assert "s3cr3t-value" in c.render()
    shown = c.display(extra_secrets=["tok123456"])
    assert "s3cr3t-value" not in shown and "tok123456" not in shown and "***" in shown


def test_undefined_variable_is_an_error_not_an_empty_string() -> None:
    import pytest

    from runbooks.errors import PlaybookError

    with pytest.raises(PlaybookError, match="undefined"):
        Command(template="git revert {{ sha }}").render()
