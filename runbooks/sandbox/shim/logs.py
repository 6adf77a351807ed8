"""``docker logs`` over the json-file logs: moby's order (tail, then since/until), ``-t``
stamps, stdout/stderr split, ``-f`` polling until the container stops or we are killed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from runbooks.sandbox import containers
from runbooks.sandbox.logfile import Record, decode, read_records
from runbooks.sandbox.paths import StatePaths
from runbooks.sandbox.shim.flags import Spec, UsageError, opt_str, parse
from runbooks.sandbox.shim.io import fail, no_such_container
from runbooks.sandbox.timefmt import TimeValueError, ns_to_docker, parse_docker_time

SPEC = Spec("docker logs", values={"--tail": "tail", "-n": "tail", "--since": "since", "--until": "until"},
            bools={"-t": "timestamps", "--timestamps": "timestamps", "-f": "follow", "--follow": "follow",
                   "--details": "details"})


def parse_tail(value: str | None) -> int | None:
    """``all``, negative or unparsable -> everything (moby: Atoi error -> -1)."""
    if value is None or value == "all":
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return None if n < 0 else n


def bounds(opts: dict) -> tuple[str | None, str | None]:
    now = time.time_ns()
    since = until = None
    if opts.get("since"):
        try:
            since = ns_to_docker(parse_docker_time(str(opts["since"]), now))
        except TimeValueError as e:
            raise UsageError(f'invalid value for "since": {e}', 1) from e
    if opts.get("until"):
        try:
            until = ns_to_docker(parse_docker_time(str(opts["until"]), now))
        except TimeValueError as e:
            raise UsageError(f'invalid value for "until": {e}', 1) from e
    return since, until


class Printer:
    def __init__(self, timestamps: bool, prefix: str = "", merge_stderr: bool = False) -> None:
        self.timestamps, self.prefix, self.merge = timestamps, prefix, merge_stderr
        self.stdout, self.stderr = sys.stdout.buffer, sys.stderr.buffer

    def __call__(self, rec: Record) -> None:
        text = rec.text if rec.text.endswith("\n") else rec.text + "\n"
        line = f"{self.prefix}{rec.stamp + ' ' if self.timestamps else ''}{text}".encode()
        (self.stdout if rec.stream == "stdout" or self.merge else self.stderr).write(line)

    def flush(self) -> None:
        self.stdout.flush()
        self.stderr.flush()


def follow(paths: StatePaths, name: str, path: Path, offset: int, emit: Printer,
           until: str | None) -> int:
    """Poll the file for new lines; stop when the container stops or is replaced."""
    ino = path.stat().st_ino if path.exists() else None
    buf = b""
    last_check = 0.0
    while True:
        try:
            st = path.stat()
        except FileNotFoundError:
            return 0
        if st.st_ino != ino or st.st_size < offset:
            return 0  # container recreated: its log is gone
        if st.st_size > offset:
            with open(path, "rb") as fh:
                fh.seek(offset)
                chunk = fh.read(st.st_size - offset)
            offset += len(chunk)
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                if not raw.strip():
                    continue
                rec = decode(raw.decode("utf-8", "replace"))
                if until is not None and rec.stamp > until:
                    return 0
                emit(rec)
            emit.flush()
        now = time.monotonic()
        if now - last_check > 0.5:
            last_check = now
            if not containers.is_running(paths, name):
                return 0
        time.sleep(0.1)


def run(paths: StatePaths, argv: list[str]) -> int:
    opts, pos = parse(SPEC, argv)
    if len(pos) != 1:
        return fail('"docker logs" requires exactly 1 argument.\nSee \'docker logs --help\'.\n\n'
                    "Usage:  docker logs [OPTIONS] CONTAINER\n\nFetch the logs of a container")
    c = containers.find(paths, pos[0])
    if c is None:
        return no_such_container(pos[0])
    since, until = bounds(opts)
    path = paths.log_file(c["name"])
    size = path.stat().st_size if path.exists() else 0
    emit = Printer(bool(opts.get("timestamps")))
    for rec in read_records(path, parse_tail(opt_str(opts, "tail")), since, until):
        emit(rec)
    emit.flush()
    if opts.get("follow") and c["status"] == "running":
        return follow(paths, c["name"], path, size, emit, until)
    return 0
