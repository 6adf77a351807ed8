"""The eatfit24 driver's inputs: its config keys (validated, one line naming the key, exit 3),
the shipped test photos, the task states it understands, and the multipart upload it sends,
accepted (or refused) by the sandbox's real Django upload endpoint on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runbooks.config import load_config
from runbooks.errors import ConfigError
from runbooks.http import UrllibTransport
from runbooks.model import FilePart, HttpRequest
from runbooks.packs.eatfit24.predeploy.eatfit24 import photo_count, task_status
from runbooks.packs.eatfit24.predeploy.photos import PhotosError, load_photos

from .helpers import api_user_id, run_predeploy, write_config

TARGET = "targets:\n  stg:\n    host: h\n    project_dir: /x\n    containers: {backend: b, worker: w}\n    predeploy: "


@pytest.mark.parametrize(("predeploy", "expected"), [
    ("{driver: selenium}", "targets.stg.predeploy.driver: must be one of sandbox, eatfit24, not 'selenium'"),
    ("{drvier: eatfit24}", "targets.stg.predeploy.drvier: unknown key"),
    ("{photos_dir: 3}", "targets.stg.predeploy.photos_dir: must be a directory path"),
    ("{stuck_grace_s: -1}", "targets.stg.predeploy.stuck_grace_s: must be seconds"),
])
def test_bad_predeploy_config_names_the_key(tmp_path: Path, predeploy: str, expected: str) -> None:
    p = tmp_path / "runbooks.yaml"
    p.write_text(TARGET + predeploy + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(p, environ={})
    assert expected in err.value.message and "\n" not in err.value.message


def test_good_predeploy_config_is_kept(tmp_path: Path) -> None:
    p = tmp_path / "runbooks.yaml"
    p.write_text(TARGET + "{driver: eatfit24, test_user_id: 4, photos_dir: /srv/photos, stuck_grace_s: 15}\n")
    t = load_config(p, environ={}).targets["stg"]
    assert t.predeploy["driver"] == "eatfit24" and t.predeploy["photos_dir"] == "/srv/photos"


def test_shipped_photos_are_small_valid_jpegs() -> None:
    photos = load_photos()
    assert len(photos) >= 3
    for p in photos:
        assert p.content.startswith(b"\xff\xd8\xff") and p.content.endswith(b"\xff\xd9")
        assert p.content_type == "image/jpeg" and len(p.content) < 4096


def test_photos_dir_without_images_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "fake.jpg").write_text("not a jpeg")
    with pytest.raises(PhotosError, match="no JPEG/PNG photo"):
        load_photos(str(tmp_path))
    with pytest.raises(PhotosError, match="not a directory"):
        load_photos(str(tmp_path / "missing"))


def test_more_photos_on_each_retry_of_a() -> None:
    assert [photo_count("A", n) for n in range(4)] == [3, 5, 7, 8]
    assert photo_count("B", 3) == 2 and photo_count("C", 3) == 1


@pytest.mark.parametrize(("doc", "status"), [
    ({"status": "PROCESSING"}, "PROCESSING"), ({"status": "success"}, "SUCCESS"), ({"state": "STARTED"}, "PROCESSING"),
    ({"status": "", "state": "FAILURE"}, "FAILED"), ({"state": "REVOKED"}, "CANCELLED"), ({}, "?"),
    ({"status": "SUCCESS", "result": {"error_code": "AI_SERVER_ERROR"}}, "FAILED"),
    ({"state": "SUCCESS", "result": {"status": "discarded", "meal_photo_id": 5}}, "CANCELLED"),
    ({"status": "SUCCESS", "photo_status": "PROCESSING"}, "PROCESSING"),
    ({"status": "SUCCESS", "result": {"items": [{"name": "rice"}], "meta": {}}}, "SUCCESS"),
])
def test_task_states_in_photo_terms(doc: dict[str, Any], status: str) -> None:
    assert task_status(doc) == status


def _upload(sb: Any, form: dict[str, str], files: tuple[FilePart, ...]) -> tuple[int, dict[str, Any]]:
    req = HttpRequest("POST", f"{sb.base_url}/api/v1/ai/recognize/", form=form, files=files, timeout=10)
    resp = UrllibTransport().send(req, {"X-Telegram-Init-Data": sb.init_data})
    return resp.status, json.loads(resp.body or b"{}")


def test_sandbox_takes_the_mini_apps_multipart_upload(sandbox: Any) -> None:
    jpeg = load_photos()[0]
    image = (FilePart("image", jpeg.name, jpeg.content, jpeg.content_type),)
    status, body = _upload(sandbox, {"meal_type": "DINNER", "date": "2026-01-15", "user_comment": "тест"}, image)
    assert status == 202 and body["status"] == "processing", body
    status, more = _upload(sandbox, {"meal_type": "DINNER", "date": "2026-01-15", "meal_id": str(body["meal_id"])}, image)
    assert status == 202 and more["meal_id"] == body["meal_id"]  # multi-photo: the same meal
    api_user_id(sandbox)  # the sandbox's Django, for the ORM below
    from apps.nutrition.models import Meal

    meal = Meal.objects.get(id=body["meal_id"])
    assert meal.meal_type == "DINNER" and str(meal.date) == "2026-01-15" and meal.photos.count() == 2
    bad = (FilePart("image", "x.jpg", b"GIF89a not a jpeg", "image/jpeg"),)
    assert _upload(sandbox, {"meal_type": "DINNER"}, bad) == (400, {"error": "image: not a JPEG or PNG"})
    status, err = _upload(sandbox, {"meal_type": "DINNER", "date": "2026-01-15"}, ())
    assert status == 400 and "image: required" in err["error"]


def test_bad_retries_and_missing_photos_dir_exit_3_without_running(sandbox_target: dict[str, Any], sandbox: Any,
                                                                  tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox_target, predeploy={"test_user_id": api_user_id(sandbox), "driver": "eatfit24"})
    proc = run_predeploy(config, "--drive", "--yes", "--retries", "many")
    assert proc.returncode == 3 and "--retries: must be a whole number" in proc.stderr and "Traceback" not in proc.stderr
    config = write_config(tmp_path, sandbox_target, predeploy={"test_user_id": api_user_id(sandbox), "driver": "eatfit24",
                                                              "photos_dir": str(tmp_path / "nope")})
    proc = run_predeploy(config, "--drive", "--yes")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3 and "predeploy.photos_dir" in out and "not a directory" in out, out
    assert "Traceback" not in out
    from apps.nutrition.models import Meal

    assert not Meal.objects.exists()  # nothing was uploaded
