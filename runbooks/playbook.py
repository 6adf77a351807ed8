"""The playbook model and parser live in runbooks/lang/ (this name stays for importers)."""

from runbooks.lang.model import Playbook, Step
from runbooks.lang.parse import load_playbook, parse_playbook
from runbooks.resources import playbooks_dir

__all__ = ["Playbook", "Step", "load_playbook", "parse_playbook", "playbooks_dir"]
