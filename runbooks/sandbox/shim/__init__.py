"""The ``docker`` command of the sandbox (``<state>/bin/docker`` runs ``main``)."""

from .main import main

__all__ = ["main"]
