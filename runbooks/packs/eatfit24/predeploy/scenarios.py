"""The checklist's Pre-Deploy scenarios as data (monitoring-checklist.md, "Pre-Deploy")."""

from __future__ import annotations

from dataclasses import dataclass

# The checklist's budget for the whole pre-deploy run ("Staging E2E Tests (5 minutes)").
BUDGET_SECONDS = 300


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    ui_steps: tuple[str, ...]
    expected: tuple[str, ...]
    meal_status: str  # what the meal must be finalized as
    finding_id: str

    @property
    def step_name(self) -> str:
        return f"scenario-{self.key.lower()}"


SCENARIOS: dict[str, Scenario] = {
    "A": Scenario(
        key="A",
        title="Partial Success -> Cancel -> Done",
        ui_steps=("Upload 3 photos", "Wait for the 1st photo to be SUCCESS", "Click Cancel", "Click Done"),
        expected=(
            "worker log: [MealService] Finalized meal_id=<id> as COMPLETE (after the start)",
            "diary shows the meal with exactly its SUCCESS photo(s)",
            "cancelled photos not visible; no items from them (no results stored on them)",
        ),
        meal_status="COMPLETE",
        finding_id="predeploy_scenario_a",
    ),
    "B": Scenario(
        key="B",
        title="All Cancelled",
        ui_steps=("Upload 2 photos", "Click Cancel immediately (before any SUCCESS)", "Open the diary"),
        expected=(
            "worker log: [MealService] Finalized meal_id=<id> as FAILED (after the start)",
            "the meal does NOT appear in the diary",
        ),
        meal_status="FAILED",
        finding_id="predeploy_scenario_b",
    ),
    "C": Scenario(
        key="C",
        title="Cancel Race (Late SUCCESS)",
        ui_steps=("Upload 1 photo", "Click Cancel while it is PROCESSING", "Wait for the AI task to complete",
                  "Open the diary"),
        expected=(
            "worker log: [AI] Photo <id> is in terminal state CANCELLED, discarding results (race condition guard)",
            "the cancelled photo is NOT visible in the diary",
            "no results stored on it (recognized_data has no items)",
        ),
        meal_status="FAILED",
        finding_id="predeploy_scenario_c",
    ),
}


def parse_selection(value: str | None) -> list[str]:
    """`--scenario A`, `a,c` or nothing (all). Raises ValueError naming the bad part."""
    if not value:
        return list(SCENARIOS)
    keys: list[str] = []
    for part in value.replace(" ", "").split(","):
        key = part.upper()
        if key not in SCENARIOS:
            raise ValueError(f"--scenario: unknown scenario {part!r} (choose from A, B, C, or a comma list)")
        if key not in keys:
            keys.append(key)
    return keys
