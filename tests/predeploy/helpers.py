"""Shared helpers of the predeploy tests: config files, running the task as a subprocess,
and a phone stand-in that clicks through the sandbox's UI endpoints from the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def api_user_id(sb: Any) -> int:
    """The sandbox's test user (the one its API authenticates as), read through the real ORM."""
    from runbooks.sandbox.djangoenv import activate

    activate(sb.state_dir)
    from runbooks.sandbox.users import api_user

    return int(api_user().id)


def write_config(tmp_path: Path, target: dict[str, Any], **overrides: Any) -> Path:
    t = {**target, "role": "staging", **overrides}
    path = tmp_path / "runbooks.yaml"
    path.write_text(yaml.safe_dump({"targets": {"stg": t}}))
    return path


def task_env(config: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RUNBOOKS_CONFIG"] = str(config)
    env["COLUMNS"] = "200"
    return env


def run_predeploy(config: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", "-r", str(ROOT), "predeploy", "--target", "stg", *args],
                          env=task_env(config), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def checks(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in doc.get("checks", [])}


class Phone:
    """The operator's phone: the sandbox's upload/poll/cancel endpoints over real HTTP."""

    def __init__(self, sb: Any) -> None:
        self.base = sb.base_url
        self.headers = {"X-Telegram-Init-Data": sb.init_data, "Content-Type": "application/json"}

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=self.headers)
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
            return json.loads(resp.read())

    def upload(self, delay: float, meal_id: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"sandbox_delay": delay}
        if meal_id is not None:
            body["meal_id"] = meal_id
        return self._call("POST", "/api/v1/ai/recognize/", body)

    def wait_status(self, task_id: str, states: tuple[str, ...], deadline_s: float = 20) -> str:
        end = time.monotonic() + deadline_s
        while True:
            status = self._call("GET", f"/api/v1/ai/task/{task_id}/")["status"]
            if status in states or time.monotonic() > end:
                return status
            time.sleep(0.05)  # polling a live worker with a deadline, not synchronising by sleep

    def cancel(self, meal_id: int, photo_ids: list[int], task_ids: list[str]) -> dict[str, Any]:
        return self._call("POST", "/api/v1/ai/cancel/", {
            "client_cancel_id": str(uuid.uuid4()), "meal_id": meal_id, "meal_photo_ids": photo_ids,
            "task_ids": task_ids, "reason": "user_cancelled"})

    def scenario_c(self) -> dict[str, Any]:
        """Upload 1 photo, Cancel while it is PROCESSING (the late result comes afterwards)."""
        up = self.upload(delay=1.5)
        self.wait_status(up["task_id"], ("PROCESSING",))
        self.cancel(up["meal_id"], [up["meal_photo_id"]], [up["task_id"]])
        return up
