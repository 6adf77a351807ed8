"""Helpers for the sandbox tests: run the shim like a user would, poll with a deadline."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from typing import Any

from runbooks.sandbox import Sandbox
from tests.helpers import wait_for  # noqa: F401  (re-exported: one poller for every test)


def docker(sb: Sandbox, *args: str, cwd: str | None = None, stdin: str | None = None,
           merge: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{sb.paths.bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["docker", *args], cwd=cwd or str(sb.state_dir), env=env, input=stdin, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                          timeout=60)


def api(sb: Sandbox, method: str, path: str, body: dict | None = None,
        headers: dict[str, str] | None = None, auth: bool = True) -> tuple[int, Any]:
    h = {"Content-Type": "application/json", **(headers or {})}
    if auth:
        h["X-Telegram-Init-Data"] = sb.init_data
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sb.base_url + path, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


