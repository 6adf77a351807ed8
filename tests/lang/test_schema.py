"""The shipped JSON Schema: generated from the parser's keys and the registered kinds,
every shipped playbook validates against it, and it refuses what the parser refuses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from runbooks.errors import PlaybookError
from runbooks.lang.model import INCLUDE_KEYS, PLAYBOOK_KEYS, STEP_KEYS
from runbooks.lang.parse import parse_playbook
from runbooks.lang.schema import SHIPPED, generate
from runbooks.resources import playbooks_dir
from runbooks.steps.base import kind_module, known_kinds

SCHEMA = json.loads(SHIPPED.read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
PLAYBOOKS = sorted(playbooks_dir().glob("*.yml")) + sorted((playbooks_dir() / "examples").glob("*.yml"))


def test_shipped_schema_is_what_the_parser_generates() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA == generate(), "run: python -m runbooks.lang.schema --write"


def test_schema_and_parser_agree_on_keys_and_kinds() -> None:
    assert set(SCHEMA["properties"]) == set(PLAYBOOK_KEYS)
    assert set(SCHEMA["definitions"]["step"]["properties"]) == set(STEP_KEYS)
    assert set(SCHEMA["definitions"]["include"]["properties"]) == set(INCLUDE_KEYS)
    shipped = [k for k in known_kinds() if kind_module(k).startswith("runbooks.")]
    assert SCHEMA["definitions"]["step"]["properties"]["kind"]["enum"] == shipped


@pytest.mark.parametrize("path", PLAYBOOKS, ids=lambda p: p.name)
def test_every_shipped_playbook_validates(path: Path) -> None:
    errors = [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == [], path


def test_examples_exist() -> None:
    assert len([p for p in PLAYBOOKS if p.parent.name == "examples"]) >= 2


BAD = [
    {"name": "x", "steps": [{"name": "a", "kind": "shell", "params": {"command": "true"}, "colour": 1}]},
    {"name": "x", "steps": [{"name": "a", "kind": "nope"}]},
    {"name": "x", "steps": [{"name": "A b", "kind": "shell", "params": {"command": "true"}}]},
    {"name": "x", "steps": [{"name": "a", "kind": "shell", "params": {"comand": "true"}}]},
    {"name": "x", "steps": [{"name": "a", "kind": "check", "params": {"id": "x", "title": "t", "value": "1", "severity": "P5", "threshold": 1}}]},
    {"name": "x", "steps": [{"name": "a", "kind": "prompt", "params": {"text": "q", "choices": "yes"}}]},
    {"name": "x", "steps": [{"name": "a", "kind": "shell", "params": {"command": "true"}, "retries": -1, "until": "x"}]},
    {"name": "x", "steps": [{"include": "doctor", "kind": "shell"}]},
    {"name": "x", "serial": 2, "steps": [{"name": "a", "kind": "shell", "params": {"command": "true"}}]},
    {"name": "x", "vars": {"steps": 1}, "steps": [{"name": "a", "kind": "shell", "params": {"command": "true"}}]},
    {"name": "x", "steps": []},
    {"steps": [{"name": "a", "kind": "shell", "params": {"command": "true"}}]},
]


@pytest.mark.parametrize("doc", BAD, ids=range(len(BAD)))
def test_schema_refuses_what_the_parser_refuses(doc: dict[str, object]) -> None:
    assert list(VALIDATOR.iter_errors(doc)), doc
    with pytest.raises(PlaybookError):
        parse_playbook(doc, "bad.yml")
