"""``docker stop|start|restart CONTAINER...``: like ``compose stop|start|restart`` on one
container, by name or id prefix. ``stop`` ignores the restart policy (a task the live worker
is running dies with the container: its photo stays PROCESSING)."""

from __future__ import annotations

from runbooks.sandbox import containers
from runbooks.sandbox.paths import StatePaths
from runbooks.sandbox.shim.flags import Spec, parse
from runbooks.sandbox.shim.io import fail, no_such_container, out


def run(paths: StatePaths, verb: str, argv: list[str]) -> int:
    _, pos = parse(Spec(f"docker {verb}", values={"-t": "timeout", "--time": "timeout", "-s": "signal",
                                                  "--signal": "signal"}), argv)
    if not pos:
        return fail(f'"docker {verb}" requires at least 1 argument.\nSee \'docker {verb} --help\'.')
    code = 0
    for ref in pos:
        c = containers.find(paths, ref)
        if c is None:
            no_such_container(ref)
            code = 1
            continue
        if verb in ("stop", "restart"):
            containers.manual_stop(paths, c["name"])
        if verb in ("start", "restart"):
            containers.start(paths, c["name"])
        out(ref + "\n")
    return code
