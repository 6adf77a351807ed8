"""Item 6: a playbook's command templates are compiled in Jinja2's sandbox. Before, a
template reaching `cycler.__init__.__globals__.os` ran code on the operator's machine,
even under --dry-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.commands import check_template, render
from runbooks.errors import PlaybookError
from tests.hardening.common import inv, local_config, one_json_doc, one_line_error
from tests.helpers import write_playbook

PAYLOADS = [
    "echo {{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "echo {{ cycler['__init__']['__globals__'].os.system('touch MARK') }}",
    "echo {{ (cycler|attr('__init__')|attr('__globals__')).os.system('touch MARK') }}",
    "echo {{ joiner.__init__.__globals__.os.popen('touch MARK').read() }}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("json_flag", [False, True])
def test_template_escape_does_not_run_under_dry_run(tmp_path: Path, payload: str, json_flag: bool) -> None:
    marker = tmp_path / "pwned"
    cfg = local_config(tmp_path)
    pb = write_playbook(tmp_path / "evil.yml", "evil", [
        {"name": "first", "kind": "shell", "params": {"command": f"touch {tmp_path / 'first-ran'}"}},
        {"name": "evil", "kind": "shell", "mutates": True, "params": {"command": payload.replace("MARK", str(marker))}},
    ])
    r = inv(tmp_path, ["play", "--playbook", str(pb), "--dry-run", *(["--json"] if json_flag else [])], cfg)
    assert r.returncode == 3, r.stdout + r.stderr
    assert not marker.exists()
    assert not (tmp_path / "first-ran").exists()  # refused before anything ran
    line = one_line_error(r.stderr)
    assert f"{pb}:" in line and "steps.evil.params.command" in line and "sandboxed" in line
    if json_flag:
        doc = one_json_doc(r.stdout)
        assert doc["exit_code"] == 3 and doc["verdict"] == "error"
    else:
        assert r.stdout == ""


def test_sandbox_refuses_at_render_time_too(tmp_path: Path) -> None:
    """What the static check cannot see (a name built at run time) the sandbox still refuses."""
    marker = tmp_path / "pwned"
    tpl = "echo {{ (cycler|attr(a)|attr(b)).os.system(c) }}"
    with pytest.raises(PlaybookError):
        render(tpl, {"a": "__init__", "b": "__globals__", "c": f"touch {marker}"})
    with pytest.raises(PlaybookError, match="sandbox"):
        render("{{ x.__class__.__mro__ }}", {"x": 1})
    assert not marker.exists()


def test_ordinary_templates_still_render(tmp_path: Path) -> None:
    """The healthy look-alike: filters, loops, conditions, dict access and quoting work."""
    tpl = ("docker logs {{ containers['worker'] }} {% for x in items %}{{ x }} {% endfor %}"
           "{{ 'yes' if dry_run else 'no' }} {{ name | q }} {{ d.items() | list | length }}")
    check_template(tpl)
    out = render(tpl, {"containers": {"worker": "w 1"}, "items": ["a;b", "c"], "dry_run": True,
                       "name": "it's", "d": {"k": 1}})
    assert out == "docker logs 'w 1' 'a;b' c yes 'it'\"'\"'s' 1"
