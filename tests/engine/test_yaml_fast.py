"""The config and playbook files are parsed by libyaml when PyYAML has it: the same data and
the same line numbers as the pure-Python loader, and a bad file reports the pure-Python
loader's `file:line: message`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runbooks import yamlfile
from runbooks.errors import ConfigError
from runbooks.yamlfile import LList, LMap, load_yaml_text

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("playbooks/**/*.yml"), *ROOT.glob("runbooks/packs/**/*.yml"), *ROOT.glob("*.yaml"),
                *ROOT.glob("examples/**/*.yaml"), *ROOT.glob("examples/**/*.yml")])
pytestmark = pytest.mark.skipif(yamlfile._CLoader is None, reason="PyYAML without libyaml")


def shape(x: Any) -> Any:
    """The value with every mapping's and list's line numbers."""
    if isinstance(x, LMap):
        return ("map", x.line, dict(x.key_lines), {k: shape(v) for k, v in x.items()})
    if isinstance(x, LList):
        return ("list", x.line, [shape(v) for v in x])
    return (type(x).__name__, x)


def test_the_repository_yaml_files_exist() -> None:
    assert len(FILES) >= 3, FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_libyaml_gives_the_same_data_and_lines(path: Path) -> None:
    text = path.read_text()
    assert shape(yaml.load(text, Loader=yamlfile._CLoader)) == shape(yaml.load(text, Loader=yamlfile._Loader))  # noqa: S506


SAMPLE = """targets:
  prod:   # a comment
    host: 10.0.0.5
    port: 2222
    tags: [a, b, {c: 1}]
    when: 2026-01-02
    empty:
    multi: |
      line one
      line two
groups:
  all:
    - prod
    - "quoted"
anchors:
  base: &b {x: 1}
  derived:
    <<: *b
    y: 2
"""


def test_a_config_like_text_parses_alike() -> None:
    assert shape(yaml.load(SAMPLE, Loader=yamlfile._CLoader)) == shape(yaml.load(SAMPLE, Loader=yamlfile._Loader))  # noqa: S506


@pytest.mark.parametrize("text", [
    "targets:\n  prod:\n    host: [unclosed\n",
    "name: x\nsteps:\n  - name: a\n   kind: shell\n",
    "a: 1\na: 2\n",
    "a:\n  [1, 2]: x\n",
    "a: b: c\n",
    "when: 2026-13-45\n",
    "\t- tab\n",
])
def test_a_bad_file_reports_what_the_pure_python_loader_says(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as fast:
        load_yaml_text(text, "cfg.yaml", ConfigError)
    monkeypatch.setattr(yamlfile, "_CLoader", None)
    with pytest.raises(ConfigError) as pure:
        load_yaml_text(text, "cfg.yaml", ConfigError)
    assert str(fast.value) == str(pure.value)
    assert str(fast.value).startswith("cfg.yaml")
