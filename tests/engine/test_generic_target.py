"""Targets are generic: a host with only how to reach it is a target; its other keys are
variables of the playbooks run on it (host variables); what the eatfit24 playbooks need
(`containers.backend`/`worker`, `project_dir`) is checked by that pack, before connecting."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.config import load_config
from runbooks.errors import ConfigError
from runbooks.sshd import SshServer
from tests.helpers import events, inv_env, run_dirs, run_inv, write_config, write_playbook


def test_a_target_with_only_a_host_is_valid_and_its_other_keys_are_variables(tmp_path: Path) -> None:
    p = write_config(tmp_path / "r.yaml", {
        "web": {"host": "web1.example", "user": "ops", "health_url": "http://127.0.0.1/health",
                "disk": {"path": "/srv", "warn_pct": 80}, "services": ["nginx", "app"]},
        "db": {"host": "db1.example", "containers": {"postgres": "pg-1"}},
    })
    cfg = load_config(p, environ={})
    web = cfg.targets["web"]
    assert web.vars == {"health_url": "http://127.0.0.1/health", "disk": {"path": "/srv", "warn_pct": 80},
                        "services": ["nginx", "app"]}
    assert type(web.vars["disk"]) is dict  # plain data, not the loader's line-tracking mapping
    assert web.project_dir == "" and dict(web.containers) == {} and web.api.base_url is None
    assert web.variables()["disk"]["warn_pct"] == 80
    assert dict(cfg.targets["db"].containers) == {"postgres": "pg-1"}  # containers are any roles


@pytest.mark.parametrize(("key", "expected"), [
    ("hots", "unknown key 'hots' (did you mean 'host'?"),
    ("projectdir", "unknown key 'projectdir' (did you mean 'project_dir'?"),
    ("contianers", "did you mean 'containers'?"),
    ("my-var", "unknown key 'my-var'"),
    ("dry_run", "targets.web.dry_run: a variable every run sets itself"),
])
def test_misspelt_keys_and_engine_variables_are_still_refused(tmp_path: Path, key: str, expected: str) -> None:
    p = tmp_path / "r.yaml"
    p.write_text(f"targets:\n  web:\n    host: h\n    {key}: x\n")
    with pytest.raises(ConfigError) as err:
        load_config(p, environ={})
    assert expected in err.value.message and f"{p}:4:" in err.value.message


def test_host_variables_reach_a_playbook_over_ssh(tmp_path: Path, sshd: SshServer) -> None:
    out = tmp_path / "out.txt"
    cfg = write_config(tmp_path / "r.yaml", {"web": sshd.target(greeting="hello from web", disk={"path": str(tmp_path)})})
    pb = write_playbook(tmp_path / "pb.yml", "greet", [
        {"name": "greet", "kind": "shell", "params": {"command": f"echo {{{{ greeting }}}} > {out}; df -P {{{{ disk.path }}}}"}}])
    r = run_inv(["play", "--playbook", str(pb), "--target", "web"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "hello from web\n"
    cmd = next(e for e in events(run_dirs(tmp_path / "tr")[0]) if e["type"] == "command")
    assert "'hello from web'" in cmd["command"]  # a variable is a value, quoted like any other


@pytest.mark.parametrize(("task", "target_extra", "missing"), [
    (["monitor.p0"], {}, "targets.web.containers.backend: required key is missing"),
    (["monitor.p0"], {"containers": {"backend": "b"}}, "targets.web.containers.worker: required key is missing"),
    (["monitor.watch", "--duration", "5"], {}, "targets.web.containers.backend: required key is missing"),
    (["doctor"], {"containers": {"backend": "b", "worker": "w"}}, "targets.web.project_dir: required key is missing"),
    (["rollback", "--commit", "abc1234", "--yes"], {"containers": {"backend": "b", "worker": "w"}},
     "targets.web.project_dir: required key is missing"),
])
def test_the_eatfit24_playbooks_name_the_key_they_miss_before_connecting(tmp_path: Path, sshd: SshServer,
                                                                         task: list[str], target_extra: dict,
                                                                         missing: str) -> None:
    cfg = write_config(tmp_path / "r.yaml", {"web": sshd.target(role="staging", **target_extra)})
    r = run_inv([*task, "--target", "web"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    assert r.returncode == 3, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and missing in lines[0] and f"{cfg}:" in lines[0], r.stderr
    assert sshd.accepted_auths() == 0  # refused before connecting
