"""`inv play --check-only FILE`: validates without a config or a connection; exit 0 or 3."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import ROOT, inv_env, run_inv


def test_valid_file_exit_0_without_any_config(tmp_path: Path) -> None:
    env = inv_env(tmp_path / "no-such-config.yml", tmp_path / "tr")  # a config that does not exist: never read
    r = run_inv(["play", "--check-only", str(ROOT / "playbooks/examples/disk-cleanup.yml")], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "valid: playbook 'disk-cleanup'" in r.stdout and "nothing was run" in r.stdout
    assert not (tmp_path / "tr").exists()  # no run, no record


def test_invalid_file_exit_3_with_file_line_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: 'true'}\n    until: 'x =='\n")
    r = run_inv(["play", "--check-only", str(bad)], inv_env(None, tmp_path / "tr"), tmp_path)
    assert r.returncode == 3
    assert f"{bad}:6: steps.a.until: invalid expression" in r.stderr
    assert r.stdout == ""


def test_json_and_unknown_tag(tmp_path: Path) -> None:
    env = inv_env(None, tmp_path / "tr")
    r = run_inv(["play", "--check-only", "--json", "--tags", "cleanup", str(ROOT / "playbooks/examples/disk-cleanup.yml")],
                env, tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["valid"] is True and doc["steps"] == ["list-old", "ask", "delete-old", "df-after"]
    r = run_inv(["play", "--check-only", "--tags", "clenaup", str(ROOT / "playbooks/examples/disk-cleanup.yml")],
                env, tmp_path)
    assert r.returncode == 3 and "--tags: no step of disk-cleanup has tag 'clenaup'" in r.stderr
