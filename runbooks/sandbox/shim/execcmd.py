"""``docker exec``: commands "inside" the backend/worker containers.

Python and shell commands really run, in the sandbox's Django project dir with the
container's environment (``python`` is this interpreter). Process control (``pkill``,
``kill``, ``ps``, ``celery ... inspect``) acts on a simulated process table instead of the
host's, so ``pkill -f "celery worker"`` stops the simulated worker, never a host process.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Any

from runbooks.sandbox import containers
from runbooks.sandbox.djangoenv import backend_env
from runbooks.sandbox.logfile import LiveSink
from runbooks.sandbox.paths import BACKEND_DIR, StatePaths
from runbooks.sandbox.shim.flags import Spec, parse
from runbooks.sandbox.shim.io import err, fail, no_such_container, out
from runbooks.sandbox.timefmt import utcnow

SPEC = Spec("docker exec",
            values={"-e": "env", "--env": "env", "-w": "workdir", "--workdir": "workdir",
                    "-u": "user", "--user": "user", "--env-file": "env_file"},
            bools={"-i": "interactive", "--interactive": "interactive", "-t": "tty", "--tty": "tty",
                   "-d": "detach", "--detach": "detach", "--privileged": "privileged"},
            repeat={"env"}, interspersed=False)

PROCESS_CONTROL = {"pkill", "kill", "killall", "pgrep", "ps", "celery", "gunicorn"}


def processes(paths: StatePaths, c: dict[str, Any]) -> list[tuple[int, str]]:
    config = paths.load_config()
    if c["service"] == config.worker_service:
        return [(1, c["command"]), (7, c["command"]), (8, c["command"])]
    if c["service"] == config.backend_service:
        return [(1, f"/usr/local/bin/python /usr/local/bin/{c['command']}")] + [
            (n, f"/usr/local/bin/python /usr/local/bin/{c['command']}") for n in (7, 8, 9)]
    return [(1, c["command"])]


def _matches(pattern: str, cmdline: str, full: bool, strict: bool) -> bool:
    target = cmdline if full else os.path.basename(cmdline.split()[0])[:15]
    try:
        if re.search(pattern, target):
            return True
    except re.error:
        return False
    if strict or not full:
        return False
    words = pattern.split()
    pos = 0
    for w in words:
        k = target.find(w, pos)
        if k < 0:
            return False
        pos = k + len(w)
    return len(words) > 1


def pkill(paths: StatePaths, c: dict[str, Any], args: list[str], list_only: bool = False) -> int:
    full = False
    pattern = None
    for a in args:
        if a == "-f":
            full = True
        elif a.startswith("-"):
            continue  # signal / other flags
        else:
            pattern = a
    if pattern is None:
        err(f"{'pgrep' if list_only else 'pkill'}: no matching criteria specified\n")
        return 2
    strict = paths.load_config().strict_pkill
    hits = [pid for pid, cmd in processes(paths, c) if _matches(pattern, cmd, full, strict)]
    if not hits:
        return 1
    if list_only:
        out("".join(f"{pid}\n" for pid in hits))
        return 0
    if 1 in hits:
        _main_process_dies(paths, c)
    return 0


def _main_process_dies(paths: StatePaths, c: dict[str, Any]) -> None:
    now = utcnow()
    config = paths.load_config()
    sink = LiveSink(paths)
    if c["service"] == config.worker_service:
        sink.emit(c["name"], "\nworker: Warm shutdown (MainProcess)", now, "stdout")
    else:
        sink.emit(c["name"], f"[{now:%Y-%m-%d %H:%M:%S} +0000] [1] [INFO] Handling signal: term", now, "stderr")
    containers.stop(paths, c["name"], exit_code=0, now=now)


def ps(paths: StatePaths, c: dict[str, Any]) -> int:
    rows = ["PID   USER     TIME  COMMAND"]
    rows += [f"{pid:>5} app       0:{pid:02d} {cmd}" for pid, cmd in processes(paths, c)]
    out("\n".join(rows) + "\n")
    return 0


def _worker_node(paths: StatePaths) -> str | None:
    """``celery@<hostname>`` of the worker if its container runs (the broker then has a
    node to answer), else None."""
    w = containers.get(paths, paths.load_config().worker_container)
    return f"celery@{containers.hostname(w)}" if w and w["status"] == "running" else None


def celery(paths: StatePaths, c: dict[str, Any], args: list[str]) -> int:
    """``celery -A config inspect ping|active [-d celery@host] [--timeout N]`` and ``status``:
    answered like Celery, by the worker node when its container runs; otherwise (or when
    ``-d`` names another node) Celery's "No nodes replied" and exit 69 (EX_UNAVAILABLE)."""
    node = _worker_node(paths)
    dest = [a.split("=", 1)[1] if "=" in a else (args[i + 1] if i + 1 < len(args) else "")
            for i, a in enumerate(args) if a in ("-d", "--destination") or a.startswith("--destination=")]
    wanted = {n.strip() for d in dest for n in d.split(",") if n.strip()}
    if wanted and node not in wanted:
        node = None
    if ("inspect" in args and "ping" in args) or "status" in args:
        if node is None:
            err("Error: No nodes replied within time constraint.\n")
            return 69
        out(f"->  {node}: OK\n\n1 node online.\n" if "status" in args else f"->  {node}: OK\n        pong\n\n1 node online.\n")
        return 0
    if "inspect" in args and "active" in args:
        if node is None:
            err("Error: No nodes replied within time constraint.\n")
            return 69
        out(f"->  {node}: OK\n    - empty -\n\n1 node online.\n")
        return 0
    err("celery: this sandbox simulates only `celery inspect ping|active` and `celery status`\n")
    return 2


def simulated(paths: StatePaths, c: dict[str, Any], cmd: list[str]) -> int | None:
    """Run a process-control command against the simulated table; None = not simulated."""
    name = os.path.basename(cmd[0])
    if name in ("pkill", "pgrep"):
        return pkill(paths, c, cmd[1:], list_only=name == "pgrep")
    if name in ("kill", "killall"):
        pids = [a for a in cmd[1:] if not a.startswith("-")]
        if name == "kill" and "1" in pids:
            _main_process_dies(paths, c)
            return 0
        if name == "killall":
            return pkill(paths, c, cmd[1:])
        return 0 if pids else 2
    if name == "ps":
        return ps(paths, c)
    if name == "celery":
        return celery(paths, c, cmd[1:])
    return None


def run(paths: StatePaths, argv: list[str]) -> int:
    opts, pos = parse(SPEC, argv)
    if len(pos) < 2:
        return fail('"docker exec" requires at least 2 arguments.\nSee \'docker exec --help\'.\n\n'
                    "Usage:  docker exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
                    "Execute a command in a running container")
    c = containers.find(paths, pos[0])
    if c is None:
        return no_such_container(pos[0])
    if c["status"] != "running":
        return fail(f"Error response from daemon: container {c['id']} is not running")
    if opts.get("tty") and not sys.stdin.isatty():
        return fail("the input device is not a TTY")
    cmd = pos[1:]
    config = paths.load_config()
    if c["service"] not in (config.backend_service, config.worker_service) and \
            os.path.basename(cmd[0]) not in PROCESS_CONTROL:
        return fail(f"OCI runtime exec failed: exec failed: unable to start container process: "
                    f"exec: \"{cmd[0]}\": executable file not found in $PATH: unknown", 127)
    code = simulated(paths, c, cmd)
    if code is not None:
        return code
    return real(paths, opts, cmd)


def real(paths: StatePaths, opts: dict[str, Any], cmd: list[str]) -> int:
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").replace(str(paths.bin_dir) + os.pathsep, ""),
           "HOME": "/tmp", "LANG": "C.UTF-8", "HOSTNAME": "backend", **backend_env(paths.root)}
    for kv in opts.get("env", []) or []:
        k, _, v = str(kv).partition("=")
        if _:
            env[k] = v
        elif k in os.environ:
            env[k] = os.environ[k]
    workdir = str(opts.get("workdir") or BACKEND_DIR)
    if not os.path.isdir(workdir):
        return fail(f"OCI runtime exec failed: exec failed: unable to start container process: "
                    f"chdir to cwd (\"{workdir}\") set in config.json failed: no such file or directory: unknown", 126)
    exe = cmd[0]
    if exe in ("python", "python3", "python3.12") or exe.startswith("python3."):
        exe = sys.executable
    else:
        found = shutil.which(exe, path=env["PATH"])
        if found is None:
            return fail(f"OCI runtime exec failed: exec failed: unable to start container process: "
                        f"exec: \"{cmd[0]}\": executable file not found in $PATH: unknown", 127)
        exe = found
    sys.stdout.flush()
    sys.stderr.flush()
    if not opts.get("interactive"):
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    os.chdir(workdir)
    os.execve(exe, [cmd[0] if exe != sys.executable else exe, *cmd[1:]], env)
    return 0  # not reached
