"""A big worker log in docker's json-file format, written straight into the sandbox's log
file: celery noise (task received/succeeded, heartbeats, beat), about 0.5% marker lines
(SUCCESS updates, finalizations, race guards) and a rare traceback, over the last 23 hours
in time order. ~1M lines in a few seconds."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

NOISE = (
    "[{t}: INFO/MainProcess] Task apps.ai.tasks.recognize_food_async[{u}] received",
    "[{t}: INFO/ForkPoolWorker-{w}] Task apps.ai.tasks.recognize_food_async[{u}] succeeded in {d}s: {{'status': 'success', 'meal_photo_id': {p}, 'items_count': 2}}",
    "[{t}: INFO/MainProcess] Task apps.billing.tasks.process_due_renewals[{u}] received",
    "[{t}: INFO/ForkPoolWorker-{w}] Task apps.billing.tasks.process_due_renewals[{u}] succeeded in 0.{w}12s: {{'processed': 0}}",
    "[{t}: INFO/MainProcess] missed heartbeat from celery@beat-{w}",
    "[{t}: INFO/MainProcess] sync with celery@worker-{w}",
    "[{t}: DEBUG/MainProcess] pidbox received method enable_events() [reply_to:None ticket:{u}]",
)
MARKERS = (
    "[{t}: INFO/ForkPoolWorker-{w}] [AI] MealPhoto {p} updated to SUCCESS with 2 items",
    "[{t}: INFO/ForkPoolWorker-{w}] [MealService] Finalized meal_id={m} as COMPLETE",
    "[{t}: WARNING/ForkPoolWorker-{w}] [AI] Photo {p} is in terminal state CANCELLED, discarding results (race condition guard)",
    "[{t}: INFO/ForkPoolWorker-{w}] [MealService] Finalized meal_id={m} as FAILED (all photos failed/cancelled)",
)
TRACEBACK = (
    "[{t}: ERROR/ForkPoolWorker-{w}] Task apps.billing.tasks.sync_plans[{u}] raised unexpected: ConnectionError('redis')",
    "Traceback (most recent call last):",
    '  File "/usr/local/lib/python3.12/site-packages/celery/app/trace.py", line 453, in trace_task',
    "    R = retval = fun(*args, **kwargs)",
    "ConnectionError: redis",
)


def _json_line(text: str, stamp: str) -> str:
    if '"' in text or "\\" in text:
        text = json.dumps(text)[1:-1]
    return '{"log":"' + text + '\\n","stream":"stderr","time":"' + stamp + '"}'


def generate(path: Path, lines: int, marker_ratio: float = 0.005, seed: int = 8) -> dict[str, int]:
    """Write the log to `path` (replacing it). Returns counts and the file size."""
    rng = random.Random(seed)
    end = datetime.now(timezone.utc) - timedelta(minutes=5)
    start = end - timedelta(hours=23)
    t0 = int(start.timestamp() * 1_000_000)
    step_us = (23 * 3600 * 1_000_000) // max(lines, 1)
    uids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(512)]
    randoms = [rng.random() for _ in range(4096)]
    markers = errors = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".bench")
    sec_cache: tuple[int, str, str] = (-1, "", "")
    with open(tmp, "w", encoding="utf-8") as fh:
        buf: list[str] = []
        i = 0
        n_noise, n_mark = len(NOISE), len(MARKERS)
        while i < lines:
            us = t0 + i * step_us
            sec, frac = divmod(us, 1_000_000)
            if sec != sec_cache[0]:
                utc = datetime.fromtimestamp(sec, timezone.utc)
                msk = utc + timedelta(hours=3)
                sec_cache = (sec, utc.strftime("%Y-%m-%dT%H:%M:%S."), msk.strftime("%Y-%m-%d %H:%M:%S,"))
            t = f"{sec_cache[2]}{frac // 1000:03d}"
            r = randoms[(i * 7919 + (i >> 12)) % 4096]
            if r < marker_ratio:
                fmt: tuple[str, ...] = (MARKERS[i % n_mark],)
                markers += 1
            elif r < marker_ratio + 0.0005 and i % 40 == 0 and lines - i > len(TRACEBACK):
                fmt = TRACEBACK
                errors += 1
            else:
                fmt = (NOISE[i % n_noise],)
            for k, f in enumerate(fmt):
                text = f.format(t=t, u=uids[i & 511], w=1 + (i & 1), d=f"{2 + i % 7}.{i % 1000:03d}", p=i, m=i >> 1)
                buf.append(_json_line(text, f"{sec_cache[1]}{frac:06d}{k:03d}Z"))
                i += 1
            if len(buf) >= 50000:
                fh.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            fh.write("\n".join(buf) + "\n")
    size = tmp.stat().st_size
    tmp.replace(path)
    return {"lines": lines, "markers": markers, "tracebacks": errors, "bytes": size}
