"""Sandbox configuration and the layout of its state directory (one place for every path)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BACKEND_DIR = PACKAGE_DIR / "backend"
#: Directory that must be on ``sys.path`` for ``import runbooks`` to work.
PACKAGE_ROOT = PACKAGE_DIR.parent.parent

STATE_ENV = "RUNBOOKS_SANDBOX_STATE"
INIT_DATA_ENV = "RUNBOOKS_SANDBOX_INIT_DATA"
IDLE_ENV = "RUNBOOKS_SANDBOX_IDLE"  # seconds without use before the background process stops; 0: never
IDLE_DEFAULT_S = 1800


def idle_seconds() -> int:
    """$RUNBOOKS_SANDBOX_IDLE (seconds; 0 = never stop), default 30 minutes."""
    raw = os.environ.get(IDLE_ENV, "")
    try:
        return max(0, int(float(raw))) if raw.strip() else IDLE_DEFAULT_S
    except ValueError:
        return IDLE_DEFAULT_S

DEFAULT_SERVICES = ("db", "redis", "backend", "celery-worker", "celery-beat", "bot", "frontend")


def default_state_dir() -> Path:
    """``$RUNBOOKS_SANDBOX_STATE`` or ``./.runbooks/sandbox``."""
    return Path(os.environ.get(STATE_ENV) or ".runbooks/sandbox").resolve()


@dataclass
class SandboxConfig:
    """What a simulated host looks like; container names derive from it, never hard-coded."""

    project_name: str = "eatfit24"
    services: list[str] = field(default_factory=lambda: list(DEFAULT_SERVICES))
    backend_service: str = "backend"
    worker_service: str = "celery-worker"
    #: docker restart policy of the worker: "no" (default: a killed worker stays exited),
    #: "always", "unless-stopped" or "on-failure".
    worker_restart_policy: str = "no"
    #: PID 1 of the worker container, as ``ps``/``pkill -f`` see it (eatfit24.md).
    worker_cmdline: str = "celery -A config worker -l INFO --concurrency=2 -Q ai,billing,default"
    #: ``pkill -f`` pattern matching: False also accepts a pattern whose words appear in order
    #: in the command line (so the checklist's ``pkill -f "celery worker"`` stops the worker);
    #: True uses procps' real regex search only (then that pattern matches nothing).
    strict_pkill: bool = False
    #: stream of the apps' logging lines (Celery worker log, Django loggers). Both log to
    #: stderr by default in the real containers, which is why eatfit24.md says ``2>&1``.
    app_log_stream: str = "stderr"
    #: seconds a live AI task takes unless the upload says otherwise
    live_task_delay: float = 0.3
    #: an upload without ``sandbox_delay`` (the real multipart request) takes as long as real
    #: recognition: uniform in [min, max] seconds, drawn per photo from ``recognition_seed``
    #: (None: a fresh draw each time). The ``instant_recognition`` flag makes it 0.
    recognition_delay_s: list[float] = field(default_factory=lambda: [1.0, 3.0])
    recognition_seed: int | None = None

    def container_name(self, service: str) -> str:
        return f"{self.project_name}-{service}-1"

    @property
    def backend_container(self) -> str:
        return self.container_name(self.backend_service)

    @property
    def worker_container(self) -> str:
        return self.container_name(self.worker_service)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> SandboxConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class StatePaths:
    """Every file of a sandbox state dir."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    config = property(lambda self: self.root / "sandbox.json")
    db = property(lambda self: self.root / "db.sqlite3")
    secret = property(lambda self: self.root / "init-data")
    containers_json = property(lambda self: self.root / "containers.json")
    containers_dir = property(lambda self: self.root / "containers")
    bin_dir = property(lambda self: self.root / "bin")
    docker = property(lambda self: self.root / "bin" / "docker")
    calls = property(lambda self: self.root / "docker-calls.jsonl")
    faults = property(lambda self: self.root / "faults.json")
    ledger = property(lambda self: self.root / "ledger.jsonl")
    queue = property(lambda self: self.root / "queue")
    server_json = property(lambda self: self.root / "server.json")
    server_log = property(lambda self: self.root / "server.log")
    project = property(lambda self: self.root / "project")
    ssh_dir = property(lambda self: self.root / "ssh")
    ssh_json = property(lambda self: self.root / "ssh.json")
    runbooks_yaml = property(lambda self: self.root / "runbooks.yaml")
    lock = property(lambda self: self.root / ".lock")

    def log_file(self, container: str) -> Path:
        """docker's json-file location, ``<id>/<id>-json.log``, keyed by container name here."""
        return self.containers_dir / container / f"{container}-json.log"

    def load_config(self) -> SandboxConfig:
        if self.config.exists():
            return SandboxConfig.from_dict(json.loads(self.config.read_text()))
        return SandboxConfig()
