"""Reading the gathered facts for the checks: a DB part, the API result, a container's log
summary, and why any of them is missing or covers less than the window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Facts = Mapping[str, Any]


def db_part(facts: Facts, part: str) -> tuple[Any, str | None]:
    db = facts.get("db") or {}
    if part in db:
        return db[part], None
    why = (db.get("skipped") or {}).get(part) or (db.get("skipped") or {}).get("all")
    return None, f"DB check {part!r} could not run: {why}" if why else f"DB check {part!r} not in the result"


def api_state(facts: Facts) -> tuple[Mapping[str, Any] | None, str]:
    api = facts.get("api")
    if api is None:
        return None, (facts.get("errors") or {}).get("api") or "API check not run"
    if not api.get("evaluated"):
        return None, api.get("reason") or "API check skipped"
    return api, ""


def logs(facts: Facts, part: str) -> tuple[Mapping[str, Any] | None, str]:
    lg = facts.get(part)
    if lg is None:
        return None, (facts.get("errors") or {}).get(part) or f"{part.replace('_', ' ')} not gathered"
    return lg, ""


def partial(facts: Facts, part: str) -> str:
    """Why a log source covers less than the window ("" when it covers all of it)."""
    cov = (facts.get("coverage") or {}).get(part) or {}
    return str(cov.get("reason") or "partial window") if cov.get("status") == "partial" else ""


def block_evidence(block: Mapping[str, Any]) -> dict[str, Any]:
    lines = block.get("lines", [])
    return {"container": block.get("container"), "ts": block.get("first_ts"), "lines": lines[:14]}
