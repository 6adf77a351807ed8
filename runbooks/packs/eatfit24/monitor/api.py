"""The monitor's API check (checklist sections 4-5): GET /api/v1/meals/?date=<today> from
the operator's machine with the configured headers. The request is built and its response
read here; `monitor.gather` sends it inside its batch (at the same time as the remote
commands), `monitor.api` alone otherwise (e.g. after a rollback)."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from runbooks.initdata import stale_notes
from runbooks.model import HttpRequest, HttpResponse, Note, StepOutcome
from runbooks.steps.base import StepContext

DEFAULT_PATH = "/api/v1/meals/"


def validate_path(params: Mapping[str, Any]) -> None:
    path = params.get("path", DEFAULT_PATH)
    if not isinstance(path, str) or not path.startswith("/") or any(ch in path for ch in "?# \n"):
        raise ValueError("path: must be an absolute URL path without query")


def skip(reason: str) -> StepOutcome:
    """The operator did not configure the API check: `not configured`, listed as such."""
    return StepOutcome(status="skipped", message=reason,
                       facts={"api": {"evaluated": False, "not_configured": True, "reason": reason}})


def failed(why: str) -> StepOutcome:
    return StepOutcome(status="ok", message=f"degraded: {why}", facts={"errors": {"api": why}})


def meals_from_body(body: Any) -> list[Mapping[str, Any]] | None:
    """The facts file: `?date=` returns an object with `meals`; tolerate the paginated and
    bare-list forms too, so a changed API shape is reported rather than misread."""
    if isinstance(body, Mapping):
        for key in ("meals", "results"):
            if isinstance(body.get(key), list):
                return [m for m in body[key] if isinstance(m, Mapping)]
        return None
    if isinstance(body, list):
        return [m for m in body if isinstance(m, Mapping)]
    return None


def api_facts(meals: list[Mapping[str, Any]], date: str) -> dict[str, Any]:
    bad_photos, failed_meals, n_photos = [], [], 0
    for m in meals:
        if str(m.get("status")) == "FAILED":
            failed_meals.append({"meal_id": m.get("id"), "status": "FAILED", "date": date, "source": "api"})
        for ph in m.get("photos") or []:
            n_photos += 1
            st = ph.get("status") if isinstance(ph, Mapping) else None
            if st != "SUCCESS":
                bad_photos.append({"meal_id": m.get("id"), "photo_id": ph.get("id") if isinstance(ph, Mapping) else None,
                                   "status": st, "source": "api"})
    return {"evaluated": True, "date": date, "meals": len(meals), "photos": n_photos,
            "non_success_photos": bad_photos, "failed_meals": failed_meals}


def request(ctx: StepContext, path: str, timezone: str, now: datetime,
            today: str | None = None) -> Generator[Note, Any, tuple[HttpRequest, str, str] | StepOutcome]:
    """(the GET, its URL, the date asked for), or the `not configured` outcome. `today`: the
    app's date from the DB when known, else `now` (the run's instant, frame.py) in the
    app's timezone."""
    api = ctx.target.api
    if not api.base_url:
        return skip(f"no api.base_url configured for target {ctx.target.name}")
    if not api.headers:
        return skip("no API credentials configured (api.headers, e.g. X-Telegram-Init-Data: ${EATFIT24_INIT_DATA})")
    _, missing = api.resolved_headers()
    if missing:
        return skip(f"API credentials not set in the environment: {', '.join(sorted(set(missing)))}")
    yield from stale_notes(api)
    date = today or now.astimezone(ZoneInfo(timezone)).date().isoformat()
    url = f"{api.base_url}{path}?date={date}"
    return HttpRequest("GET", url, headers=dict(api.headers), timeout=api.timeout), url, date


def interpret(resp: HttpResponse, url: str, date: str) -> Generator[Note, Any, StepOutcome]:
    if resp.error:
        yield Note(f"GET {url}: {resp.error}", level="error")
        return failed(f"GET {url}: {resp.error}")
    if resp.status in (401, 403):
        reason = (f"GET {url}: HTTP {resp.status}, the API rejected the credentials "
                  "(X-Telegram-Init-Data expires after 24 h: refresh it)")
        yield Note(reason, level="error")
        return failed(reason)
    if resp.status != 200:
        yield Note(f"GET {url}: HTTP {resp.status}", level="error")
        return failed(f"GET {url}: HTTP {resp.status}")
    try:
        body = resp.json()
    except ValueError as exc:
        return failed(f"GET {url}: response is not JSON ({exc})")
    meals = meals_from_body(body)
    if meals is None:
        return failed(f"GET {url}: unexpected response shape (no 'meals' list)")
    facts = api_facts(meals, date)
    return StepOutcome(status="ok", message=f"{facts['meals']} meals, {facts['photos']} photos on {date}",
                       facts={"api": facts})


def replay(gathered: Mapping[str, Any]) -> StepOutcome | None:
    """`monitor.api` after a gather that already made the request: the same outcome, from
    the gather's facts (None when the gather did not make it)."""
    outcome = gathered.get("api_outcome")
    if not isinstance(outcome, Mapping):
        return None
    facts: dict[str, Any] = {}
    if gathered.get("api") is not None:
        facts["api"] = gathered["api"]
    why = (gathered.get("errors") or {}).get("api")
    if why:
        facts["errors"] = {"api": why}
    return StepOutcome(status="skipped" if outcome["status"] == "skipped" else "ok", message=str(outcome["message"]),
                       facts=facts)
