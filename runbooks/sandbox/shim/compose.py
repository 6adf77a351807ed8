"""``docker compose``: finds the compose file like compose does (cwd, then parents), resolves
the project name (-p, $COMPOSE_PROJECT_NAME, ``name:``, dir name) and acts on the
simulated containers. ``up --build`` can fail by the ``rebuild_fails`` fault, or stall until
killed by the ``rebuild_hangs`` fault."""

from __future__ import annotations

import heapq
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import yaml

from runbooks.sandbox import containers, faultflags
from runbooks.sandbox.logfile import read_records
from runbooks.sandbox.paths import StatePaths
from runbooks.sandbox.shim import execcmd, logs, ps
from runbooks.sandbox.shim.flags import Spec, UsageError, opt_str, opt_strs, parse
from runbooks.sandbox.shim.io import err, fail, out

GLOBAL = Spec("docker compose", values={"-p": "project", "--project-name": "project", "-f": "file",
                                        "--file": "file", "--project-directory": "dir", "--env-file": "env_file",
                                        "--ansi": "ansi", "--progress": "progress", "--profile": "profile"},
              bools={"--dry-run": "dry_run", "--compatibility": "compat"}, repeat={"file"}, interspersed=False)
FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


class Project:
    def __init__(self, paths: StatePaths, opts: dict[str, object]) -> None:
        files = opt_strs(opts, "file")
        if files:
            self.file = Path(files[0]).resolve()
            if not self.file.exists():
                raise UsageError(f"open {self.file}: no such file or directory", 1)
        else:
            start = Path(opt_str(opts, "dir") or os.getcwd()).resolve()
            found = next((d / f for d in [start, *start.parents] for f in FILES if (d / f).exists()), None)
            if found is None:
                raise UsageError("no configuration file provided: not found", 1)
            self.file = found
        self.dir = Path(opt_str(opts, "dir") or self.file.parent).resolve()
        data = yaml.safe_load(self.file.read_text()) or {}
        self.services: dict[str, Any] = data.get("services") or {}
        self.name = (opt_str(opts, "project") or os.environ.get("COMPOSE_PROJECT_NAME") or data.get("name")
                     or self.dir.name)
        self.paths = paths
        self.config = paths.load_config()

    def containers(self, services: list[str], all_: bool = True) -> list[dict[str, Any]]:
        for s in services:
            if s not in self.services:
                raise UsageError(f"no such service: {s}", 1)
        wanted = services or list(self.services)
        cs = [c for c in containers.load(self.paths).values()
              if c["project"] == self.name and c["service"] in wanted]
        return [c for c in cs if all_ or c["status"] == "running"]


def _progress(verb: str, names: list[str], state: str) -> None:
    err(f"[+] {verb} {len(names)}/{len(names)}\n")
    width = max((len(n) for n in names), default=0)
    for n in names:
        err(f" ✔ Container {n.ljust(width)}  {state:<14}{0.4:.1f}s\n")


def cmd_ps(p: Project, argv: list[str]) -> int:
    spec = Spec("docker compose ps", values={"--format": "format", "--filter": "filter", "--status": "status"},
                bools={"-a": "all", "--all": "all", "-q": "quiet", "--quiet": "quiet", "--services": "services",
                       "--no-trunc": "no_trunc", "--orphans": "orphans"})
    opts, pos = parse(spec, argv)
    cs = p.containers(pos, all_=bool(opts.get("all")))
    if opts.get("status"):
        cs = [c for c in cs if c["status"] == opts["status"]]
    cs.sort(key=lambda c: c["service"])
    if opts.get("services"):
        out("".join(c["service"] + "\n" for c in cs))
        return 0
    if opts.get("quiet"):
        out("".join(c["id"] + "\n" for c in cs))
        return 0
    rows = []
    for c in cs:
        row = ps.ps_row(c)
        row.update(Name=c["name"], Service=c["service"], Project=c["project"], Health="", ExitCode=c["exit_code"],
                   Publishers=[], Created=int(time.time() - ps._ago(c["created_at"])))
        rows.append(row)
    return ps.print_rows(rows, opt_str(opts, "format"), ["Name", "Image", "Command", "Service", "RunningFor", "Status", "Ports"])


def cmd_logs(p: Project, argv: list[str]) -> int:
    spec = Spec("docker compose logs", values={"--tail": "tail", "-n": "tail", "--since": "since", "--until": "until",
                                               "--index": "index"},
                bools={"-t": "timestamps", "--timestamps": "timestamps", "-f": "follow", "--follow": "follow",
                       "--no-color": "no_color", "--no-log-prefix": "no_prefix"})
    opts, pos = parse(spec, argv)
    cs = p.containers(pos)
    since, until = logs.bounds(opts)
    tail = logs.parse_tail(opt_str(opts, "tail"))
    width = max((len(c["service"]) + 2 for c in cs), default=0)
    streams = []
    for c in cs:
        prefix = "" if opts.get("no_prefix") else f"{(c['service'] + '-1').ljust(width)}  | "
        records = read_records(p.paths.log_file(c["name"]), tail, since, until)
        streams.append((r.stamp, prefix, r) for r in records)
    stdout = sys.stdout.buffer
    ts = bool(opts.get("timestamps"))
    for _, prefix, r in heapq.merge(*streams, key=lambda t: t[0]):
        text = r.text if r.text.endswith("\n") else r.text + "\n"
        stdout.write(f"{prefix}{r.stamp + ' ' if ts else ''}{text}".encode())
    stdout.flush()
    if opts.get("follow") and len(cs) == 1 and cs[0]["status"] == "running":
        path = p.paths.log_file(cs[0]["name"])
        prefix = "" if opts.get("no_prefix") else f"{(cs[0]['service'] + '-1').ljust(width)}  | "
        printer = logs.Printer(ts, prefix, merge_stderr=True)
        return logs.follow(p.paths, cs[0]["name"], path, path.stat().st_size, printer, until)
    return 0


def cmd_up(p: Project, argv: list[str]) -> int:
    spec = Spec("docker compose up", values={"--scale": "scale", "-t": "timeout", "--timeout": "timeout",
                                             "--pull": "pull", "--wait-timeout": "wait_timeout"},
                bools={"-d": "detach", "--detach": "detach", "--build": "build", "--no-build": "no_build",
                       "--force-recreate": "force", "--no-recreate": "no_recreate", "--no-deps": "no_deps",
                       "--remove-orphans": "remove_orphans", "--wait": "wait", "--quiet-pull": "quiet_pull"})
    opts, pos = parse(spec, argv)
    if not opts.get("detach"):
        return fail("sandbox: attached `docker compose up` would follow logs forever; use -d")
    cs = p.containers(pos)
    services = pos or list(p.services)
    buildable = [s for s in services if "build" in (p.services.get(s) or {})]
    if opts.get("build") and buildable:
        code = _build(p, buildable)
        if code:
            return code
    names = []
    for s in services:
        c = next((c for c in cs if c["service"] == s), None)
        recreate = opts.get("force") or (opts.get("build") and s in buildable)
        if c is None or (recreate and not opts.get("no_recreate")):  # --no-recreate still creates missing ones
            containers.recreate(p.paths, s)
        elif c["status"] != "running":
            containers.start(p.paths, c["name"])
        names.append(p.config.container_name(s))
    _progress("Running", names, "Started")
    return 0


def _build(p: Project, services: list[str]) -> int:
    err(f"[+] Building 0.0s (0/{len(services) * 9})\n")
    for s in services:
        for i, step in enumerate(["[internal] load build definition from Dockerfile",
                                  "[internal] load metadata for docker.io/library/python:3.12-slim",
                                  "[internal] load .dockerignore", "[1/6] FROM docker.io/library/python:3.12-slim",
                                  "[internal] load build context", "[2/6] WORKDIR /app",
                                  "[3/6] COPY requirements.txt .",
                                  "[4/6] RUN pip install --no-cache-dir -r requirements.txt",
                                  "[5/6] COPY . ."], start=1):
            err(f" => [{s} {step[1:] if step.startswith('[') else step}  {0.1 * i:.1f}s\n")
            if "pip install" in step and faultflags.consume(p.paths, "rebuild_fails"):
                err(f" => ERROR [{s} 4/6] RUN pip install --no-cache-dir -r requirements.txt\n"
                    "------\n > [4/6] RUN pip install --no-cache-dir -r requirements.txt:\n"
                    "ERROR: Could not find a version that satisfies the requirement celery==5.4.1 (from versions: none)\n"
                    "ERROR: No matching distribution found for celery==5.4.1\n------\n")
                return fail('failed to solve: process "/bin/sh -c pip install --no-cache-dir -r requirements.txt" '
                            "did not complete successfully: exit code: 1", 1)
            if "pip install" in step and faultflags.consume(p.paths, "rebuild_hangs"):
                _hang(s)
        err(f" => [{s}] exporting to image  0.3s\n => => naming to docker.io/library/{p.name}-{s}  0.0s\n")
    return 0


def _hang(service: str) -> NoReturn:
    """The ``rebuild_hangs`` fault: pip never finishes. The flag is already consumed and no
    lock is held, so killing the process (SIGTERM; SIGINT exits 130 in ``main``) leaves
    nothing behind: no container was touched."""
    started = time.monotonic()
    while True:
        err(f" => [{service} 4/6] RUN pip install --no-cache-dir -r requirements.txt  "
            f"{time.monotonic() - started + 0.4:.1f}s\n")
        sys.stderr.buffer.flush()
        time.sleep(1.0)


def cmd_simple(p: Project, verb: str, argv: list[str]) -> int:
    opts, pos = parse(Spec(f"docker compose {verb}", values={"-t": "timeout", "--timeout": "timeout"}), argv)
    cs = p.containers(pos)
    for c in cs:
        if verb in ("stop", "restart"):
            containers.manual_stop(p.paths, c["name"])
        if verb in ("start", "restart"):
            containers.start(p.paths, c["name"])
    label = {"stop": ("Stopping", "Stopped"), "start": ("Running", "Started"),
             "restart": ("Restarting", "Started")}[verb]
    _progress(label[0], [c["name"] for c in cs], label[1])
    return 0


def cmd_exec(p: Project, argv: list[str]) -> int:
    spec = Spec("docker compose exec", values={"-e": "env", "--env": "env", "-w": "workdir", "--workdir": "workdir",
                                               "-u": "user", "--user": "user", "--index": "index"},
                bools={"-T": "no_tty", "--no-TTY": "no_tty", "-d": "detach", "--detach": "detach",
                       "--privileged": "privileged"}, repeat={"env"}, interspersed=False)
    opts, pos = parse(spec, argv)
    if len(pos) < 2:
        return fail('"docker compose exec" requires at least 2 arguments.')
    c = p.containers([pos[0]])
    if not c:
        return fail(f"service \"{pos[0]}\" is not running")
    args = ["-i"]
    for kv in opt_strs(opts, "env"):
        args += ["-e", kv]
    if opts.get("workdir"):
        args += ["-w", str(opts["workdir"])]
    return execcmd.run(p.paths, [*args, c[0]["name"], *pos[1:]])


def run(paths: StatePaths, argv: list[str]) -> int:
    opts, rest = parse(GLOBAL, argv)
    if not rest or rest[0] in ("-h", "--help", "help"):
        out("Usage:  docker compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Docker\n")
        return 0
    sub, args = rest[0], rest[1:]
    if sub == "version":
        out("Docker Compose version v2.29.7\n")
        return 0
    p = Project(paths, opts)
    if sub == "config" and "--services" in args:
        out("".join(s + "\n" for s in p.services))
        return 0
    handlers = {"ps": cmd_ps, "logs": cmd_logs, "up": cmd_up, "exec": cmd_exec}
    if sub in handlers:
        return handlers[sub](p, args)
    if sub in ("stop", "start", "restart"):
        return cmd_simple(p, sub, args)
    return fail(f"unknown docker command: \"compose {sub}\"")


