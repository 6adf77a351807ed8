"""The package type-checks clean with mypy, configured by pyproject.toml's [tool.mypy]
(strictness, excluded sandbox backend, third-party modules without stubs). A new type error,
or a `# type: ignore` that is no longer needed (warn_unused_ignores), fails this test."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed (pip install -e '.[test]')")
def test_package_type_checks_clean(tmp_path: Path) -> None:
    # a fresh cache outside the checkout: the result never depends on a stale cache, and the
    # test writes nothing into the working tree (cold run: ~15 s on 2 cores)
    r = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                        "--cache-dir", str(tmp_path / "mypy-cache"), "--no-color-output", "--no-error-summary"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"mypy found problems:\n{r.stdout}{r.stderr}"
