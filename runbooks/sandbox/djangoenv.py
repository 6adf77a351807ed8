"""Boot the sandbox's Django project inside the current process and point it at a state dir.

Django can be set up once per process, but the simulator and the tests work on many state
dirs; ``activate`` re-points the default database connection (and the env var the app reads
at call time) instead of re-configuring Django.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from runbooks.sandbox.paths import BACKEND_DIR, PACKAGE_ROOT, STATE_ENV, StatePaths

_active: Path | None = None
IN_CONTAINER_ENV = "RUNBOOKS_SANDBOX_IN_CONTAINER"


def backend_env(state: Path) -> dict[str, str]:
    """Environment of processes "inside" the backend container."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        STATE_ENV: str(state),
        "PYTHONPATH": os.pathsep.join([str(BACKEND_DIR), str(PACKAGE_ROOT)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        # the app's code as deployed in the container: the `schema_changed` fault applies here
        # (never to the sandbox's own simulator, which must keep injecting meanwhile)
        IN_CONTAINER_ENV: "1",
    }


def activate(state: Path) -> StatePaths:
    """Make this process's Django use ``state``'s database; returns its paths."""
    global _active
    paths = StatePaths(state)
    os.environ[STATE_ENV] = str(paths.root)
    if str(BACKEND_DIR) not in sys.path:
        sys.path.insert(0, str(BACKEND_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    if _active != paths.root:
        from django.db import connections

        conn = connections["default"]
        conn.close()
        conn.settings_dict["NAME"] = str(paths.db)
        _active = paths.root
    return paths


def current_state() -> Path:
    """State dir the app code serves right now (read at call time, see module doc)."""
    return Path(os.environ.get(STATE_ENV) or ".runbooks/sandbox").resolve()
