"""`inv sandbox.*`: thin wrappers over runbooks.sandbox.cli."""

from __future__ import annotations

import sys
from typing import Any

from invoke import Collection

from runbooks.tasks.flags import task

STATE = "sandbox state dir (default: $RUNBOOKS_SANDBOX_STATE or ./.runbooks/sandbox)"


def _cli() -> Any:
    """runbooks.sandbox.cli, or one line and exit 3 when the sandbox extra is not installed."""
    from runbooks import sandbox
    from runbooks.errors import ConfigError

    try:
        sandbox.require()
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        raise SystemExit(exc.exit_code) from None
    from runbooks.sandbox import cli

    return cli


def _exit(code: int) -> None:
    sys.stdout.flush()
    if code:
        raise SystemExit(code)


@task(help={"state": STATE, "ssh": "also serve it through a real OpenSSH sshd on 127.0.0.1 (writes <state>/runbooks.yaml)",
            "seed": "generate a realistic healthy day on first start (default on)"})
def up(c, state=None, ssh=False, seed=True):
    """Start the simulated eatfit24 host (idempotent)."""
    cli = _cli()
    _exit(cli.up(state, ssh=ssh, seed=seed))


@task(help={"state": STATE})
def down(c, state=None):
    """Stop the sandbox's processes (state is kept)."""
    cli = _cli()
    _exit(cli.down(state))


@task(help={"state": STATE, "json": "print the status as JSON"})
def status(c, state=None, json=False):
    """Is it up; API address; container states; active faults."""
    cli = _cli()
    _exit(cli.status(state, as_json=json))


@task(help={"state": STATE, "seed": "seed a healthy day after the wipe (default on)"})
def reset(c, state=None, seed=True):
    """Wipe the sandbox state and start fresh."""
    cli = _cli()
    _exit(cli.reset(state, seed=seed))


@task(help={"name": "A, B or C (the checklist's staging scenarios)", "state": STATE})
def scenario(c, name, state=None):
    """Play a checklist scenario through the cancel-flow services."""
    cli = _cli()
    _exit(cli.scenario(name, state))


@task(help={"seed": "random seed (same seed, same day)", "meals": "number of meal journeys", "state": STATE})
def traffic(c, seed=24, meals=200, state=None):
    """Generate a realistic day of traffic ending now."""
    cli = _cli()
    _exit(cli.traffic(int(seed), int(meals), state))


@task(help={"fault": "fault name (omit to list them)", "state": STATE})
def inject(c, fault=None, state=None):
    """Inject a fault a monitor check exists for; prints its exact evidence."""
    cli = _cli()
    _exit(cli.inject(fault, state))


@task(help={"state": STATE})
def truth(c, state=None):
    """Ground truth: DB counts beside log line counts."""
    cli = _cli()
    _exit(cli.truth(state))


ns = Collection("sandbox", up, down, status, reset, scenario, traffic, inject, truth)
