"""The sandbox's one background process: the meals API (Django via WSGI on 127.0.0.1, an
ephemeral port written to ``server.json``) and the live Celery-worker stand-in (two threads,
``ForkPoolWorker-1/2``) that processes uploads only while the worker container is running.

Run as ``python -m runbooks.sandbox.server STATE_DIR``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from runbooks.sandbox.paths import IDLE_ENV, idle_seconds


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def worker_loop(paths: Any, index: int, stop: threading.Event) -> None:
    from django.db import close_old_connections
    from django.utils import timezone

    from runbooks.sandbox import containers, flow, taskqueue
    from runbooks.sandbox.ctx import Ctx

    process = f"ForkPoolWorker-{index}"
    name = paths.load_config().worker_container
    while not stop.is_set():
        if not containers.is_running(paths, name):
            stop.wait(0.1)
            continue
        task = taskqueue.claim(paths)
        if task is None:
            stop.wait(0.05)
            continue
        close_old_connections()
        ctx = Ctx(paths, live=True)
        try:
            run_task(ctx, task, process, name, stop, flow, containers, taskqueue, timezone)
        except Exception as exc:  # keep the worker alive; the error is visible in its log
            ctx.worker(f"Task {flow.TASK}[{task['task_id']}] raised unexpected: {exc!r}",
                       timezone.now(), "ERROR", process)


def run_task(ctx: Any, task: dict, process: str, name: str, stop: threading.Event,
             flow: Any, containers: Any, taskqueue: Any, timezone: Any) -> None:
    if taskqueue.is_revoked(ctx.paths, task["task_id"]):
        flow.task_discarded(ctx, task["task_id"], timezone.now())
        return
    flow.task_received(ctx, task["task_id"], timezone.now())
    started = timezone.now()
    flow.task_start(ctx, task["photo_id"], started, task["task_id"], process)
    deadline = time.monotonic() + float(task.get("delay", 0.3))
    while time.monotonic() < deadline or task.get("outcome") == "hang":
        if stop.is_set() or not containers.is_running(ctx.paths, name):
            return  # the process died with the container: the photo stays PROCESSING
        stop.wait(0.02)
    flow.task_finish(ctx, task["photo_id"], task["task_id"], timezone.now(), outcome=task["outcome"],
                     started_at=started, process=process)


def last_use(paths: Any, last_request: float) -> float:
    """The latest sign of use: an API request, a docker shim call, a fault or traffic write."""
    stamps = [last_request]
    for p in (paths.calls, paths.ledger, paths.faults, paths.containers_json):
        try:
            stamps.append(p.stat().st_mtime)
        except OSError:
            pass
    return max(stamps)


def idle_watch(paths: Any, idle: float, last_request: list[float], stop: threading.Event, shutdown: Any) -> None:
    """Stop the background sandbox (and its sshd, if `sandbox.up --ssh` started one) after
    `idle` seconds without use ($RUNBOOKS_SANDBOX_IDLE)."""
    while not stop.wait(min(5.0, max(0.2, idle / 4))):
        if time.time() - last_use(paths, last_request[0]) < idle:
            continue
        print(f"sandbox: idle for {idle:g}s ({IDLE_ENV}): stopping", flush=True)
        try:
            ssh = json.loads(paths.ssh_json.read_text())
            os.kill(int(ssh["pid"]), signal.SIGTERM)
            paths.ssh_json.unlink(missing_ok=True)
        except (OSError, ValueError, KeyError, TypeError):
            pass
        shutdown()
        return


def main(argv: list[str]) -> int:
    state = Path(argv[0]).resolve()
    from runbooks.sandbox.djangoenv import activate

    paths = activate(state)
    from django.core.wsgi import get_wsgi_application

    django_app = get_wsgi_application()
    last_request = [time.time()]

    def app(environ: Any, start_response: Any) -> Any:
        last_request[0] = time.time()
        return django_app(environ, start_response)

    httpd = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    stop = threading.Event()
    workers = [threading.Thread(target=worker_loop, args=(paths, i, stop), daemon=True) for i in (1, 2)]
    for t in workers:
        t.start()

    def shutdown(*_: Any) -> None:
        stop.set()
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    idle = idle_seconds()
    if idle:
        threading.Thread(target=idle_watch, args=(paths, idle, last_request, stop, shutdown), daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    info = {"pid": os.getpid(), "port": httpd.server_address[1], "started": time.time()}
    tmp = paths.server_json.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, paths.server_json)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        stop.set()
        for t in workers:
            t.join(timeout=2)
        try:
            if json.loads(paths.server_json.read_text()).get("pid") == os.getpid():
                paths.server_json.unlink()
        except (FileNotFoundError, ValueError):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
