"""The bench never rewrites the committed bench/results.md unless asked."""

from __future__ import annotations

from pathlib import Path

from bench.run import results_path
from tests.helpers import ROOT


def test_results_go_to_the_scratch_dir_unless_the_committed_file_is_asked_for(tmp_path: Path) -> None:
    committed = ROOT / "bench" / "results.md"
    assert results_path(None, tmp_path) == tmp_path / "results.md"
    assert results_path(str(committed), tmp_path) == committed
    src = (ROOT / "bench" / "run.py").read_text()
    assert 'ROOT / "bench" / "results.md"' not in src  # no default path leads to the committed file
