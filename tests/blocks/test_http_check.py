"""`http.check` against a real HTTP server on 127.0.0.1: status and JSON path assertions,
headers from the environment (masked in the record), failures with their evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from runbooks.errors import PlaybookError
from runbooks.lang.parse import parse_playbook
from tests.blocks.helpers import run_steps
from tests.helpers import all_transcript_text, serve_http

TOKEN = "tok-5b1e-do-not-leak"


class Api(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/health":
            self._send(200, {"status": "ok", "checks": [{"name": "db", "latency_ms": 12}], "version": "1.4"})
        elif self.path == "/boom":
            self._send(500, {"detail": "database is locked"})
        elif self.path == "/whoami":
            auth = self.headers.get("Authorization", "")
            self._send(200 if auth == f"Bearer {TOKEN}" else 401, {"echo": auth})
        elif self.path == "/html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>maintenance</html>")
        else:
            self._send(404, {"detail": "not found"})

    def _send(self, status: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def api() -> Iterator[str]:
    with serve_http(Api) as url:
        yield url


def _target(tmp_path: Path, url: str) -> dict[str, Any]:
    return {"transport": "local", "project_dir": str(tmp_path), "api": {"base_url": url}, "confirm": "yes",
            "containers": {"backend": "unused-b", "worker": "unused-w"}}  # required by every target today


def _check(name: str = "h", **params: Any) -> dict[str, Any]:
    return {"name": name, "kind": "http.check", "params": params}


def test_status_and_json_assertions_hold(tmp_path: Path, api: str) -> None:
    res = run_steps(_target(tmp_path, api), [_check(path="/health", json=[
        {"path": "status", "equals": "ok"}, {"path": "checks[0].latency_ms", "max": 500},
        {"path": "checks[0].name", "in": ["db", "cache"]}, {"path": "errors", "exists": False},
    ])], tmp_path)
    assert res.exit_code == 0, res.message
    facts = res.facts["h"]
    assert facts["status"] == 200 and facts["json"]["version"] == "1.4" and facts["failed"] == []
    assert "4 JSON check(s) hold" in res.steps[0].message


def test_a_500_fails_with_the_body_as_evidence(tmp_path: Path, api: str) -> None:
    res = run_steps(_target(tmp_path, api), [_check(path="/boom")], tmp_path)
    assert res.exit_code == 2 and res.steps[0].status == "failed"
    assert "HTTP 500, expected 200" in res.steps[0].message and "database is locked" in res.steps[0].message
    assert res.facts["h"]["status"] == 500


@pytest.mark.parametrize(("check", "why"), [
    ({"path": "status", "equals": "degraded"}, "status: is 'ok', expected 'degraded'"),
    ({"path": "checks[3].name", "equals": "db"}, "checks[3].name: missing"),
    ({"path": "checks[0].latency_ms", "max": 5}, "checks[0].latency_ms: is 12, expected <= 5"),
    ({"path": "version", "exists": False}, "version: present (expected exists: False)"),
])
def test_a_failed_json_assertion_fails_with_the_value_found(tmp_path: Path, api: str, check: dict[str, Any],
                                                             why: str) -> None:
    res = run_steps(_target(tmp_path, api), [_check(path="/health", json=[{"path": "status", "equals": "ok"}, check])],
                    tmp_path)
    assert res.steps[0].status == "failed" and res.exit_code == 2
    assert res.facts["h"]["failed"] == [why]


def test_json_assertions_on_a_non_json_body_fail(tmp_path: Path, api: str) -> None:
    res = run_steps(_target(tmp_path, api), [_check(path="/html", json=[{"path": "status", "equals": "ok"}])], tmp_path)
    assert res.steps[0].status == "failed" and "not JSON: <html>maintenance</html>" in res.steps[0].message


def test_a_header_from_the_environment_is_sent_and_masked(tmp_path: Path, api: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RB_TEST_TOKEN", TOKEN)
    res = run_steps(_target(tmp_path, api), [_check(path="/whoami", headers={"Authorization": "Bearer ${RB_TEST_TOKEN}"},
                                                    json=[{"path": "echo", "equals": f"Bearer {TOKEN}"}])], tmp_path)
    assert res.exit_code == 0, res.message  # the server saw the real token
    text = all_transcript_text(tmp_path / "tr")
    assert "echo" in text and "***" in text and TOKEN not in text  # the echoed body is recorded, the value masked


def test_an_unset_header_variable_fails_without_sending(tmp_path: Path, api: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RB_TEST_TOKEN", raising=False)
    res = run_steps(_target(tmp_path, api), [_check(path="/whoami", headers={"Authorization": "Bearer ${RB_TEST_TOKEN}"})],
                    tmp_path)
    assert res.steps[0].status == "failed" and "RB_TEST_TOKEN" in res.steps[0].message


def test_no_server_is_a_failed_step(tmp_path: Path) -> None:
    res = run_steps(_target(tmp_path, "http://127.0.0.1:9"), [_check(path="/health", timeout=5)], tmp_path)
    assert res.steps[0].status == "failed" and res.steps[0].message.startswith("no answer:")


class Collector(BaseHTTPRequestHandler):
    """Another origin: records the headers it is sent."""

    seen: list[dict[str, str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Collector.seen.append(dict(self.headers.items()))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_targets_credentials_go_only_to_its_own_api_origin(tmp_path: Path, api: str) -> None:
    """A playbook may check another service's URL on a target with API credentials: the
    request goes out with the step's own headers, and the target's never leave for it."""
    Collector.seen = []
    target = _target(tmp_path, api) | {"api": {"base_url": api, "headers": {"Authorization": f"Bearer {TOKEN}"}}}
    with serve_http(Collector) as other:
        res = run_steps(target, [_check(url=f"{other}/collect", headers={"X-Probe": "1"})], tmp_path)
    assert res.exit_code == 0, res.message
    assert len(Collector.seen) == 1
    sent = {k.lower(): v for k, v in Collector.seen[0].items()}
    assert "authorization" not in sent and sent.get("x-probe") == "1"
    same = run_steps(target, [_check(url=f"{api}/whoami")], tmp_path)  # its own origin: the credentials go
    assert same.exit_code == 0, same.message
    bare = run_steps(_target(tmp_path, api), [_check(url=f"{api}/whoami")], tmp_path)  # none configured: 401
    assert bare.exit_code != 0 and "401" in bare.steps[0].message


@pytest.mark.parametrize(("params", "error"), [
    ({"path": "/x", "url": "http://a/"}, "url: give exactly one of"),
    ({"path": "x"}, "path: must start with /"),
    ({"url": "ftp://host/x"}, "url: must be an http"),
    ({"path": "/x", "status": "200"}, "status: an HTTP status"),
    ({"path": "/x", "json": [{"path": "a..b", "equals": 1}]}, r"json\[0\].path: "),
    ({"path": "/x", "json": [{"path": "a", "equals": 1, "max": 2}]}, r"json\[0\]: exactly one of"),
    ({"path": "/x", "json": [{"path": "a", "max": "9"}]}, r"json\[0\].max: must be a number"),
    ({"path": "/x", "method": "FETCH"}, "method: one of"),
])
def test_bad_params_are_refused_before_anything_runs(params: dict[str, Any], error: str) -> None:
    with pytest.raises(PlaybookError, match=r"steps\.h\.params\." + error):
        parse_playbook({"name": "p", "steps": [_check(**params)]}, "p.yml")
