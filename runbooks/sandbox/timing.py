"""How the sandbox's upload endpoint behaves like real eatfit24: it takes the Mini App's real
multipart request (an image file), recognition takes a few seconds that nobody outside
controls (random, seedable per photo), and the batch cancel of a fixed backend finalizes the
meal it emptied (the ``cancel_no_finalize`` flag plays today's backend, which does not).

Import only after ``djangoenv.activate`` (it needs the Django app registry)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from runbooks.sandbox.ctx import Ctx

MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")  # JPEG, PNG
MAX_IMAGE = 10 * 1024 * 1024


def image_problem(request: HttpRequest) -> str:
    """'' when the upload is acceptable; a multipart upload must carry a JPEG/PNG ``image``
    (or a ``data_url``), as the real endpoint requires."""
    if not (request.content_type or "").startswith("multipart/"):
        return ""
    image = request.FILES.get("image")
    if image is None:
        return "" if request.POST.get("data_url") else "image: required (a JPEG or PNG file, or data_url)"
    if image.size > MAX_IMAGE:
        return "image: larger than 10 MB"
    head = image.read(8)
    image.seek(0)
    if not any(head.startswith(m) for m in MAGIC):
        return "image: not a JPEG or PNG"
    return ""


def recognition_delay(ctx: Ctx, photo_id: int) -> float:
    """Seconds recognition of this photo takes (0 with the ``instant_recognition`` flag)."""
    if ctx.fault("instant_recognition"):
        return 0.0
    lo, hi = (float(x) for x in ctx.config.recognition_delay_s)
    seed = ctx.config.recognition_seed
    rng = random.Random(f"{seed}:{photo_id}") if seed is not None else random.Random()  # noqa: S311 - timing
    return round(rng.uniform(min(lo, hi), max(lo, hi)), 3)


def finalize_after_cancel(ctx: Ctx, user: Any, meal_id: Any, at: datetime) -> None:
    """The fixed batch cancel: once no photo of the named meal is active, finalize it."""
    from apps.nutrition.models import Meal

    from runbooks.sandbox import flow

    try:
        mid = int(meal_id)
    except (TypeError, ValueError):
        return
    with transaction.atomic():
        meal = Meal.objects.select_for_update().filter(id=mid, user=user).first()
        if meal is not None and meal.status == Meal.Status.PROCESSING:
            flow.finalize(ctx, meal, at, log="backend")  # in the backend, as the legacy cancel does
