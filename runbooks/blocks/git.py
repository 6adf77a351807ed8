"""`git`: read and change a repository on the host.

    - name: head
      kind: git
      params:
        action: rev-parse          # read: rev-parse | status | log
        ref: HEAD                  # rev-parse, log (default HEAD); revert, reset: required
        # count: 10                # log: how many commits (default 10)
        # repo: /opt/app           # default: the target's project_dir
    - name: undo
      kind: git
      mutates: true                # revert and reset change the host: required
      confirm: typed
      params: {action: revert, ref: 4f2a9c1}

`reset` is `git reset --hard REF` (the working tree follows); `revert` is
`git revert --no-edit REF`. A ref that starts with `-` is refused (it would be an option).
Facts: rev-parse {"sha"}; status {"clean": bool, "changes": [lines]}; log {"commits":
[{"sha", "subject"}]}; revert/reset {"head": sha after}; always {"exit_code", "stdout"}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbooks.commands import Command
from runbooks.model import Result, StepOutcome
from runbooks.steps.base import Step, StepContext, StepGen, step_kind

READ = ("rev-parse", "status", "log")
MUTATING = ("revert", "reset")
ACTIONS = READ + MUTATING
_AFTER = " && git -C {{ repo }} rev-parse HEAD"
TEMPLATES = {
    "rev-parse": "git -C {{ repo }} rev-parse --verify {{ ref ~ '^{commit}' }}",
    "status": "git -C {{ repo }} status --porcelain --untracked-files=no",
    "log": "git -C {{ repo }} log -n {{ count }} --format=%H%x09%s {{ ref }}",
    "revert": "git -C {{ repo }} revert --no-edit {{ ref }}" + _AFTER,
    "reset": "git -C {{ repo }} reset --hard {{ ref }}" + _AFTER,
}


def command(repo: str, action: str, ref: str = "HEAD", count: int = 10, timeout: float | None = None,
            label: str = "") -> Command:
    if action not in ACTIONS:
        raise ValueError(f"action: one of {', '.join(ACTIONS)}")
    if ref.startswith("-"):
        raise ValueError(f"ref: {ref!r} looks like an option")
    return Command(template=TEMPLATES[action], vars={"repo": repo, "ref": ref, "count": int(count)},
                   mutates=action in MUTATING, timeout=timeout, label=label or f"git {action}")


def _validate(params: Mapping[str, Any]) -> None:
    action = params.get("action")
    if action not in ACTIONS:
        raise ValueError(f"action: required, one of {', '.join(ACTIONS)}")
    ref = params.get("ref")
    if action in MUTATING and ref is None:
        raise ValueError(f"ref: required for {action}")
    if ref is not None and (not isinstance(ref, str) or not ref or ref.startswith("-") or "\n" in ref):
        raise ValueError("ref: must be a commit, branch or tag (not an option)")
    count = params.get("count", 10)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
        raise ValueError("count: must be an integer from 1 to 10000")
    repo = params.get("repo")
    if repo is not None and (not isinstance(repo, str) or not repo.startswith("/")):
        raise ValueError("repo: must be an absolute path")


def facts_from(action: str, res: Result) -> dict[str, Any]:
    out = res.stdout.strip()
    facts: dict[str, Any] = {"exit_code": res.exit_code, "stdout": res.stdout}
    if action == "rev-parse":
        facts["sha"] = out.splitlines()[-1] if out else ""
    elif action == "status":
        changes = [ln for ln in res.stdout.splitlines() if ln.strip()]
        facts.update(clean=not changes, changes=changes)
    elif action == "log":
        facts["commits"] = [{"sha": sha, "subject": subject} for line in out.splitlines()
                            for sha, _, subject in [line.partition("\t")]]
    elif not res.dry_run:
        facts["head"] = out.splitlines()[-1] if out else ""
    return facts


def git_error(res: Result) -> str:
    """git's own reason (its `fatal:`/`error:` line; the usage text after it says less)."""
    lines = [ln.strip() for ln in (res.stderr or res.stdout).splitlines() if ln.strip()]
    return next((ln for ln in lines if ln.startswith(("fatal:", "error:"))), lines[-1] if lines else "no output")


def _changes(params: Mapping[str, Any]) -> str | None:
    return f"git {params['action']}" if params.get("action") in MUTATING else None


@step_kind("git", _validate, mutates=_changes)
def git(step: Step, ctx: StepContext) -> StepGen:
    p = step.params
    action = str(p["action"])
    repo = str(p.get("repo") or ctx.target.project_dir)
    if not repo:
        return StepOutcome(status="failed", message=f"repo: the target {ctx.target.name} has no project_dir",
                           cannot_run=True)
    res = yield command(repo, action, str(p.get("ref", "HEAD")), int(p.get("count", 10)), timeout=step.timeout,
                        label=step.name)
    assert isinstance(res, Result)
    facts = facts_from(action, res)
    if res.timed_out:
        return StepOutcome(status="timeout", message=f"git {action} timed out", facts=facts)
    if res.exit_code != 0:
        return StepOutcome(status="failed", message=f"git {action} exited {res.exit_code}: {git_error(res)[:200]}",
                           facts=facts)
    if res.dry_run:
        return StepOutcome(status="ok", message="dry-run: not run", facts=facts)
    summary = {"rev-parse": lambda: facts["sha"], "log": lambda: f"{len(facts['commits'])} commit(s)",
               "status": lambda: "clean" if facts["clean"] else f"{len(facts['changes'])} uncommitted change(s)"}
    msg = summary[action]() if action in summary else f"HEAD is now {facts.get('head', '')[:12]}"
    return StepOutcome(status="ok", message=msg, facts=facts)
