"""Expected vs observed for each scenario: pure functions over the gathered evidence.

Inputs: the meal under test (from the Django shell: status, photos with status and the
number of items in their recognized_data, the meal's FoodItem count), the worker-log lines
since the scenario's start (host clock), and the diary (`GET /api/v1/meals/?date=`, an
OBJECT whose `meals` hold SUCCESS photos only). Output: every check with what differed and
the evidence (log lines, ids) a postmortem can cite."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbooks.packs.eatfit24.predeploy.remote import LogScan


@dataclass
class Check:
    what: str
    ok: bool
    detail: str = ""
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Outcome:
    scenario: str
    meal_id: int | None
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def differences(self) -> list[str]:
        return [f"{c.what}: {c.detail}" if c.detail else c.what for c in self.checks if not c.ok]

    def evidence(self) -> list[dict[str, Any]]:
        """Evidence of the failed checks when it failed, of every check when it passed."""
        chosen = [c for c in self.checks if not c.ok] or self.checks
        return [{"check": c.what, **e} for c in chosen for e in c.evidence]


@dataclass
class Diary:
    """What the diary API returned for the meal's date (or why it could not be read)."""

    body: dict[str, Any] | None
    error: str = ""

    def meal(self, meal_id: int) -> dict[str, Any] | None:
        return next((m for m in self.meals() if m.get("id") == meal_id), None)

    def meals(self) -> list[dict[str, Any]]:
        meals = (self.body or {}).get("meals")
        return meals if isinstance(meals, list) else []

    def photo_ids(self) -> dict[int, int | None]:
        """photo id -> meal id (None if the API gave the meal no id), over every meal of the day."""
        return {p["id"]: m.get("id") for m in self.meals() for p in (m.get("photos") or []) if isinstance(p, dict) and "id" in p}


def parse_diary(status: int, body: Any, error: str | None = None) -> Diary:
    if error:
        return Diary(None, f"diary request failed: {error}")
    if status != 200:
        return Diary(None, f"diary returned HTTP {status}")
    if not isinstance(body, dict) or not isinstance(body.get("meals"), list):
        return Diary(None, "diary response is not an object with a `meals` list")
    return Diary(body)


def _by_status(meal: dict[str, Any], status: str) -> list[dict[str, Any]]:
    return [p for p in meal.get("photos", []) if p["status"] == status]


def _status_check(meal: dict[str, Any], expected: str) -> Check:
    ok = meal["status"] == expected
    return Check(f"meal finalized {expected}", ok, "" if ok else f"meal {meal['id']} is {meal['status']}",
                 [{"meal_id": meal["id"], "status": meal["status"]}])


def _finalized_log(meal: dict[str, Any], logs: LogScan, expected: str) -> Check:
    lines = logs.finalized(meal["id"])
    good = [ln for ln in lines if f" as {expected}" in ln]
    what = f"log: Finalized meal_id={meal['id']} as {expected}"
    if good:
        return Check(what, True, evidence=[{"log": ln} for ln in good])
    detail = "no such line in the worker log since the scenario started"
    if lines:
        detail += f" (found instead: {lines[-1]})"
    return Check(what, False, detail, [{"log": ln} for ln in lines] or [{"meal_id": meal["id"], "log": None}])


def _no_results_on(photos: list[dict[str, Any]], label: str) -> Check:
    bad = [p for p in photos if p.get("items", 0) > 0]
    what = f"no results stored on {label} photos"
    if not bad:
        return Check(what, True, evidence=[{"photo_id": p["id"], "status": p["status"], "items": 0} for p in photos])
    return Check(what, False, ", ".join(f"photo {p['id']} ({p['status']}) has {p['items']} item(s) in recognized_data" for p in bad),
                 [{"photo_id": p["id"], "status": p["status"], "recognized_items": p["items"]} for p in bad])


def _items_only_from_success(meal: dict[str, Any]) -> Check:
    expected = sum(p.get("items", 0) for p in _by_status(meal, "SUCCESS"))
    have = int(meal.get("food_items", 0))
    ok = have == expected
    return Check("meal's FoodItems come only from SUCCESS photos", ok,
                 "" if ok else f"meal {meal['id']} has {have} FoodItem(s), its SUCCESS photo(s) recognized {expected}",
                 [{"meal_id": meal["id"], "food_items": have, "success_photo_items": expected}])


def _not_left_processing(meal: dict[str, Any]) -> Check:
    """A meal still PROCESSING although every photo is terminal: nothing finalized it (today's
    batch cancel does not), and the diary shows it as an empty card."""
    photos = meal.get("photos", [])
    stuck = meal.get("status") not in ("COMPLETE", "FAILED") and bool(photos) and not any(
        p["status"] in ("PENDING", "PROCESSING") for p in photos)
    statuses = {str(p["id"]): p["status"] for p in photos}
    what = "meal not left PROCESSING with every photo terminal (an empty card in the diary)"
    if not stuck:
        return Check(what, True, evidence=[{"meal_id": meal["id"], "status": meal.get("status")}])
    return Check(what, False,
                 f"meal {meal['id']} is still {meal.get('status')} with every photo terminal ({statuses}): nothing "
                 "finalized it, the diary shows it as an empty card",
                 [{"meal_id": meal["id"], "meal_status": meal.get("status"), "photo_statuses": statuses,
                   "stuck_meal": True, "shown_in_diary_as": "empty card"}])


def _diary_readable(diary: Diary) -> Check | None:
    if diary.body is None:
        return Check("diary readable", False, diary.error or "no diary response", [{"diary": diary.error}])
    return None


def _closing_checks(out: Outcome, meal: dict[str, Any], photos: list[dict[str, Any]], label: str,
                    diary: Diary) -> bool:
    """What every scenario checks before its diary checks: no results stored on `photos`,
    the meal's FoodItems only from SUCCESS photos, and the diary readable. False when it
    is not (the scenario's diary checks then cannot be made)."""
    out.checks.append(_no_results_on(photos, label))
    out.checks.append(_items_only_from_success(meal))
    bad = _diary_readable(diary)
    if bad:
        out.checks.append(bad)
    return bad is None


def verify_a(meal: dict[str, Any], logs: LogScan, diary: Diary) -> Outcome:
    out = Outcome("A", meal["id"])
    success, cancelled = _by_status(meal, "SUCCESS"), _by_status(meal, "CANCELLED")
    out.checks.append(_not_left_processing(meal))
    out.checks.append(_status_check(meal, "COMPLETE"))
    out.checks.append(_finalized_log(meal, logs, "COMPLETE"))
    ok = bool(success) and bool(cancelled)
    out.checks.append(Check(
        "partial success: >= 1 SUCCESS and >= 1 CANCELLED photo", ok,
        "" if ok else (f"SUCCESS {[p['id'] for p in success]}, CANCELLED {[p['id'] for p in cancelled]}"
                       + ("; Cancel was not exercised" if not cancelled else "")),
        [{"success_photo_ids": [p["id"] for p in success], "cancelled_photo_ids": [p["id"] for p in cancelled]}]))
    if not _closing_checks(out, meal, cancelled, "CANCELLED", diary):
        return out
    shown = diary.meal(meal["id"])
    if shown is None:
        out.checks.append(Check("diary shows the meal", False, f"meal {meal['id']} is not in the diary of {meal['date']}",
                                [{"meal_id": meal["id"], "date": meal["date"], "in_diary": False}]))
        return out
    shown_ids = sorted(p["id"] for p in shown.get("photos") or [])
    success_ids = sorted(p["id"] for p in success)
    status_of = {p["id"]: p["status"] for p in meal.get("photos", [])}
    leaked = [i for i in shown_ids if i not in success_ids]
    missing = [i for i in success_ids if i not in shown_ids]
    leaked_text = ", ".join(f"{i} ({status_of.get(i, '?')})" for i in leaked)
    detail = "; ".join(
        ([f"diary shows non-SUCCESS photo(s) {leaked_text}"] if leaked else [])
        + ([f"diary misses SUCCESS photo(s) {missing}"] if missing else []))
    out.checks.append(Check(
        "diary shows the meal with exactly its SUCCESS photo(s)", not leaked and not missing, detail,
        [{"photo_id": i, "status": status_of.get(i), "leaked_in": "diary", "meal_id": meal["id"]} for i in leaked]
        + [{"photo_id": i, "status": "SUCCESS", "missing_from": "diary"} for i in missing]
        or [{"meal_id": meal["id"], "diary_photo_ids": shown_ids}]))
    expected_items = sum(p.get("items", 0) for p in success)
    n_items = len(shown.get("items") or [])
    out.checks.append(Check("diary items come only from SUCCESS photos", n_items == expected_items,
                            "" if n_items == expected_items else f"diary lists {n_items} item(s), SUCCESS photo(s) recognized {expected_items}",
                            [{"meal_id": meal["id"], "diary_items": n_items, "success_photo_items": expected_items}]))
    return out


def verify_b(meal: dict[str, Any], logs: LogScan, diary: Diary) -> Outcome:
    out = Outcome("B", meal["id"])
    success = _by_status(meal, "SUCCESS")
    out.checks.append(_not_left_processing(meal))
    out.checks.append(_status_check(meal, "FAILED"))
    out.checks.append(_finalized_log(meal, logs, "FAILED"))
    out.checks.append(Check("no photo SUCCESS (cancelled before any result)", not success,
                            "" if not success else f"photo(s) {[p['id'] for p in success]} reached SUCCESS: Cancel came too late",
                            [{"photo_id": p["id"], "status": "SUCCESS"} for p in success]
                            or [{"photo_statuses": {str(p["id"]): p["status"] for p in meal.get("photos", [])}}]))
    if not _closing_checks(out, meal, meal.get("photos", []), "the meal's", diary):
        return out
    shown = diary.meal(meal["id"])
    empty = shown is not None and not shown.get("photos") and not shown.get("items")
    card = " as an empty card (no photo, no item)" if empty and meal["status"] not in ("COMPLETE", "FAILED") else ""
    out.checks.append(Check("meal absent from the diary", shown is None,
                            "" if shown is None else f"meal {meal['id']} ({meal['status']}) is in the diary of {meal['date']}{card}",
                            [{"meal_id": meal["id"], "date": meal["date"], "in_diary": shown is not None}]))
    return out


def verify_c(meal: dict[str, Any], logs: LogScan, diary: Diary) -> Outcome:
    out = Outcome("C", meal["id"])
    cancelled = _by_status(meal, "CANCELLED")
    out.checks.append(_not_left_processing(meal))
    if not cancelled:
        statuses = {str(p["id"]): p["status"] for p in meal.get("photos", [])}
        out.checks.append(Check("the photo was CANCELLED", False,
                                f"no CANCELLED photo in meal {meal['id']} ({statuses}): Cancel did not land during PROCESSING",
                                [{"meal_id": meal["id"], "photo_statuses": statuses}]))
        return out
    for p in cancelled:
        lines = logs.race_guard(p["id"], "CANCELLED")
        out.checks.append(Check(
            f"log: race guard for photo {p['id']}", bool(lines),
            "" if lines else (f"no '[AI] Photo {p['id']} is in terminal state CANCELLED, discarding results' line since the "
                              "scenario started: the late result was not discarded"),
            [{"log": ln} for ln in lines] or [{"photo_id": p["id"], "log": None}]))
    if not _closing_checks(out, meal, cancelled, "CANCELLED", diary):
        return out
    visible = diary.photo_ids()
    shown = [p["id"] for p in cancelled if p["id"] in visible]
    out.checks.append(Check("cancelled photo absent from the diary", not shown,
                            "" if not shown else f"diary shows cancelled photo(s) {shown}",
                            [{"photo_id": i, "status": "CANCELLED", "leaked_in": "diary", "meal_id": visible[i]} for i in shown]
                            or [{"photo_ids": [p["id"] for p in cancelled], "in_diary": False}]))
    return out


VERIFIERS = {"A": verify_a, "B": verify_b, "C": verify_c}


def expected_log_present(key: str, meal: dict[str, Any], logs: LogScan) -> bool:
    """The log evidence this scenario waits for is there (used to stop polling the log)."""
    if key == "A":
        return any(" as COMPLETE" in ln for ln in logs.finalized(meal["id"]))
    if key == "B":
        return any(" as FAILED" in ln for ln in logs.finalized(meal["id"]))
    cancelled = _by_status(meal, "CANCELLED")  # C: the late result arrived, discarded or (a bug) stored
    return bool(cancelled) and all(logs.race_guard(p["id"]) or logs.succeeded(p["id"]) for p in cancelled)
