"""`inv doctor` over a real sshd against the sandbox: it checks the tools the monitor's
log filter really uses by running the filter program itself on the host's awk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fixtures.sshd import start_sshd
from tests.helpers import inv_env, run_inv, write_config


def _doctor(tmp_path: Path, sandbox: Any, path_prepend: str) -> tuple[int, dict[str, Any]]:
    srv = start_sshd(tmp_path / "sshd", path_prepend=path_prepend)
    try:
        cfg = write_config(tmp_path / "runbooks.yaml", {"box": srv.target(**sandbox.target_fields())})
        r = run_inv(["doctor", "--target", "box", "--json"], inv_env(cfg, tmp_path / "tr"), tmp_path)
    finally:
        srv.stop()
    doc = json.loads(r.stdout)
    return r.returncode, {f["id"]: f for f in doc["checks"]}


def test_doctor_runs_the_log_filter_on_the_hosts_awk(sandbox: Any, tmp_path: Path) -> None:
    code, checks = _doctor(tmp_path, sandbox, str(sandbox.paths.bin_dir))
    assert code == 0, checks
    awk = checks["doctor_awk_filter"]
    assert awk["status"] == "ok" and "runs the log filter" in awk["title"]
    assert "mawk" in awk["title"] and "-W interactive" in awk["title"]  # this host's awk is mawk
    assert checks["doctor_date"]["status"] == "ok"


def test_doctor_refuses_an_awk_that_cannot_run_the_filter(sandbox: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad-awk"
    bad.mkdir()
    (bad / "awk").write_text("#!/bin/sh\necho 'awk: syntax error at source line 1' >&2\nexit 2\n")
    (bad / "awk").chmod(0o755)
    code, checks = _doctor(tmp_path, sandbox, f"{bad}:{sandbox.paths.bin_dir}")
    assert code == 3
    awk = checks["doctor_awk_filter"]
    assert awk["status"] == "alert" and "syntax error" in awk["title"] and "POSIX awk" in awk["action"]
