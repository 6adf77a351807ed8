"""The `runbooks` console script: the same task namespace as `inv`, usable outside the repo."""

from __future__ import annotations

from invoke import Program

from . import __version__
from .tasks import ns

program = Program(namespace=ns, version=__version__, name="runbooks", binary="runbooks")


def main() -> None:
    program.run()
