"""Playbook validation names file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.errors import PlaybookError
from runbooks.lang.parse import load_playbook
from runbooks.resources import playbooks_dir


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("name: x\nsteps:\n  - name: a\n    kind: nope\n", ":4: steps.a.kind: unknown kind 'nope'"),
        ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {}\n", ":5: steps.a.params.command: required"),
        ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: x}\n    timeout: -1\n", ":6: steps.a.timeout"),
        ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: x}\n    when: 'a ==='\n", ":6: steps.a.when: invalid expression"),
        ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: x}\n    confirm: 3\n", ":6: steps.a.confirm"),
        ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: x}\n    retry: 3\n", ":6: steps[0]: unknown key 'retry'"),
        ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: x}\n    retries: 3\n", ":6: steps.a.retries: needs `until:`"),
        ("name: x\nsteps:\n  - {name: a, kind: shell, params: {command: x}}\n  - {name: a, kind: shell, params: {command: y}}\n", "duplicate step name 'a'"),
        ("name: x\nsteps: []\n", "steps: required"),
        ("name: x\nsteps:\n  - name: a\n   kind: shell\n", "invalid YAML"),
    ],
)
def test_errors_name_file_line_and_key(tmp_path: Path, body: str, expected: str) -> None:
    p = tmp_path / "bad.yml"
    p.write_text(body)
    with pytest.raises(PlaybookError) as err:
        load_playbook(p)
    assert str(p) in err.value.message
    assert expected in err.value.message


def test_shipped_playbooks_all_validate() -> None:
    names = sorted(p.stem for p in playbooks_dir().glob("*.yml"))
    assert "doctor" in names
    for name in names:
        pb = load_playbook(name)
        assert pb.steps, name


def test_shipped_playbooks_validate_in_a_fresh_process() -> None:
    """Step kinds load lazily by prefix: each playbook must validate on its own, without
    another module having registered its kinds first (as it would inside this test run)."""
    import subprocess
    import sys

    for name in sorted(p.stem for p in playbooks_dir().glob("*.yml")):
        r = subprocess.run([sys.executable, "-c", f"from runbooks.lang.parse import load_playbook; load_playbook({name!r})"],
                           capture_output=True, text=True)
        assert r.returncode == 0, (name, r.stderr[-500:])
