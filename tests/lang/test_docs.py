"""docs/playbooks.md stays in step with the parser: every key and every registered kind
has its section, every filter its row, and every YAML example in it is a valid playbook."""

from __future__ import annotations

import re

import pytest
import yaml

from runbooks.lang.filters import FILTERS
from runbooks.lang.model import INCLUDE_KEYS, PLAYBOOK_KEYS, STEP_KEYS
from runbooks.lang.parse import parse_playbook
from runbooks.steps.base import kind_module, known_kinds
from tests.helpers import ROOT

DOC = (ROOT / "docs" / "playbooks.md").read_text()
HEADINGS = set(re.findall(r"^### `([^`]+)`", DOC, re.MULTILINE))
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL)


def _section(heading: str) -> str:
    start = DOC.index(f"### `{heading}`")
    nxt = re.search(r"^##", DOC[start + 4:], re.MULTILINE)
    return DOC[start: start + 4 + nxt.start()] if nxt else DOC[start:]


def test_every_key_has_a_section() -> None:
    missing = sorted((set(PLAYBOOK_KEYS) | set(STEP_KEYS) | set(INCLUDE_KEYS)) - HEADINGS)
    assert missing == [], f"docs/playbooks.md has no '### `key`' section for {missing}"


def _blocks_sections() -> dict[str, str]:
    """docs/blocks.md (the generic building blocks' reference), '## kind' sections."""
    path = ROOT / "docs" / "blocks.md"
    if not path.exists():
        return {}
    text = path.read_text()
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return {p.split("\n", 1)[0].strip().strip("`"): p for p in parts}


def test_every_generic_kind_has_a_section_with_an_example_and_pack_kinds_are_named() -> None:
    blocks = _blocks_sections()
    for kind in known_kinds():
        if not kind_module(kind).startswith("runbooks."):
            continue  # a test's own kind
        if kind_module(kind).startswith("runbooks.packs."):
            assert f"`{kind}`" in DOC, kind
            continue
        if kind in blocks:
            assert f"kind: {kind}" in blocks[kind], f"docs/blocks.md's {kind} section has no example using it"
            continue
        assert kind in HEADINGS, f"docs/playbooks.md has no '### `{kind}`' section (nor docs/blocks.md a '## {kind}')"
        assert f"kind: {kind}" in _section(kind), f"the `{kind}` section has no example using it"


def test_every_filter_has_a_row() -> None:
    for name in FILTERS:
        assert f"| `{name}` |" in DOC, name


def test_no_section_for_a_key_or_kind_that_does_not_exist() -> None:
    known = set(PLAYBOOK_KEYS) | set(STEP_KEYS) | set(INCLUDE_KEYS) | set(known_kinds())
    assert HEADINGS - known == set()


@pytest.mark.parametrize("i", range(len(EXAMPLES)))
def test_every_yaml_example_is_a_valid_playbook(i: int) -> None:
    parse_playbook(yaml.safe_load(EXAMPLES[i]), f"docs/playbooks.md example {i + 1}")
