"""The Django-shell script, rendered and RUN for real: the sandbox's Django project
(eatfit24's models on SQLite) through `python manage.py shell --no-imports -c <boot>` with
the script on stdin, exactly as `docker exec -i <backend> ...` runs it. Known rows in,
parsed facts out."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jinja2
import pytest

from runbooks.packs.eatfit24.monitor.gather import DB_TEMPLATE_NAME, DJANGO_BOOT, db_params, render_db_script
from runbooks.packs.eatfit24.monitor.parse import extract_result
from runbooks.packs.eatfit24.monitor.window import parse_since
from runbooks.resources import templates_dir

pytest.importorskip("django")
djangoenv = pytest.importorskip("runbooks.sandbox.djangoenv")
from runbooks.sandbox.paths import BACKEND_DIR, StatePaths  # noqa: E402

SEED = r'''
import json
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from apps.nutrition.models import CancelEvent, FoodItem, Meal, MealPhoto

now = timezone.now()
today = timezone.localdate()
U = get_user_model()
u1, u2, u3 = (U.objects.create(username=n) for n in ("u1", "u2", "u3"))
ITEMS = {"items": [{"name": "rice"}], "totals": {}, "meta": {}}
ids = {}

def meal(user, status, ago=600):
    return Meal.objects.create(user=user, meal_type="LUNCH", date=today, status=status, created_at=now - timedelta(seconds=ago))

def photo(m, status, ago=300, data=None):
    return MealPhoto.objects.create(meal=m, image="x.jpg", status=status, recognized_data=data or {},
                                    created_at=now - timedelta(seconds=ago))

a = meal(u1, "COMPLETE"); ids["p_ok"] = photo(a, "SUCCESS", data=ITEMS).id
ids["p_leak"] = photo(a, "CANCELLED", data=ITEMS).id; photo(a, "CANCELLED")
FoodItem.objects.create(meal=a, name="rice")
b = meal(u1, "COMPLETE"); ids["meal_b"] = b.id
photo(b, "CANCELLED"); photo(b, "FAILED"); FoodItem.objects.create(meal=b, name="x"); FoodItem.objects.create(meal=b, name="y")
c = meal(u2, "PROCESSING"); ids["meal_c"] = c.id; ids["p_stuck"] = photo(c, "PROCESSING", ago=300).id
d = meal(u2, "PROCESSING"); ids["meal_d"] = d.id; photo(d, "SUCCESS", ago=30)
e = meal(u3, "PROCESSING"); ids["p_fresh"] = photo(e, "PENDING", ago=10).id
f = meal(u3, "COMPLETE"); photo(f, "SUCCESS"); ids["p_failed_leak"] = photo(f, "FAILED", data=ITEMS).id
g = meal(u3, "FAILED"); photo(g, "CANCELLED")
old = meal(u3, "COMPLETE", ago=3 * 86400); photo(old, "CANCELLED", ago=3 * 86400, data=ITEMS)
stale = MealPhoto.objects.create(meal=old, image="y", status="PENDING", created_at=now - timedelta(days=2))
ids["p_stale"] = stale.id

def ev(user, updated, noop, photo_ids, ago=60):
    return CancelEvent.objects.create(user=user, payload={"meal_photo_ids": photo_ids}, updated_photos=updated,
                                      noop=noop, created_at=now - timedelta(seconds=ago)).id
ids["ev_not_applied"] = ev(u3, 0, False, [ids["p_fresh"]])
ev(u1, 0, False, [ids["p_ok"]])           # legit: the named photo had already finished
ev(u2, 0, True, [])                       # noop
ev(u1, 2, False, [ids["p_leak"], 99])
ev(u1, 0, False, [ids["p_fresh"]], ago=3 * 86400)  # outside the window
print("SEED " + json.dumps(ids))
'''


def manage(state: Path, args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BACKEND_DIR, input=stdin, text=True,
                          capture_output=True, env={**djangoenv.backend_env(state), "PATH": "/usr/bin:/bin"},
                          timeout=120)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    state = tmp_path_factory.mktemp("sandbox-state")
    r = manage(state, ["migrate", "-v", "0"])
    assert r.returncode == 0, r.stderr
    r = manage(state, ["shell", "--no-imports", "-c", DJANGO_BOOT], stdin=SEED)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("SEED "))
    return state, json.loads(line[5:])


def run_script(state: Path, since: str = "24h", stuck: float = 60, times: dict[int, float] | None = None) -> dict[str, Any]:
    script = render_db_script(db_params(parse_since(since), stuck, 20, times))
    r = manage(state, ["shell", "--no-imports", "-c", DJANGO_BOOT], stdin=script)
    assert r.returncode == 0, r.stderr
    result = extract_result(r.stdout)
    assert result is not None, r.stdout + r.stderr
    return result


def test_template_renders_under_strict_undefined() -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), undefined=jinja2.StrictUndefined)
    with pytest.raises(jinja2.UndefinedError):
        env.get_template(DB_TEMPLATE_NAME).render()
    text = render_db_script(db_params(parse_since("24h"), 60, 20))
    compile(text, "monitor_db.py", "exec")
    assert "{{" not in text and "PARAMS = json.loads(" in text


def test_facts_from_known_rows(seeded: tuple[Path, dict[str, int]]) -> None:
    state, ids = seeded
    done_at = time.time() + 30  # the SUCCESS log line's time, as the worker-log scan reports it
    r = run_script(state, times={ids["p_ok"]: done_at, 999999: done_at})
    assert r["skipped"] == {}, r["errors"]
    assert r["leaked_photos"]["CANCELLED"]["count"] == 1  # the 3-day-old one is outside the window
    assert r["leaked_photos"]["CANCELLED"]["sample"][0]["photo_id"] == ids["p_leak"]
    assert [p["photo_id"] for p in r["leaked_photos"]["FAILED"]["sample"]] == [ids["p_failed_leak"]]
    assert [m["meal_id"] for m in r["meals_items_without_success"]["sample"]] == [ids["meal_b"]]
    assert r["meals_items_without_success"]["sample"][0]["photo_statuses"] == ["CANCELLED", "FAILED"]
    assert r["meals_items_without_success"]["with_cancelled"]["count"] == 1
    assert r["meals_items_without_success"]["failed_only"]["count"] == 0
    stuck = {p["photo_id"] for p in r["stuck_photos"]["sample"]}
    assert stuck == {ids["p_stuck"], ids["p_stale"]} and r["stuck_photos"]["processing_only_count"] == 1
    meals = {m["meal_id"]: m["reason"] for m in r["stuck_meals"]["sample"]}
    assert meals == {ids["meal_c"]: "newest_photo_older_than_threshold", ids["meal_d"]: "all_photos_terminal"}
    ce = r["cancel_events"]
    assert (ce["total"], ce["noop"], ce["with_action"], ce["zero_updated_with_ids"]) == (4, 1, 3, 2)
    assert ce["avg_updated_photos"] == 0.5
    assert ce["not_applied_count"] == 1
    assert ce["not_applied"][0]["cancel_event_id"] == ids["ev_not_applied"]
    assert ce["not_applied"][0]["still_active"] == [{"photo_id": ids["p_fresh"], "status": "PENDING"}]
    assert r["counts"]["dau"] == 3 and r["counts"]["meals_processing_total"] == 3
    assert r["counts"]["photos_by_status"]["CANCELLED"] == 4
    assert r["processing"]["count"] == 1  # the unknown photo id is ignored
    assert 30 <= r["processing"]["median_s"] < 30 + 600
    ser = r["serializer"]
    assert ser["meals_rendered"] == 7 and ser["non_success_count"] == 0  # FAILED meal excluded, photos filtered


def test_threshold_and_window_are_server_side(seeded: tuple[Path, dict[str, int]]) -> None:
    state, ids = seeded
    r = run_script(state, since="7d", stuck=3600)
    assert r["leaked_photos"]["CANCELLED"]["count"] == 2
    assert r["stuck_photos"]["count"] == 1  # only the 2-day-old PENDING photo is older than an hour
    assert r["cancel_events"]["total"] == 5


def test_serializer_leak_is_seen_for_every_user(seeded: tuple[Path, dict[str, int]]) -> None:
    from runbooks.sandbox import faultflags

    state, ids = seeded
    faultflags.set_flag(StatePaths(state), "serializer_leak")
    try:
        ser = run_script(state)["serializer"]
    finally:
        data = faultflags.load(StatePaths(state))
        data["active"].pop("serializer_leak", None)
        faultflags.save(StatePaths(state), data)
    leaked = {p["photo_id"] for p in ser["non_success_photos"]}
    assert ids["p_leak"] in leaked and ids["p_stuck"] in leaked and ids["p_fresh"] in leaked
    assert {p["source"] for p in ser["non_success_photos"]} == {"serializer"}


def count_processing(state: Path) -> str:
    out = manage(state, ["shell", "--no-imports", "-c",
                         "from apps.nutrition.models import Meal; print('N', Meal.objects.filter(status='PROCESSING').count())"])
    return out.stdout.split()[-1]


def test_writes_inside_the_script_are_rolled_back(seeded: tuple[Path, dict[str, int]]) -> None:
    state, _ = seeded
    assert count_processing(state) == "3"
    marker = "        transaction.set_rollback(True)"
    script = render_db_script(db_params(parse_since("24h"), 60, 20))
    assert marker in script
    script = script.replace(marker, '        Meal.objects.filter(status="PROCESSING").update(status="FAILED")\n' + marker)
    r = manage(state, ["shell", "--no-imports", "-c", DJANGO_BOOT], stdin=script)
    assert extract_result(r.stdout) is not None, r.stderr
    assert count_processing(state) == "3"


def test_missing_serializer_degrades_to_skipped(seeded: tuple[Path, dict[str, int]]) -> None:
    state, _ = seeded
    script = render_db_script(db_params(parse_since("24h"), 60, 20)).replace(
        "from apps.nutrition.serializers import MealSerializer", "from apps.nutrition.nope import MealSerializer")
    res = extract_result(manage(state, ["shell", "--no-imports", "-c", DJANGO_BOOT], stdin=script).stdout)
    assert res is not None and "nope" in res["skipped"]["serializer"]
    assert "serializer" not in res and res["stuck_photos"]["count"] == 2  # the other checks still ran


def test_checks_fail_one_by_one_not_all_at_once(seeded: tuple[Path, dict[str, int]]) -> None:
    state, _ = seeded
    script = render_db_script(db_params(parse_since("24h"), 60, 20)).replace(
        'Meal.objects.filter(status="PROCESSING")\n                  .annotate(',
        'Meal.objects.filter(no_such_field=1)\n                  .annotate(')
    res = extract_result(manage(state, ["shell", "--no-imports", "-c", DJANGO_BOOT], stdin=script).stdout)
    assert res is not None and "FieldError" in res["skipped"]["stuck_meals"]
    assert res["cancel_events"]["total"] == 4 and "stuck_meals" not in res
