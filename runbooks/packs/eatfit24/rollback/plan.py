"""The rollback plan: every step that will run, with every command fully rendered, shown
(and recorded) before anything mutates. Built from the same builders the steps use."""

from __future__ import annotations

from typing import Any

from runbooks.packs.eatfit24.rollback import cmds, djshell, lock

DJANGO_NOTE = "  (script templates/{name} on stdin)"


def build(v: dict[str, Any], pf: dict[str, Any]) -> list[dict[str, Any]]:
    """[{step, what, commands: [display]}] for the steps this run will execute."""
    full = pf.get("commit_full") or v["commit"]
    reset_full = pf.get("reset_full")
    start = v.get("start_at")
    order = ["stop-worker", "check-affected", "git-revert", "rebuild", "cleanup", "verify"]
    wanted = order[order.index(start):] if start in order else order
    cleanup_params = {"apply": True, "photo_ids": [], "meal_ids": [], "older_than_s": 60, "selection": "",
                      "error_code": "", "error_message": ""}
    steps: dict[str, tuple[str, list[str]]] = {
        "stop-worker": ("stop processing new AI tasks; then check the worker's real state",
                        [cmds.stop_worker(v).display(), cmds.worker_state(v).display()]),
        "check-affected": ("meals/photos in PROCESSING, with ids (read-only)",
                           [djshell.command(v["backend"], "rollback_affected.py.j2", {"limit": 200}).display()
                            + DJANGO_NOTE.format(name="rollback_affected.py.j2")]),
        "rebuild": ("rebuild and recreate backend + worker (output streamed)", [cmds.rebuild(v).display()]),
        "cleanup": ("mark stuck PROCESSING photos FAILED and finalize their meals, one transaction",
                    [djshell.command(v["backend"], "rollback_cleanup.py.j2", cleanup_params).display()
                     + DJANGO_NOTE.format(name="rollback_cleanup.py.j2") + " (count, confirm, then apply)"]),
        "verify": ("containers running, HEAD is the rollback, worker ready, then the monitor P0 checks",
                   [cmds.container_states(v).display(), cmds.head(v).display(), cmds.worker_ready(v).display()]),
    }
    if reset_full:
        steps["git-revert"] = (f"HARD RESET to {reset_full} (typed confirmation)",
                               [cmds.head(v).display(), cmds.reset_hard(v, reset_full).display()])
    elif pf.get("already_reverted"):
        steps["git-revert"] = (f"skip: HEAD already reverts {full}", [cmds.head(v).display()])
    else:
        ident = None if pf.get("git_identity") else cmds.identity_for(v)
        steps["git-revert"] = (f"revert {full} ({pf.get('commit_subject', '')})",
                               [cmds.head(v).display(), cmds.revert(v, full, ident).display()])
    out = []
    for name in wanted:
        if name == "cleanup" and not v.get("cleanup"):
            continue
        what, commands = steps[name]
        out.append({"step": name, "what": what, "commands": commands})
    out.append({"step": "host-state", "what": "always: HEAD and container states after the run",
                "commands": [cmds.head(v).display(), cmds.container_states(v).display()]})
    out.append({"step": "release-lock", "what": "always: release the lock this run took",
                "commands": [lock.release(v, v.get("lock_token", "<token>")).display()]})
    return out


def render(plan: list[dict[str, Any]], v: dict[str, Any], pf: dict[str, Any]) -> str:
    lines = [f"PLAN: roll back {pf.get('commit_full') or v['commit']} on {v['target']} ({v['project_dir']}); "
             f"HEAD now {pf.get('head', '?')}"]
    for i, item in enumerate(plan, 1):
        lines.append(f"  {i}. {item['step']}: {item['what']}")
        lines.extend(f"       $ {c}" for c in item["commands"])
    return "\n".join(lines)
