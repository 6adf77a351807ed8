"""The JSON Schema of playbook files, generated from the parser's key tables and the
registered step kinds, shipped as runbooks/lang/playbook.schema.json for editors:

    # yaml-language-server: $schema=../../runbooks/lang/playbook.schema.json

After adding a step kind or a key: `python -m runbooks.lang.schema --write` (a test fails
while the shipped file differs from what this module generates).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from runbooks.lang.model import INCLUDE_KEYS, PLAYBOOK_KEYS, STEP_KEYS

SHIPPED = Path(__file__).with_name("playbook.schema.json")
_IDENT = "^[A-Za-z_][A-Za-z0-9_]*$"
_EXPR = {"type": "string"}
_TAGS = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_VARS = {"type": "object", "propertyNames": {"pattern": _IDENT, "not": {"enum": ["steps", "facts"]}}}

_STEP_TYPES: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
    "kind": {"type": "string"},  # the enum of kinds is filled in by generate()
    "params": {"type": "object"},
    "description": {"type": "string"},
    "when": _EXPR,
    "confirm": {"oneOf": [{"type": "boolean"}, {"type": "string", "minLength": 1},
                          {"type": "object", "additionalProperties": False,
                           "properties": {"text": {"type": "string"}, "typed": {"type": "boolean"}}}]},
    "mutates": {"type": "boolean"},
    "timeout": {"type": "number", "exclusiveMinimum": 0},
    "tags": _TAGS,
    "always": {"type": "boolean"},
    "vars": _VARS,
    "register": {"type": "string", "pattern": _IDENT, "not": {"enum": ["steps", "facts"]}},
    "loop": {"oneOf": [{"type": "array"}, {"type": "string"}]},
    "loop_var": {"type": "string", "pattern": _IDENT},
    "until": _EXPR,
    "retries": {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 1000}, {"type": "string"}]},
    "delay": {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string"}]},
}
_PLAYBOOK_TYPES: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "minLength": 1},
    "description": {"type": "string"},
    "vars": _VARS,
    "vars_files": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "serial": {"enum": [1, True]},
    "steps": {"type": "array", "minItems": 1,
              "items": {"oneOf": [{"$ref": "#/definitions/step"}, {"$ref": "#/definitions/include"}]}},
}
_INCLUDE_TYPES: dict[str, dict[str, Any]] = {
    "include": {"type": "string", "minLength": 1}, "vars": _VARS, "when": _EXPR, "tags": _TAGS,
    "always": {"type": "boolean"},
}


def _props(types: dict[str, dict[str, Any]], help: dict[str, str]) -> dict[str, Any]:
    assert set(types) == set(help), sorted(set(types) ^ set(help))  # the parser's keys, no more, no fewer
    return {k: {**types[k], "description": help[k]} for k in help}


def generate() -> dict[str, Any]:
    from runbooks.steps.base import kind_module, known_kinds, params_schema

    kinds = [k for k in known_kinds() if kind_module(k).startswith("runbooks.")]  # not a test's own kinds
    step: dict[str, Any] = {
        "type": "object", "required": ["name", "kind"], "additionalProperties": False,
        "properties": _props(_STEP_TYPES, STEP_KEYS),
        "allOf": [{"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                   "then": {"properties": {"params": ps}}}
                  for k in kinds if (ps := params_schema(k)) is not None],
    }
    step["properties"]["kind"]["enum"] = kinds
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://runbooks.invalid/playbook.schema.json",
        "title": "runbooks playbook",
        "description": "A runbooks playbook: ordered, named steps (docs/playbooks.md)",
        "type": "object", "required": ["name", "steps"], "additionalProperties": False,
        "properties": _props(_PLAYBOOK_TYPES, PLAYBOOK_KEYS),
        "definitions": {
            "step": step,
            "include": {"type": "object", "required": ["include"], "additionalProperties": False,
                        "properties": _props(_INCLUDE_TYPES, INCLUDE_KEYS)},
        },
    }


def render() -> str:
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if "--write" in argv:
        SHIPPED.write_text(render())
        print(f"wrote {SHIPPED}")
        return 0
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
