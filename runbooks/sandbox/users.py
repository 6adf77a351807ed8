"""Sandbox users: Telegram users as eatfit24 stores them; the first one is the API user."""

from __future__ import annotations

from typing import Any

API_USERNAME = "tg_100001"


def api_user() -> Any:
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username=API_USERNAME, defaults={"first_name": "Sandbox"})
    return user


def population(n: int) -> list[Any]:
    """The API user plus ``n - 1`` more (created once, reused)."""
    from django.contrib.auth.models import User

    users = [api_user()]
    existing = {u.username: u for u in User.objects.filter(username__startswith="tg_")}
    for i in range(2, n + 1):
        name = f"tg_{100000 + i}"
        users.append(existing.get(name) or User.objects.create(username=name))
    return users
