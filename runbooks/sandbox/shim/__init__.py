"""The ``docker`` command of the sandbox (``<state>/bin/docker`` runs ``main``)."""

from runbooks.sandbox.shim.main import main

__all__ = ["main"]
