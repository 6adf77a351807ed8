"""Which meal is under test: the test user's meal created after the scenario started.

Never guessed: exactly one candidate is taken; none or several are reported with the
candidates (the operator is asked to choose in operator mode)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIVE = ("PENDING", "PROCESSING")


@dataclass
class Pick:
    meal: dict[str, Any] | None
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problem(self) -> str:
        """'' when one meal fits, else 'none' or 'several'."""
        if self.meal is not None:
            return ""
        return "several" if self.candidates else "none"


def pick_meal(meals: list[dict[str, Any]]) -> Pick:
    if len(meals) == 1:
        return Pick(meals[0], list(meals))
    return Pick(None, list(meals))


def settled(meal: dict[str, Any]) -> bool:
    """Finalization ran: the meal is COMPLETE/FAILED and none of its photos is still active."""
    return meal.get("status") in ("COMPLETE", "FAILED") and not any(p["status"] in ACTIVE for p in meal.get("photos", []))


def emptied(meal: dict[str, Any]) -> bool:
    """Not finalized although no photo is active: what only a missed finalization leaves
    (the batch cancel of today's backend does not finalize): an empty card in the diary."""
    photos = meal.get("photos", [])
    return meal.get("status") not in ("COMPLETE", "FAILED") and bool(photos) and not any(p["status"] in ACTIVE for p in photos)


def describe(meal: dict[str, Any]) -> str:
    photos = meal.get("photos", [])
    counts: dict[str, int] = {}
    for p in photos:
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    by_status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return (f"meal {meal['id']} ({meal.get('meal_type', '?')} {meal.get('date', '?')}, {meal.get('status')}, "
            f"{len(photos)} photo(s){': ' + by_status if by_status else ''}, created {meal.get('created_at')})")


def choose(meals: list[dict[str, Any]], answer: str) -> dict[str, Any] | None:
    """The candidate whose id the operator typed, or None."""
    text = answer.strip().lstrip("#")
    return next((m for m in meals if str(m["id"]) == text), None)
