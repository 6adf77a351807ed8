"""Ansible side of the bench: ansible.cfg (defaults + pipelining, strict host keys), an
inventory generated for the sandbox's sshd, and playbooks running the same commands:
  checklist.yml  one `shell` task per checklist command (the curl checks on localhost)
  monitor.yml    monitor.all's own three remote commands (2 filtered log scans, 1 Django shell)
                 plus its API GET (uri on localhost) -- Ansible's per-task cost on identical work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .checklist_commands import CHECKS


def write_config(out: Path) -> Path:
    """ansible.cfg under out/: everything default except pipelining; strict host keys."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = out / "ansible.cfg"
    cfg.write_text(
        "[defaults]\n"
        "host_key_checking = True\n"
        "gathering = explicit\n"
        "retry_files_enabled = False\n"
        f"local_tmp = {out / 'tmp-local'}\n"
        f"remote_tmp = {out / 'tmp-remote'}\n"
        "[ssh_connection]\n"
        "pipelining = True\n"
        f"control_path_dir = {out / 'cp'}\n"
    )
    return cfg


def write_inventory(out: Path, server: Any, python: str) -> Path:
    inv = out / "inventory.yml"
    host = {
        "ansible_host": server.host, "ansible_port": server.port, "ansible_user": server.user,
        "ansible_ssh_private_key_file": str(server.identity_file),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={server.known_hosts} -o StrictHostKeyChecking=yes",
        "ansible_python_interpreter": python,
    }
    doc = {"all": {"hosts": {"sandbox": host},
                   "children": {"local": {"hosts": {"localhost": {"ansible_connection": "local",
                                                                 "ansible_python_interpreter": python}}}}}}
    inv.write_text(yaml.safe_dump(doc, sort_keys=False))
    return inv


def checklist_playbook(out: Path, values: dict[str, str]) -> Path:
    tasks = []
    for c in CHECKS:
        t: dict[str, Any] = {"name": f"[{c.section}] {c.label}", "ansible.builtin.shell": c.render(**values),
                             "register": "r", "changed_when": False,
                             "failed_when": f"r.rc not in {list(c.ok_exit)}"}
        if c.local:
            t["delegate_to"] = "localhost"
        tasks.append(t)
    return _write(out / "checklist.yml", tasks)


def monitor_playbook(out: Path, commands: list[tuple[str, str, str | None]], api_url: str) -> Path:
    """commands: (name, shell text, stdin) as monitor.all renders them."""
    tasks: list[dict[str, Any]] = []
    for name, text, stdin in commands:
        # raw: the scan's `docker inspect --format '{{.Created}} ...'` is Go template text, not Ansible's Jinja
        t: dict[str, Any] = {"name": name, "ansible.builtin.shell": "{% raw %}" + text + "{% endraw %}",
                             "register": "r", "changed_when": False}
        if stdin is not None:
            t["args"] = {"stdin": stdin}
        tasks.append(t)
    tasks.append({"name": "API GET meals", "ansible.builtin.uri": {
        "url": api_url, "headers": {"X-Telegram-Init-Data": "{{ lookup('env', 'RUNBOOKS_SANDBOX_INIT_DATA') }}"},
        "return_content": True}, "delegate_to": "localhost", "no_log": True})
    return _write(out / "monitor.yml", tasks)


def warmup_playbook(out: Path) -> Path:
    """One trivial task: run before a warm measurement so Ansible's ControlPersist master is up."""
    return _write(out / "warmup.yml", [{"name": "warm up", "ansible.builtin.raw": "true", "changed_when": False}])


def _write(path: Path, tasks: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump([{"name": path.stem, "hosts": "sandbox", "gather_facts": False,
                                     "tasks": tasks}], sort_keys=False, width=10_000))
    return path


def environ(base: dict[str, str], out: Path) -> dict[str, str]:
    e = dict(base)
    e.update({"ANSIBLE_CONFIG": str(out / "ansible.cfg"), "ANSIBLE_HOST_KEY_CHECKING": "True",
              "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOME": str(out / "home")})
    return e
