"""Context of one simulated operation: where its log lines, ledger events and revokes go."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from runbooks.sandbox import faultflags
from runbooks.sandbox.fslock import locked
from runbooks.sandbox.logfile import BatchSink, LiveSink, LogSink
from runbooks.sandbox.paths import SandboxConfig, StatePaths
from runbooks.sandbox.timefmt import celery_prefix, gunicorn_time

USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Telegram-iOS/11.2",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36 Telegram-Android/11.1",
]


class Ctx:
    """Live (append now) or batch (merge backdated lines on flush)."""

    def __init__(self, paths: StatePaths, *, live: bool, seed: int | None = None,
                 revoke: Callable[[str], object] | None = None) -> None:
        self.paths = paths
        self.config: SandboxConfig = paths.load_config()
        self.sink: LogSink = LiveSink(paths) if live else BatchSink(paths)
        self.live = live
        self.rng = random.Random(seed)
        self.events: list[dict[str, Any]] = []
        self.revoked: set[str] = set()
        self._revoke = revoke
        self._faults = faultflags.load(paths)["active"]

    # -- faults
    def fault(self, name: str) -> bool:
        if self.live:  # the live worker must see flags set after it started
            return faultflags.is_active(self.paths, name)
        return name in self._faults

    def force_fault(self, name: str, on: bool = True) -> None:
        if on:
            self._faults[name] = True
        else:
            self._faults.pop(name, None)

    # -- ids
    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def rid(self) -> str:
        """A request/trace id as the app logs it (32 hex digits)."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex

    # -- logs
    def worker(self, text: str, at: datetime, level: str = "INFO",
               process: str = "ForkPoolWorker-1", stream: str | None = None) -> None:
        if level in ("DEBUG", "INFO") and self.fault("worker_log_warning"):
            return  # the worker runs with -l WARNING: Celery drops its INFO records
        self.sink.emit(self.config.worker_container, celery_prefix(at, level, process) + text, at,
                       stream or self.config.app_log_stream)

    def backend(self, text: str, at: datetime, stream: str | None = None) -> None:
        self.sink.emit(self.config.backend_container, text, at, stream or self.config.app_log_stream)

    def access(self, method: str, path: str, status: int, size: int, at: datetime) -> None:
        ua = USER_AGENTS[self.rng.randrange(len(USER_AGENTS))]
        line = (f'172.18.0.1 - - {gunicorn_time(at)} "{method} {path} HTTP/1.0" {status} {size} '
                f'"https://eatfit24.ru/" "{ua}"')
        self.sink.emit(self.config.backend_container, line, at, "stdout")

    # -- ledger (the simulator's own record of what happened)
    def event(self, kind: str, at: datetime, **data: Any) -> None:
        self.events.append({"kind": kind, "at": at.isoformat(), **data})
        if self.live:
            self.flush()

    def revoke(self, task_id: str) -> None:
        self.revoked.add(task_id)
        if self._revoke:
            self._revoke(task_id)

    def flush(self) -> None:
        self.sink.flush()
        if self.events:
            with locked(self.paths.lock), open(self.paths.ledger, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(e, default=str) + "\n" for e in self.events)
            self.events = []
