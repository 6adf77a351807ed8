"""Telegram WebApp auth stand-in: ``X-Telegram-Init-Data`` must equal the sandbox's secret
(``<state>/init-data``); it maps to the sandbox API user. Never logged."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse


def _secret() -> str:
    from runbooks.sandbox.djangoenv import current_state
    from runbooks.sandbox.paths import StatePaths

    return StatePaths(current_state()).secret.read_text().strip()


def telegram_auth(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        given = request.headers.get("X-Telegram-Init-Data")
        if not given:
            return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
        if not hmac.compare_digest(given.encode(), _secret().encode()):
            # as eatfit24 does for a bad signature or initData older than 24 h
            resp = JsonResponse({"detail": "Invalid Telegram init data."}, status=401)
            resp["WWW-Authenticate"] = "DebugMode"
            return resp
        from runbooks.sandbox.users import api_user

        request.user = api_user()
        return view(request, *args, **kwargs)
    return wrapper


def json_body(request: HttpRequest) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    return {k: (v if len(request.POST.getlist(k)) == 1 else request.POST.getlist(k)) for k, v in request.POST.items()}
