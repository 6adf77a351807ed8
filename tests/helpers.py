"""Helpers for tests that run tasks as real subprocesses against real targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def write_config(path: Path, targets: dict[str, dict[str, Any]], **top: Any) -> Path:
    cfg = {"targets": targets, **top}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_playbook(path: Path, name: str, steps: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"name": name, "steps": steps}, sort_keys=False))
    return path


def inv_env(config: Path | None, transcripts: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOKS_")}
    if config is not None:
        env["RUNBOOKS_CONFIG"] = str(config)
    env["RUNBOOKS_TRANSCRIPTS"] = str(transcripts)
    env["RUNBOOKS_HISTORY"] = str(transcripts / "history.sqlite3")
    for k in ("RUNBOOKS_REQUIRE_SSHD", "RUNBOOKS_SANDBOX_STATE"):
        if k in os.environ and k not in extra:
            env[k] = os.environ[k]
    env.update(extra)
    return env


def inv_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "invoke", "-r", str(ROOT), *args]


def run_inv(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(inv_cmd(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)


def run_dirs(transcripts: Path) -> list[Path]:
    return sorted(p for p in transcripts.iterdir() if p.is_dir()) if transcripts.exists() else []


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


def all_transcript_text(transcripts: Path) -> str:
    out = []
    for p in transcripts.rglob("*"):
        if p.is_file() and p.suffix in (".jsonl", ".md", ".cast"):
            out.append(p.read_text(errors="replace"))
    return "\n".join(out)


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def serve_http(handler: type) -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 (a free port) for `handler`; yields its base URL
    and shuts it down afterwards. The one server lifecycle every test HTTP stand-in uses."""
    from http.server import ThreadingHTTPServer

    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
