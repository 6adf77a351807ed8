"""Telegram init data freshness: eatfit24's backend rejects `X-Telegram-Init-Data` whose
`auth_date` (a field of the URL-encoded query string, epoch seconds) is older than 24 h,
so a stale value makes every API check answer 401. Said before the call, not guessed after.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone

from runbooks.config import ApiConfig
from runbooks.model import Note

HEADER = "x-telegram-init-data"
MAX_AGE_S = 24 * 3600


def auth_date(value: str) -> int | None:
    """`auth_date` of an init data string, or None when it has none that reads as an integer."""
    try:
        fields = urllib.parse.parse_qs(value, keep_blank_values=True, strict_parsing=False)
        return int(fields["auth_date"][0])
    except (KeyError, IndexError, ValueError):
        return None


def stale_warning(api: ApiConfig, now: float | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """A one-line warning when the configured init data is too old for the backend (or has
    no readable auth_date); None when it is fresh, absent or not set in the environment."""
    headers, _ = api.resolved_headers(environ)
    value = next((v for k, v in headers.items() if k.lower() == HEADER), None)
    if value is None:
        return None
    name = next(k for k in headers if k.lower() == HEADER)
    when = auth_date(value)
    if when is None:
        return f"{name} has no readable auth_date: the backend will likely reject it (HTTP 401)"
    age = (time.time() if now is None else now) - when
    if age <= MAX_AGE_S:
        return None
    stamp = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{name} auth_date is {stamp} ({age / 3600:.0f} h ago), older than 24 h: the backend answers 401; "
            "refresh it from a new Telegram WebApp session")


def stale_notes(api: ApiConfig) -> Iterator[Note]:
    """For steps: `yield from stale_notes(target.api)`."""
    msg = stale_warning(api)
    if msg:
        yield Note(msg, "warn")
