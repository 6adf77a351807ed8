"""What the rollback's step modules share: output excerpts, git's revert message and HEAD
parsing, the preflight's facts, the read-only query of in-flight rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runbooks.model import Result
from runbooks.packs.eatfit24.rollback import djshell
from runbooks.steps.base import StepContext

AFFECTED_LIMIT = 200
STUCK_AFTER_S = 60  # DESIGN.md's stuck threshold, for cleanup without check-affected ids


def tail(res: Result, limit: int = 300) -> str:
    text = (res.stderr or res.stdout or "").strip()
    return text[-limit:] if text else "(no output)"


def short(sha: str | None) -> str:
    return (sha or "?")[:12]


def reverts(body: str, full_sha: str) -> bool:
    """git's revert message says `This reverts commit <full sha>.`"""
    return f"This reverts commit {full_sha}" in (body or "")


def parse_head(stdout: str) -> tuple[str, str]:
    """`git log -1 --format=%H%n--body--%n%B` -> (sha, body)."""
    sha, _, body = (stdout or "").partition("\n--body--\n")
    return sha.strip(), body


def preflight_facts(ctx: StepContext) -> Mapping[str, Any]:
    return ctx.facts.get("preflight") or {}


def conflict_lines(text: str) -> list[str]:
    """git's `CONFLICT (...)` lines, as git printed them."""
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip().startswith("CONFLICT (")]


def affected_cmd(v: dict[str, Any]) -> Any:
    return djshell.command(v["backend"], "rollback_affected.py.j2", {"limit": AFFECTED_LIMIT},
                           label="django shell: PROCESSING meals/photos (read-only)", timeout=180)


def no_params(params: Mapping[str, Any]) -> None:
    if params:
        raise ValueError(f"{sorted(params)[0]}: this step kind takes no params")
