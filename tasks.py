"""Invoke entry point: `inv --list`. Thin: the namespace lives in runbooks/tasks/."""

from runbooks.tasks import ns  # noqa: F401
