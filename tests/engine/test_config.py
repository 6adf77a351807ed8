"""Config validation: one clear line naming file, line and key; exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.config import load_config
from runbooks.errors import ConfigError
from runbooks.packs.eatfit24.target import variables as eatfit24_variables
from tests.helpers import inv_env, run_inv, write_config

GOOD = {"host": "prod.example", "project_dir": "/opt/eatfit24",
        "containers": {"backend": "eatfit24-backend-1", "worker": "eatfit24-celery-worker-1"}}


def test_valid_config_and_target_precedence(tmp_path: Path) -> None:
    p = write_config(tmp_path / "r.yaml", {"prod": GOOD, "prod2": {**GOOD, "host": "p2"}},
                     default_target="prod", groups={"web": ["prod", "prod2"]})
    cfg = load_config(p, environ={})
    assert cfg.target_names(None, environ={}) == ["prod"]
    assert cfg.target_names(None, environ={"RUNBOOKS_TARGET": "prod2"}) == ["prod2"]
    assert cfg.target_names("web", environ={"RUNBOOKS_TARGET": "prod2"}) == ["prod", "prod2"]
    assert cfg.target_names("prod2,prod", environ={}) == ["prod2", "prod"]
    t = cfg.targets["prod"]
    assert t.transport == "ssh" and t.confirm == "typed" and t.role == "prod"
    # the compose service names' defaults are the eatfit24 pack's (runbooks.packs.eatfit24.target)
    assert dict(t.compose_services) == {}
    assert eatfit24_variables(t, "rollback")["compose_services"] == {"backend": "backend", "worker": "celery-worker"}


def test_no_config_means_builtin_sandbox() -> None:
    cfg = load_config(None, environ={})
    assert cfg.target_names(None, environ={}) == ["sandbox"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("targets:\n  prod:\n    host: [unclosed\n", "invalid YAML"),
        ("targets:\n  prod:\n    hots: x\n    project_dir: /x\n", ":3: targets.prod: unknown key 'hots'"),
        ("targets:\n  prod:\n    project_dir: /x\n    containers: {backend: b, worker: w}\n", "targets.prod.host: required key is missing"),
        ("targets:\n  prod:\n    host: h\n    port: 99999\n    project_dir: /x\n    containers: {backend: b, worker: w}\n", ":4: targets.prod.port"),
        ("targets:\n  prod:\n    host: 'h;rm -rf /'\n    project_dir: /x\n    containers: {backend: b, worker: w}\n", "targets.prod.host: not a hostname"),
        ("targets:\n  prod:\n    host: h\n    project_dir: /x\n    containers: {backend: 'b $(id)', worker: w}\n", "containers.backend: not a container name"),
        ("targets:\n  prod:\n    host: h\n    project_dir: relative\n    containers: {backend: b, worker: w}\n", "project_dir: must be an absolute path"),
        ("targets:\n  prod:\n    host: h\n    confirm: maybe\n    project_dir: /x\n    containers: {backend: b, worker: w}\n", ":4: targets.prod.confirm"),
        # containers.backend/worker are no longer the config's to require: the eatfit24 playbooks
        # refuse a target without them before connecting (tests/engine/test_generic_target.py)
        ("default_target: nope\ntargets: {}\n", "default_target: unknown target 'nope'"),
        ("colour: blue\n", ":1: unknown key 'colour'"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    p = tmp_path / "runbooks.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(p, environ={})
    assert expected in err.value.message
    assert str(p) in err.value.message
    assert "\n" not in err.value.message


def test_bad_config_exits_3_with_one_line(tmp_path: Path) -> None:
    p = tmp_path / "runbooks.yaml"
    p.write_text("targets:\n  prod:\n    host: h\n    projectdir: /x\n")
    r = run_inv(["doctor", "--target", "prod"], inv_env(p, tmp_path / "tr"), tmp_path)
    assert r.returncode == 3
    assert "unknown key 'projectdir'" in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1
    assert "Traceback" not in r.stderr


def test_unknown_target_exits_3(tmp_path: Path) -> None:
    p = write_config(tmp_path / "r.yaml", {"prod": GOOD})
    r = run_inv(["doctor", "--target", "staging", "--json"], inv_env(p, tmp_path / "tr"), tmp_path)
    assert r.returncode == 3
    assert "unknown target 'staging'" in r.stderr
    import json

    doc = json.loads(r.stdout)
    assert doc["exit_code"] == 3 and doc["verdict"] == "error"
