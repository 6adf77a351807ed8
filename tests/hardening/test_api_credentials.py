"""Item 1: credentials stay with their origin; a total timeout per API call; a stale
Telegram initData is said before the backend answers 401.

Real HTTP servers on 127.0.0.1 (two ports = two origins) record every header they get."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from runbooks.config import ApiConfig
from runbooks.http import UrllibTransport
from runbooks.initdata import stale_warning
from runbooks.model import HttpRequest
from runbooks.sandbox import Sandbox
from tests.hardening.httpservers import http_server
from tests.helpers import events, inv_env, run_dirs, run_inv, write_config

HEADER = "X-Telegram-Init-Data"
MEALS = {"meals": []}


def _init_data(age_s: float) -> str:
    return urllib.parse.urlencode({"query_id": "AAEx", "user": '{"id":1}', "auth_date": str(int(time.time() - age_s)),
                                   "hash": "ab" * 32})


def _sandbox_target(sb: Sandbox, base_url: str, **api: Any) -> dict[str, Any]:
    c = sb.config
    return {"transport": "local", "project_dir": str(sb.paths.project), "role": "sandbox", "confirm": "yes",
            "containers": {"backend": c.backend_container, "worker": c.worker_container},
            "env": {"PATH": f"{sb.paths.bin_dir}{os.pathsep}{os.environ['PATH']}", "RUNBOOKS_SANDBOX_STATE": str(sb.state_dir)},
            "api": {"base_url": base_url, "headers": {HEADER: "${EATFIT24_INIT_DATA}"}, **api}}


def _monitor_api(tmp_path: Path, sb: Sandbox, base_url: str, init_data: str, **api: Any):  # noqa: ANN202
    cfg = write_config(tmp_path / "runbooks.yaml", {"t": _sandbox_target(sb, base_url, **api)})
    env = inv_env(cfg, tmp_path / "tr", EATFIT24_INIT_DATA=init_data)
    return run_inv(["monitor.api", "--target", "t", "--json"], env, tmp_path)


def test_cross_origin_redirect_never_carries_the_credential(tmp_path: Path, sandbox_state: Sandbox) -> None:
    secret = _init_data(60)
    with http_server() as evil, http_server() as origin:
        origin.routes["/api/v1/meals/"] = ("redirect", (302, evil.url + "/collect"))
        evil.routes["/collect"] = ("json", MEALS)
        r = _monitor_api(tmp_path, sandbox_state, origin.url, secret)
        assert origin.got_header(HEADER) == [secret]  # the configured origin got it
        assert evil.got_header(HEADER) == []  # the other origin never did
        assert evil.requests == []  # nor was it contacted at all
    assert r.returncode == 3, r.stderr  # the API source failed: the verdict is unknown
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "unknown"
    assert doc["coverage"]["api"]["status"] == "error" and "another origin" in doc["coverage"]["api"]["reason"]
    assert "refused to follow HTTP 302 redirect" in r.stderr
    assert secret not in r.stdout + r.stderr


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_transport_refuses_every_redirect_kind_to_another_port(status: int) -> None:
    with http_server() as evil, http_server() as origin:
        origin.routes["/x"] = ("redirect", (status, evil.url + "/x"))
        resp = UrllibTransport().send(HttpRequest("GET", origin.url + "/x", timeout=5), {HEADER: "s3cret"},
                                      follow_redirects=True)
        assert resp.error and "another origin" in resp.error
        assert evil.requests == []


def test_same_origin_redirect_follows_only_when_configured() -> None:
    with http_server() as origin:
        origin.routes["/old"] = ("redirect", (301, "/new"))
        origin.routes["/new"] = ("json", MEALS)
        t = UrllibTransport()
        refused = t.send(HttpRequest("GET", origin.url + "/old", timeout=5), {HEADER: "s3cret"})
        assert refused.error and "api.follow_redirects is false" in refused.error
        assert [r["path"] for r in origin.requests] == ["/old"]
        followed = t.send(HttpRequest("GET", origin.url + "/old", timeout=5), {HEADER: "s3cret"}, follow_redirects=True)
        assert followed.error is None and followed.status == 200 and followed.json() == MEALS
        assert origin.got_header(HEADER) == ["s3cret"] * 3


def test_follow_redirects_is_a_validated_config_key(tmp_path: Path) -> None:
    from runbooks.config import load_config
    from runbooks.errors import ConfigError

    t = {"transport": "local", "project_dir": "/srv", "containers": {"backend": "b", "worker": "w"},
         "api": {"base_url": "https://x.example", "follow_redirects": True}}
    cfg = write_config(tmp_path / "a.yaml", {"t": t})
    assert load_config(cfg).targets["t"].api.follow_redirects is True
    t["api"] = {"base_url": "https://x.example"}
    assert load_config(write_config(tmp_path / "b.yaml", {"t": t})).targets["t"].api.follow_redirects is False
    t["api"] = {"base_url": "https://x.example", "follow_redirects": "yes"}
    with pytest.raises(ConfigError, match="follow_redirects: must be true or false"):
        load_config(write_config(tmp_path / "c.yaml", {"t": t}))


def test_timeout_is_total_not_per_read() -> None:
    """A server sending one byte every 0.2 s for 10 s resets a per-read timeout forever."""
    with http_server() as slow:
        slow.routes["/drip"] = ("drip", (0.2, 50))
        started = time.monotonic()
        resp = UrllibTransport().send(HttpRequest("GET", slow.url + "/drip", timeout=1.0), {})
        elapsed = time.monotonic() - started
    assert resp.status == 0 and resp.error and "timed out after 1s" in resp.error
    assert elapsed < 3.0


def test_fast_server_within_the_total_timeout_is_fine() -> None:
    with http_server() as srv:
        srv.routes["/ok"] = ("json", MEALS)
        resp = UrllibTransport().send(HttpRequest("GET", srv.url + "/ok", timeout=1.0), {})
    assert resp.error is None and resp.json() == MEALS


def test_stale_auth_date_is_warned_in_the_api_check_and_doctor(tmp_path: Path, sandbox_state: Sandbox) -> None:
    old = _init_data(30 * 3600)
    with http_server() as origin:
        origin.routes["/api/v1/meals/"] = ("json", MEALS)
        (tmp_path / "api").mkdir()
        r = _monitor_api(tmp_path / "api", sandbox_state, origin.url, old)
        assert "auth_date" in r.stderr and "older than 24 h" in r.stderr
        notes = [e for e in events(run_dirs(tmp_path / "api" / "tr")[0]) if e["type"] == "note" and e.get("level") == "warn"]
        assert any("older than 24 h" in n["text"] for n in notes)
        assert old not in r.stderr + r.stdout  # the warning never shows the value itself
        cfg = write_config(tmp_path / "d.yaml", {"t": _sandbox_target(sandbox_state, origin.url)})
        d = run_inv(["doctor", "--target", "t"], inv_env(cfg, tmp_path / "dtr", EATFIT24_INIT_DATA=old), tmp_path)
        assert "older than 24 h" in d.stdout + d.stderr
        fresh = run_inv(["doctor", "--target", "t"], inv_env(cfg, tmp_path / "dtr2", EATFIT24_INIT_DATA=_init_data(3600)),
                        tmp_path)
        assert "older than 24 h" not in fresh.stdout + fresh.stderr and "no readable" not in fresh.stdout


def test_auth_date_rules() -> None:
    api = ApiConfig(base_url="https://x", headers={"x-telegram-init-data": "${INIT}"})
    now = 1_800_000_000.0
    assert stale_warning(api, now, {"INIT": f"auth_date={int(now - 23 * 3600)}&hash=x"}) is None
    assert "older than 24 h" in (stale_warning(api, now, {"INIT": f"auth_date={int(now - 25 * 3600)}&hash=x"}) or "")
    assert "no readable auth_date" in (stale_warning(api, now, {"INIT": "hash=x"}) or "")
    assert stale_warning(api, now, {}) is None  # not set: the API check says so itself
    assert stale_warning(ApiConfig(headers={"Authorization": "Bearer x"}), now, {}) is None
