"""``docker ps``, ``docker inspect``, ``docker version``."""

from __future__ import annotations

import json
import time
from typing import Any

from runbooks.sandbox import containers
from runbooks.sandbox.paths import StatePaths
from runbooks.sandbox.shim.flags import Spec, opt_str, opt_strs, parse
from runbooks.sandbox.shim.gotemplate import TemplateError, render, table_header
from runbooks.sandbox.shim.io import fail, out
from runbooks.sandbox.timefmt import stamp_to_ns

PS_SPEC = Spec("docker ps", values={"--format": "format", "-f": "filter", "--filter": "filter", "-n": "last"},
               bools={"-a": "all", "--all": "all", "-q": "quiet", "--quiet": "quiet",
                      "--no-trunc": "no_trunc", "-s": "size", "-l": "latest"}, repeat={"filter"})
INSPECT_SPEC = Spec("docker inspect", values={"--format": "format", "-f": "format", "--type": "type"},
                    bools={"-s": "size", "--size": "size"})
VERSION = "27.3.1"
HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
           "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
           "Names": "NAMES", "Labels": "LABELS", "Service": "SERVICE", "Name": "NAME",
           "Project": "PROJECT", "Size": "SIZE", "Networks": "NETWORKS"}


def _ago(stamp: str) -> float:
    return time.time() - stamp_to_ns(stamp) / 1e9


def status_text(c: dict[str, Any]) -> str:
    if c["status"] == "running":
        return f"Up {containers.human_duration(_ago(c['started_at']))}"
    return f"Exited ({c['exit_code']}) {containers.human_duration(_ago(c['finished_at']))} ago"


def labels(c: dict[str, Any]) -> dict[str, str]:
    return {"com.docker.compose.project": c["project"], "com.docker.compose.service": c["service"],
            "com.docker.compose.container-number": "1", "com.docker.compose.oneoff": "False"}


def ps_row(c: dict[str, Any]) -> dict[str, Any]:
    cmd = c["command"]
    created = time.localtime(stamp_to_ns(c["created_at"]) / 1e9)
    return {
        "Command": json.dumps(cmd if len(cmd) <= 20 else cmd[:19] + "…", ensure_ascii=False),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S %z %Z", created),
        "ID": c["id"][:12], "Image": c["image"],
        "Labels": ",".join(f"{k}={v}" for k, v in labels(c).items()),
        "LocalVolumes": "0", "Mounts": "", "Names": c["name"],
        "Networks": f"{c['project']}_default", "Ports": c["ports"] if c["status"] == "running" else "",
        "RunningFor": f"{containers.human_duration(_ago(c['created_at']))} ago", "Size": "0B",
        "State": c["status"], "Status": status_text(c),
    }


def inspect_obj(c: dict[str, Any]) -> dict[str, Any]:
    running = c["status"] == "running"
    return {
        "Id": c["id"], "Created": c["created_at"], "Path": c["command"].split()[0],
        "Args": c["command"].split()[1:],
        "State": {"Status": c["status"], "Running": running, "Paused": False, "Restarting": False,
                  "OOMKilled": bool(c.get("oom_killed")), "Dead": False,
                  "Pid": c["pid"] if running else 0, "ExitCode": 0 if running else c["exit_code"],
                  "Error": "", "StartedAt": c["started_at"], "FinishedAt": c["finished_at"]},
        "Image": "sha256:" + c["id"][::-1], "Name": "/" + c["name"],
        "RestartCount": c["restart_count"],
        "HostConfig": {"RestartPolicy": {"Name": c["restart_policy"], "MaximumRetryCount": 0}},
        "Config": {"Hostname": c["id"][:12], "Image": c["image"], "Cmd": c["command"].split(),
                   "WorkingDir": "/app", "Labels": labels(c),
                   "Env": ["DJANGO_SETTINGS_MODULE=config.settings", "TZ=UTC"]},
        "NetworkSettings": {"Networks": {f"{c['project']}_default": {}}},
    }


def _filters(rows: list[dict[str, Any]], filters: list[str]) -> list[dict[str, Any]]:
    for f in filters:
        key, _, value = f.partition("=")
        if key == "name":
            rows = [r for r in rows if value in r["name"]]
        elif key == "status":
            rows = [r for r in rows if r["status"] == value]
        elif key == "label":
            k, _, v = value.partition("=")
            rows = [r for r in rows if k in labels(r) and (not v or labels(r)[k] == v)]
        else:
            raise ValueError(f"invalid filter '{key}'")
    return rows


def print_rows(rows: list[dict[str, Any]], fmt: str | None, columns: list[str]) -> int:
    try:
        if fmt in ("json",):
            out("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows))
        elif fmt and fmt != "table":
            table = fmt.startswith("table ")
            body = fmt[6:] if table else fmt
            lines = [table_header(body, HEADERS)] if table else []
            lines += [render(body, r) for r in rows]
            out("".join(line + "\n" for line in lines))
        else:
            _table(rows, columns)
    except TemplateError as e:
        return fail(f"template parsing error: template: :1: {e}")
    return 0


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    head = [HEADERS.get(c, c.upper()) for c in columns]
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(h)] + [len(x[i]) for x in cells]) for i, h in enumerate(head)]
    for line in [head] + cells:
        out("   ".join(v.ljust(widths[i]) for i, v in enumerate(line)).rstrip() + "\n")


def ps(paths: StatePaths, argv: list[str]) -> int:
    opts, pos = parse(PS_SPEC, argv)
    if pos:
        return fail('"docker ps" accepts no arguments.\nSee \'docker ps --help\'.\n\nUsage:  docker ps [OPTIONS]')
    cs = list(containers.load(paths).values())
    if not opts.get("all"):
        cs = [c for c in cs if c["status"] == "running"]
    try:
        cs = _filters(cs, opt_strs(opts, "filter"))
    except ValueError as e:
        return fail(f"Error response from daemon: {e}")
    cs.sort(key=lambda c: c["created_at"], reverse=True)
    if opts.get("quiet"):
        out("".join(c["id"][:12] + "\n" for c in cs))
        return 0
    return print_rows([ps_row(c) for c in cs], opt_str(opts, "format"),
                      ["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"])


def inspect(paths: StatePaths, argv: list[str], kind: str = "object") -> int:
    opts, pos = parse(INSPECT_SPEC, argv)
    if not pos:
        return fail('"docker inspect" requires at least 1 argument.\nSee \'docker inspect --help\'.')
    objs, missing = [], []
    for ref in pos:
        c = containers.find(paths, ref)
        (objs.append(inspect_obj(c)) if c else missing.append(ref))
    fmt = opts.get("format")
    if fmt:
        try:
            for o in objs:
                out(render(str(fmt), o) + "\n")
        except TemplateError as e:
            return fail(f"template parsing error: template: :1: {e}")
    else:
        out(json.dumps(objs, indent=4, ensure_ascii=False) + "\n")
    for ref in missing:
        fail(f"Error: No such {kind}: {ref}")
    return 1 if missing else 0


def version(argv: list[str]) -> int:
    info: dict[str, dict[str, Any]]
    info = {"Client": {"Version": VERSION, "ApiVersion": "1.47", "GoVersion": "go1.22.7", "Os": "linux",
                       "Arch": "amd64", "GitCommit": "ce12230"},
            "Server": {"Version": VERSION, "ApiVersion": "1.47", "MinAPIVersion": "1.24",
                       "Os": "linux", "Arch": "amd64", "GitCommit": "41ca978",
                       "Platform": {"Name": "Docker Engine - Community (runbooks sandbox)"}}}
    opts, _ = parse(Spec("docker version", values={"--format": "format", "-f": "format"}), argv)
    if opts.get("format"):
        try:
            out(render(str(opts["format"]), info) + "\n")
        except TemplateError as e:
            return fail(f"template parsing error: template: :1: {e}")
        return 0
    c, s = info["Client"], info["Server"]
    out(f"Client:\n Version:           {c['Version']}\n API version:       {c['ApiVersion']}\n"
        f" Go version:        {c['GoVersion']}\n Git commit:        {c['GitCommit']}\n OS/Arch:           linux/amd64\n\n"
        f"Server: {s['Platform']['Name']}\n Engine:\n  Version:          {s['Version']}\n"
        f"  API version:      {s['ApiVersion']} (minimum version 1.24)\n  Git commit:       {s['GitCommit']}\n"
        f"  OS/Arch:          linux/amd64\n")
    return 0


