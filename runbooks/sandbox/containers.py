"""Simulated container states (``containers.json``): running/exited, start times, restarts."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import datetime
from typing import Any

from runbooks.sandbox import faultflags
from runbooks.sandbox.fslock import locked
from runbooks.sandbox.logfile import LiveSink, LogSink
from runbooks.sandbox.paths import SandboxConfig, StatePaths
from runbooks.sandbox.timefmt import celery_prefix, docker_stamp, gunicorn_time, utcnow

IMAGES = {"db": "postgres:16-alpine", "redis": "redis:7-alpine", "frontend": "eatfit24-frontend"}
COMMANDS = {
    "db": "docker-entrypoint.sh postgres",
    "redis": "docker-entrypoint.sh redis-server",
    "backend": "gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers 3",
    "celery-beat": "celery -A config beat -l INFO",
    "bot": "python -m bot",
    "frontend": "/docker-entrypoint.sh nginx -g 'daemon off;'",
}
PORTS = {"backend": "127.0.0.1:8000->8000/tcp", "frontend": "127.0.0.1:3000->80/tcp",
         "db": "5432/tcp", "redis": "6379/tcp"}


def _new_id(name: str) -> str:
    return hashlib.sha256(f"{name}{time.time_ns()}{os.getpid()}".encode()).hexdigest()


def load(paths: StatePaths) -> dict[str, dict[str, Any]]:
    try:
        return json.loads(paths.containers_json.read_text())
    except FileNotFoundError:
        return {}


def save(paths: StatePaths, data: dict[str, dict[str, Any]]) -> None:
    tmp = paths.containers_json.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, paths.containers_json)


def get(paths: StatePaths, name: str) -> dict[str, Any] | None:
    return load(paths).get(name)


def is_running(paths: StatePaths, name: str) -> bool:
    c = get(paths, name)
    return bool(c and c["status"] == "running")


def find(paths: StatePaths, ref: str) -> dict[str, Any] | None:
    """By name, or by id prefix (like docker)."""
    data = load(paths)
    if ref in data:
        return data[ref]
    ref = ref.lstrip("/")
    for c in data.values():
        if ref in (c["name"],) or (len(ref) >= 3 and c["id"].startswith(ref)):
            return c
    return None


def worker_log_level(paths: StatePaths) -> str:
    """The worker's ``-l`` level: INFO, or WARNING under the ``worker_log_warning`` fault."""
    return "WARNING" if faultflags.is_active(paths, "worker_log_warning") else "INFO"


def hostname(c: dict[str, Any]) -> str:
    """The container's hostname (docker's default: the id's first 12 digits); Celery names
    the worker node ``celery@<hostname>``."""
    return str(c["id"][:12])


def _fresh(config: SandboxConfig, service: str, now: datetime, old: dict | None = None,
           level: str = "INFO") -> dict:
    name = config.container_name(service)
    command = config.worker_cmdline.replace("-l INFO", f"-l {level}") if service == config.worker_service \
        else COMMANDS.get(service, f"python -m {service}")
    return {
        "id": _new_id(name),
        "name": name,
        "service": service,
        "project": config.project_name,
        "image": IMAGES.get(service, f"{config.project_name}-{service}"),
        "command": command,
        "status": "running",
        "exit_code": 0,
        "created_at": docker_stamp(now),
        "started_at": docker_stamp(now),
        "finished_at": "0001-01-01T00:00:00Z",
        "restart_count": 0,
        "restart_policy": config.worker_restart_policy if service == config.worker_service else "unless-stopped",
        "pid": 1000 + (abs(hash(name)) % 30000),
        "ports": PORTS.get(service, ""),
    }


def init(paths: StatePaths, config: SandboxConfig, now: datetime) -> None:
    with locked(paths.lock):
        data = {config.container_name(s): _fresh(config, s, now) for s in config.services}
        save(paths, data)
        sink = LiveSink(paths)
        for s in config.services:
            startup_lines(config, s, now, sink, hostname(data[config.container_name(s)]))


def startup_lines(config: SandboxConfig, service: str, at: datetime, sink: LogSink, host_name: str,
                  level: str = "INFO") -> None:
    """What the process prints when its container starts. The worker's banner goes to stdout
    whatever its level; ``Connected to`` and ``celery@<host> ready.`` are INFO records, so a
    worker started with ``-l WARNING`` prints neither."""
    name = config.container_name(service)
    if service == config.backend_service:
        for msg in ("Starting gunicorn 23.0.0", "Listening at: http://0.0.0.0:8000 (1)",
                    "Using worker: sync", "Booting worker with pid: 7",
                    "Booting worker with pid: 8", "Booting worker with pid: 9"):
            sink.emit(name, f"{gunicorn_time(at)} [1] [INFO] {msg}", at, "stderr")
    elif service == config.worker_service:
        host = f"celery@{host_name}"
        banner = (
            f" \n -------------- {host} v5.4.0 (opalescent)\n--- ***** ----- \n"
            "-- ******* ---- Linux-6.1.0-x86_64-with-glibc2.36 \n"
            f"- *** --- * --- \n- ** ---------- [config]\n- ** ---------- .> app:         "
            "config:0x7f3c\n- ** ---------- .> transport:   redis://redis:6379/0\n"
            "- *** --- * --- .> concurrency: 2 (prefork)\n -------------- [queues]\n"
            "                .> ai               exchange=ai(direct) key=ai\n"
            "                .> billing          exchange=billing(direct) key=billing\n"
            "                .> default          exchange=default(direct) key=default\n"
        )
        sink.emit(name, banner, at, "stdout")
        if level != "INFO":
            return
        sink.emit(name, celery_prefix(at, "INFO", "MainProcess")
                  + "Connected to redis://redis:6379/0", at, "stderr")
        sink.emit(name, celery_prefix(at, "INFO", "MainProcess") + f"{host} ready.", at, "stderr")


def set_state(paths: StatePaths, name: str, **fields: Any) -> dict[str, Any]:
    with locked(paths.lock):
        data = load(paths)
        data[name].update(fields)
        save(paths, data)
        return data[name]


def stop(paths: StatePaths, name: str, exit_code: int = 0, now: datetime | None = None) -> None:
    """The main process ended; apply the restart policy like dockerd does."""
    now = now or utcnow()
    with locked(paths.lock):
        data = load(paths)
        c = data[name]
        if c["status"] != "running":
            return
        policy = c.get("restart_policy", "no")
        restart = policy in ("always", "unless-stopped") or (policy == "on-failure" and exit_code != 0)
        if restart:
            c.update(status="running", started_at=docker_stamp(now), restart_count=c["restart_count"] + 1)
        else:
            c.update(status="exited", exit_code=exit_code, finished_at=docker_stamp(now))
        save(paths, data)
    if restart:
        config = paths.load_config()
        startup_lines(config, c["service"], now, LiveSink(paths), hostname(c), worker_log_level(paths))


def manual_stop(paths: StatePaths, name: str, now: datetime | None = None) -> None:
    """``docker stop``/``compose stop``: no restart, whatever the policy. Celery's warm
    shutdown line goes to the worker's stdout (a task still running dies with the container:
    its photo stays PROCESSING)."""
    now = now or utcnow()
    c = get(paths, name)
    if c is None or c["status"] != "running":
        return
    if c["service"] == paths.load_config().worker_service:
        LiveSink(paths).emit(name, "worker: Warm shutdown (MainProcess)", now, "stdout")
    set_state(paths, name, status="exited", exit_code=0, finished_at=docker_stamp(now))


def start(paths: StatePaths, name: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    with locked(paths.lock):
        c = get(paths, name)
        if c is None or c["status"] == "running":
            return
        set_state(paths, name, status="running", exit_code=0, started_at=docker_stamp(now))
    startup_lines(paths.load_config(), c["service"], now, LiveSink(paths), hostname(c), worker_log_level(paths))


def recreate(paths: StatePaths, service: str, now: datetime | None = None) -> dict[str, Any]:
    """A new container replaces the old one: new id, new start time and a fresh log file
    (docker keeps logs per container, so the history of the old one is gone)."""
    now = now or utcnow()
    config = paths.load_config()
    name = config.container_name(service)
    with locked(paths.lock):
        data = load(paths)
        old = data.get(name)
        log = paths.log_file(name)
        if old and log.exists():
            archive = paths.containers_dir / "removed"
            archive.mkdir(parents=True, exist_ok=True)
            shutil.move(str(log), archive / f"{name}-{old['id'][:12]}-json.log")
        level = worker_log_level(paths)
        data[name] = _fresh(config, service, now, old, level)
        save(paths, data)
    startup_lines(config, service, now, LiveSink(paths), hostname(data[name]), level)
    return data[name]


def human_duration(seconds: float) -> str:
    """go-units HumanDuration, as ``docker ps`` prints it."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"
