"""What the eatfit24 playbooks need of a target, and the variables they get from it.

The core knows targets generically (how to connect, `containers`, `project_dir`, host
variables). The eatfit24 playbooks need the backend's and the worker's containers (the
Django shell runs in the backend, the Celery worker is stopped and restarted), rollback and
doctor need the project dir, and they read `{{ backend }}`, `{{ worker }}` and the compose
service names. Checked before connecting: a missing key is one line naming it, exit 3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runbooks.errors import ConfigError

if TYPE_CHECKING:
    from runbooks.config import Target

ROLES = ("backend", "worker")
DEFAULT_SERVICES = {"backend": "backend", "worker": "celery-worker"}
# step kind prefix -> what its playbook needs beyond the containers
NEEDS_PROJECT_DIR = {"monitor": False, "predeploy": False, "rollback": True, "doctor": True}
PLAYBOOKS = "the eatfit24 playbooks (monitor, rollback, predeploy, doctor)"


def require(target: "Target", project_dir: bool = False) -> None:
    where = f"{target.source}: " if target.source else ""
    for role in ROLES:
        if role not in target.containers:
            raise ConfigError(f"{where}targets.{target.name}.containers.{role}: required key is missing "
                              f"({PLAYBOOKS} run Django and Celery in these containers)")
    if project_dir and not target.project_dir:
        raise ConfigError(f"{where}targets.{target.name}.project_dir: required key is missing "
                          "(rollback and doctor work in the project's git checkout on the host)")


def variables(target: "Target", kind: str = "monitor") -> dict[str, Any]:
    """The run's eatfit24 variables for a playbook of step kinds `kind.*`; ConfigError when
    the target lacks what they need."""
    require(target, NEEDS_PROJECT_DIR.get(kind.split(".", 1)[0], True))
    return {
        "backend": target.containers["backend"],
        "worker": target.containers["worker"],
        "compose_services": {**DEFAULT_SERVICES, **target.compose_services},
    }
