"""--metrics-out as a scraper reads it: parsed by prometheus_client's own parser, Prometheus
naming (no _total on a gauge, _ratio, _seconds), real HELP text, the verdict and exit code
of the run and when it finished."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from runbooks.model import Finding
from runbooks.packs.eatfit24.monitor.prometheus import exposition_name, render
from tests.helpers import inv_env
from tests.operator.helpers import program


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _check_naming(fams: dict) -> None:
    for name, fam in fams.items():
        assert fam.type == "gauge", name
        assert not name.endswith("_total"), name  # _total is for counters
        assert not name.endswith(("_rate", "_s")), name
        assert fam.documentation and fam.documentation != name.replace("_", " "), name  # real HELP


def _value(fams: dict, name: str, **labels: str) -> float:
    for s in fams[name].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError(f"no sample {name} {labels}")


def test_a_p0_run_writes_verdict_exit_code_and_timestamp(sandbox, tmp_path: Path) -> None:
    sandbox.traffic(seed=3, meals=30)
    sandbox.inject("stuck_photo")
    out = tmp_path / "textfile" / "runbooks.prom"
    before = time.time()
    p = subprocess.run([*program("inv"), "monitor.all", "--metrics-out", str(out)],
                       env=inv_env(None, tmp_path / "tr"), cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr[-2000:]
    fams = _families(out.read_text())
    _check_naming(fams)
    assert _value(fams, "runbooks_last_run_exit_code", target="sandbox") == 2
    assert _value(fams, "runbooks_last_run_verdict", target="sandbox", verdict="p0") == 1
    assert _value(fams, "runbooks_last_run_verdict", target="sandbox", verdict="ok") == 0
    assert before - 1 <= _value(fams, "runbooks_last_run_timestamp_seconds", target="sandbox") <= time.time() + 1
    assert _value(fams, "runbooks_last_run_duration_seconds", target="sandbox") > 0
    assert _value(fams, "runbooks_stuck_photos", target="sandbox") >= 1
    assert _value(fams, "runbooks_finding_active", id="stuck_photos", severity="P0") == 1
    assert "runbooks_cancel_events" in fams and "runbooks_race_guard_ratio" in fams
    assert "runbooks_processing_time_median_seconds" in fams


def test_a_healthy_run_says_ok_and_exit_0(sandbox, tmp_path: Path) -> None:
    out = tmp_path / "m.prom"
    p = subprocess.run([*program("inv"), "monitor.p0", "--metrics-out", str(out)],
                       env=inv_env(None, tmp_path / "tr"), cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    fams = _families(out.read_text())
    assert _value(fams, "runbooks_last_run_exit_code", target="sandbox") == 0
    assert _value(fams, "runbooks_last_run_verdict", target="sandbox", verdict="ok") == 1
    assert _value(fams, "runbooks_last_run_verdict", target="sandbox", verdict="p0") == 0


def test_names_follow_prometheus_conventions() -> None:
    assert exposition_name("cancel_events_total") == "cancel_events"
    assert exposition_name("meals_processing_total") == "meals_processing_now"  # not a clash with meals_processing
    assert exposition_name("processing_time_median_s") == "processing_time_median_seconds"
    assert exposition_name("race_guard_rate") == "race_guard_ratio"
    assert exposition_name("some_new_total") == "some_new" and exposition_name("x_ratio") == "x_ratio"
    text = render("prod", {"meals_processing_total": 1, "meals_processing": 2, "photos_pending": 3},
                  [Finding("stuck_photos", "P0", "t", count=2)], now=1.0, verdict="unknown", exit_code=3)
    fams = _families(text)
    _check_naming(fams)
    assert _value(fams, "runbooks_meals_processing_now") == 1 and _value(fams, "runbooks_meals_processing") == 2
    assert fams["runbooks_photos_pending"].documentation == "Photos created in the window with status PENDING"
    assert _value(fams, "runbooks_last_run_verdict", verdict="unknown") == 1


def test_fan_out_writes_every_targets_series_in_one_valid_file(sandbox, tmp_path: Path) -> None:
    from tests.helpers import write_config

    cfg = write_config(tmp_path / "runbooks.yaml", {"box": sandbox.target()})
    out = tmp_path / "m.prom"
    p = subprocess.run([*program("inv"), "monitor.p0", "--target", "box,sandbox", "--metrics-out", str(out)],
                       env=inv_env(cfg, tmp_path / "tr"), cwd=str(tmp_path), capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    text = out.read_text()
    fams = _families(text)  # one HELP/TYPE per family, or the parser would refuse it
    assert text.count("# TYPE runbooks_last_run_exit_code gauge") == 1
    assert {s.labels["target"] for s in fams["runbooks_last_run_exit_code"].samples} == {"box", "sandbox"}
    assert _value(fams, "runbooks_last_run_verdict", target="box", verdict="ok") == 1
