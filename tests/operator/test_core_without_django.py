"""The core installs and runs without Django: Django is the built-in sandbox's dependency
(the `sandbox` extra), not the operator's. An operator's laptop that monitors a real host
over SSH must not get a second Django next to its own, nor need one.

The host side of these runs is still the sandbox (served by this test process's environment,
which has the extra); only the operator's side lacks Django."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from runbooks.sandbox.paths import INIT_DATA_ENV
from tests.helpers import ROOT, inv_env, write_config

# Installed before anything else in the operator's process: an import of Django or of the
# sandbox package fails, and is written down (a caller catching ImportError cannot hide it).
FORBID = textwrap.dedent("""
    import sys

    LOG = sys.argv[1]

    class Forbid:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "django" or name == "runbooks.sandbox" or name.startswith("runbooks.sandbox."):
                with open(LOG, "a") as f:
                    f.write(name + "\\n")
                raise ImportError(f"forbidden in the operator's process: {name}")
            return None

    sys.meta_path.insert(0, Forbid())
    sys.argv = ["runbooks", *sys.argv[2:]]
    from runbooks.cli import main
    main()
""")


def _ssh_config(tmp_path: Path, ssh_sandbox: dict[str, Any]) -> Path:
    return write_config(tmp_path / "runbooks.yaml", {"box": ssh_sandbox}, default_target="box")


def _assert_found_the_stuck_photo(r: subprocess.CompletedProcess[str], photo_id: int) -> None:
    assert r.returncode == 2, r.stderr
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "p0" and doc["simulated"] is False
    stuck = next(f for f in doc["findings"] if f["id"] == "stuck_photos")
    assert stuck["count"] == 1 and stuck["evidence"][0]["photo_id"] == photo_id
    assert {s["name"]: s["status"] for s in doc["steps"]}["gather"] == "ok"


def test_monitor_over_ssh_imports_neither_django_nor_the_sandbox(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                                tmp_path: Path) -> None:
    photo = sandbox.inject("stuck_photo")["photo_id"]
    log = tmp_path / "forbidden-imports.txt"
    log.touch()
    env = inv_env(_ssh_config(tmp_path, ssh_sandbox), tmp_path / "transcripts", **{INIT_DATA_ENV: sandbox.init_data})
    env["PYTHONPATH"] = str(ROOT)
    r = subprocess.run([sys.executable, "-c", FORBID, str(log), "monitor.p0", "--json"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert log.read_text() == ""
    _assert_found_the_stuck_photo(r, photo)
    # the hook really is in force: asking for the built-in sandbox trips it
    r = subprocess.run([sys.executable, "-c", FORBID, str(log), "monitor.p0", "--target", "sandbox"], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "runbooks.sandbox" in log.read_text().split()


def _checkout_copy(dest: Path) -> Path:
    """The checkout's files as pip would see them in a fresh clone (no venv, no local state)."""
    top = {".git", ".venv", "transcripts", ".runbooks", "build", "bench", "tests"}
    caches = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    shutil.copytree(ROOT, dest, ignore=lambda d, names: [
        n for n in names if n in caches or n.endswith(".egg-info") or (Path(d) == ROOT and n in top)])
    return dest


def test_pip_install_of_the_core_has_no_django_and_monitors_over_ssh(ssh_sandbox: dict[str, Any], sandbox: Any,
                                                                   tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)  # no system site packages
    py, bin_dir = venv / "bin" / "python", venv / "bin"
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("RUNBOOKS_")}
    clean["PATH"] = f"{bin_dir}{os.pathsep}{clean.get('PATH', '')}"
    src = _checkout_copy(tmp_path / "checkout")
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", str(src)], env=clean, capture_output=True, text=True,
                         timeout=600)
    assert pip.returncode == 0, pip.stderr[-3000:]

    no_django = subprocess.run([str(py), "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('django') is not None)"],
                               env=clean, cwd=tmp_path, timeout=60)
    assert no_django.returncode == 0, "pip install of the core installed Django"
    assert subprocess.run([str(py), "-m", "pip", "show", "-q", "django"], env=clean, capture_output=True,
                          timeout=60).returncode != 0

    work = tmp_path / "work"
    work.mkdir()
    listed = subprocess.run([str(bin_dir / "runbooks"), "--list"], env=clean, cwd=work, capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "monitor.p0" in listed.stdout and "rollback" in listed.stdout

    # no runbooks.yaml: the built-in sandbox, which this install does not have: one line, exit 3
    r = subprocess.run([str(bin_dir / "runbooks"), "monitor.p0"], env={**clean, "XDG_CONFIG_HOME": str(tmp_path / "xdg")},
                       cwd=work, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "pip install 'runbooks[sandbox]'" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = subprocess.run([str(bin_dir / "runbooks"), "sandbox.up"], env=clean, cwd=work, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 3 and "pip install 'runbooks[sandbox]'" in r.stderr, r.stderr

    photo = sandbox.inject("stuck_photo")["photo_id"]
    env = {**clean, "RUNBOOKS_CONFIG": str(_ssh_config(tmp_path, ssh_sandbox)),
           "RUNBOOKS_TRANSCRIPTS": str(tmp_path / "transcripts"), INIT_DATA_ENV: sandbox.init_data}
    r = subprocess.run([str(bin_dir / "runbooks"), "monitor.p0", "--json"], env=env, cwd=work, capture_output=True,
                       text=True, timeout=180, stdin=subprocess.DEVNULL)
    _assert_found_the_stuck_photo(r, photo)
