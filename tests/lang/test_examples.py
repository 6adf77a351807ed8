"""The two example runbooks over a real sshd, as an operator runs them (`inv play`): the
healthy path exits 0, the alerting path names the right findings with the right exit."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from runbooks.sshd import SshServer
from tests.helpers import serve_http
from tests.lang.common import EXAMPLES, finding_ids, play

DISK = EXAMPLES / "disk-cleanup.yml"
HEALTH = EXAMPLES / "service-health.yml"
DAY = 86400


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "app-logs"
    d.mkdir()
    (d / "new.log").write_text("fresh\n")
    old = d / "old.log"
    old.write_bytes(b"x" * 300_000)
    t = time.time() - 10 * DAY
    os.utime(old, (t, t))
    return d


def _disk(sshd: SshServer, tmp_path: Path, logs: Path, *extra: str) -> tuple[int, dict, str]:
    return play(sshd, tmp_path, DISK, "--var", f"cleanup_dir={logs}", "--var", f"path={tmp_path}", *extra)


def test_disk_healthy_path_exit_0(tmp_path: Path, sshd: SshServer, logs: Path) -> None:
    (logs / "old.log").unlink()
    code, doc, err = _disk(sshd, tmp_path, logs, "--var", "warn_percent=100", "--var", "critical_percent=101", "--yes")
    assert code == 0, err
    assert doc["verdict"] == "ok" and finding_ids(doc) == {}
    assert finding_ids(doc, "ok") == {"disk_usage_high": "P0", "cleanup_dir_large": "P1"}
    status = {s["name"]: s["status"] for s in doc["steps"]}
    assert status["ask"] == "skipped" and status["delete-old"] == "skipped"


def test_disk_alerting_path_p1_keeps_files_under_yes(tmp_path: Path, sshd: SshServer, logs: Path) -> None:
    code, doc, err = _disk(sshd, tmp_path, logs, "--var", "warn_percent=1", "--var", "critical_percent=101",
                           "--var", "dir_max=100K", "--yes")
    assert code == 1, err
    assert finding_ids(doc) == {"disk_usage_high": "P1", "cleanup_dir_large": "P1"}
    big = next(f for f in doc["findings"] if f["id"] == "cleanup_dir_large")
    assert big["value"] > 100 * 1024 and big["evidence"][0]["directory"] == str(logs)
    assert (logs / "old.log").exists()  # --yes answers the prompt's default: keep
    status = {s["name"]: s["status"] for s in doc["steps"]}
    assert status["list-old"] == "ok" and status["ask"] == "ok" and status["delete-old"] == "skipped"


def test_disk_alerting_path_p0_exit_2(tmp_path: Path, sshd: SshServer, logs: Path) -> None:
    code, doc, err = _disk(sshd, tmp_path, logs, "--var", "warn_percent=1", "--var", "critical_percent=1", "--yes")
    assert code == 2, err
    assert finding_ids(doc)["disk_usage_high"] == "P0" and doc["verdict"] == "p0"


class _Health(BaseHTTPRequestHandler):
    """503 until the "restart" created the marker file; `after` more 503s after it."""

    marker: Path
    after: int = 0
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        ok = self.marker.exists()
        if ok and type(self).after > 0:
            type(self).after -= 1
            ok = False
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health(tmp_path: Path) -> Iterator[tuple[str, Path, type[_Health]]]:
    marker = tmp_path / "restarted"
    handler = type("H", (_Health,), {"marker": marker, "after": 0, "hits": []})
    with serve_http(handler) as url:
        yield url + "/health", marker, handler


def _health(sshd: SshServer, tmp_path: Path, url: str, restart: str, *extra: str) -> tuple[int, dict, str]:
    return play(sshd, tmp_path, HEALTH, "--var", f"health_url={url}", "--var", f"restart_command={restart}",
                "--var", "recheck_delay=0.05", *extra)


def test_health_healthy_path_exit_0_no_restart(tmp_path: Path, sshd: SshServer, health: tuple[str, Path, type[_Health]]) -> None:
    url, marker, handler = health
    marker.touch()
    code, doc, err = _health(sshd, tmp_path, url, f"rm {marker}", "--yes")
    assert code == 0, err
    assert finding_ids(doc) == {} and marker.exists()  # not restarted
    status = {s["name"]: s["status"] for s in doc["steps"]}
    assert status["restart"] == "skipped" and status["recheck"] == "skipped"


def test_health_recovers_after_restart_p1_exit_1(tmp_path: Path, sshd: SshServer, health: tuple[str, Path, type[_Health]]) -> None:
    url, marker, handler = health
    code, doc, err = _health(sshd, tmp_path, url, f"touch {marker}", "--yes")
    assert code == 1, err
    assert finding_ids(doc) == {"health_check_failed": "P1"}
    assert finding_ids(doc, "ok") == {"service_down": "P0"}
    assert marker.exists()  # the restart ran on the host


def test_health_recheck_waits_until_healthy(tmp_path: Path, sshd: SshServer, health: tuple[str, Path, type[_Health]]) -> None:
    url, marker, handler = health
    handler.after = 2  # the service needs a moment after its restart: two more 503s
    code, doc, err = _health(sshd, tmp_path, url, f"touch {marker}", "--yes", "--var", "recheck_retries=5")
    assert code == 1, err
    step = next(s for s in doc["steps"] if s["name"] == "recheck")
    assert step["status"] == "ok" and "after 3 attempt(s)" in step["message"]
    assert len(handler.hits) == 4  # the probe, then three re-checks: it stopped at the first 200


def test_health_still_down_p0_exit_2(tmp_path: Path, sshd: SshServer, health: tuple[str, Path, type[_Health]]) -> None:
    url, _, handler = health
    code, doc, err = _health(sshd, tmp_path, url, "true", "--yes", "--var", "recheck_retries=2")
    assert code == 2, err
    assert finding_ids(doc) == {"health_check_failed": "P1", "service_down": "P0"}
    assert len(handler.hits) == 4  # the probe, then 1 + 2 re-checks
    down = next(f for f in doc["findings"] if f["id"] == "service_down")
    assert down["value"] == 503 and down["evidence"][0]["checks"] == 3  # 1 + 2 retries
