"""The `runbooks` console script: the same task namespace as `inv`, usable outside the repo."""

from __future__ import annotations

from invoke import Program
from invoke.exceptions import Exit

from runbooks import __version__
from runbooks.tasks import ns
from runbooks.tasks.flags import CANNOT_RUN


class RunbooksProgram(Program):
    def update_config(self, merge: bool = True) -> None:
        # Refused before Invoke asks for a sudo password nobody will use (the tasks refuse
        # the other core flags themselves, identically under `inv`).
        if self.args["prompt-for-sudo-password"].value:
            import sys

            sys.stderr.write("error: --prompt-for-sudo-password: an Invoke flag for c.sudo(), which runbooks does "
                             "not use; it has no meaning here. Nothing was run.\n")
            raise Exit(code=CANNOT_RUN)
        super().update_config(merge)


program = RunbooksProgram(namespace=ns, version=__version__, name="runbooks", binary="runbooks")


def main() -> None:
    program.run()
