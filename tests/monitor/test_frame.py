"""One frame per monitor run (packs/eatfit24/monitor/frame.py): the gather and the
evaluate work from the same window, settings and instant. Pure logic: the steps'
generators are driven by hand, with a clock that moves between the steps (across
midnight), so a step that read the clock or parsed `since` again would show it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from runbooks.config import parse_target
from runbooks.model import Batch, HttpRequest, HttpResponse, Note, Result, StepOutcome
from runbooks.packs.eatfit24.monitor import frame
from runbooks.packs.eatfit24.monitor.steps import evaluate_step, gather_step
from runbooks.steps.base import Step, StepContext

T0 = datetime(2026, 1, 15, 23, 59, 30, tzinfo=timezone.utc)  # the gather starts 30 s before midnight
TARGET = parse_target("box", {"transport": "local", "containers": {"backend": "b", "worker": "w"},
                              "api": {"base_url": "http://127.0.0.1:9", "headers": {"X-Test": "t"}},
                              "monitor": {"app_timezone": "UTC"}}, "test")
VARS = {"backend": "b", "since": "24h", "tail": None, "checks": ["stuck_photos", "api_failed_meal"],
        "needs": ["worker_logs", "db", "api"], "transcript_dir": None}


def _drive(gen: Any, answer: Any) -> StepOutcome:
    """Run a step's generator to its outcome; `answer(request)` replies to each request."""
    try:
        req = next(gen)
        while True:
            req = gen.send(None if isinstance(req, Note) else answer(req))
    except StopIteration as stop:
        assert isinstance(stop.value, StepOutcome)
        return stop.value


def _host_without_times(req: Any) -> Any:
    """The batch: both sources time out (so no host clock reaches the coverage), the API answers."""
    assert isinstance(req, Batch)
    out: list[Any] = []
    for r in req.commands:
        if isinstance(r, HttpRequest):
            out.append(HttpResponse(200, {}, b'{"meals": []}', 0.01))
        else:
            out.append(Result("scan", -1, "", "", 180.0, timed_out=True))
    return tuple(out)


@pytest.fixture
def moving_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    reads: list[datetime] = []

    def clock() -> datetime:
        reads.append(T0 + timedelta(minutes=2 * len(reads)))  # every read is 2 minutes later
        return reads[-1]

    monkeypatch.setattr(frame, "_utcnow", clock)
    yield reads


def test_gather_and_evaluate_use_the_runs_one_instant(moving_clock: list[datetime],
                                                      tmp_path: Any) -> None:
    shared: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    vars_ = {**VARS, "transcript_dir": str(tmp_path)}
    gathered = _drive(gather_step(Step("gather", "monitor.gather", {"api": True}),
                                  StepContext(TARGET, dict(vars_), facts, shared=shared)), _host_without_times)
    facts["gather"] = gathered.facts
    assert gathered.facts["api"]["date"] == "2026-01-15"  # asked at T0, before midnight
    done = _drive(evaluate_step(Step("evaluate", "monitor.evaluate"),
                                StepContext(TARGET, dict(vars_), facts, shared=shared)), _host_without_times)
    assert len(moving_clock) == 1  # the clock was read once, by the first step
    # the coverage of the sources that gave no host time counts back from the same T0,
    # not from "now" at the evaluate (2 minutes later, on the next day)
    start = "2026-01-14T23:59:30Z"
    assert done.coverage["worker_logs"]["requested_from"] == start
    assert done.coverage["db"]["requested_from"] == start
    assert done.coverage["api"]["from"] == "2026-01-15"
    fr = shared[frame.SHARED_KEY]
    assert fr.now == T0 and fr.window.seconds == 86400 and fr.needs == ("worker_logs", "db", "api")


def test_a_new_run_gets_a_new_frame(moving_clock: list[datetime]) -> None:
    """The frame is the run's (StepContext.shared), never carried over to the next run."""
    first = frame.frame_of(StepContext(TARGET, dict(VARS), {}, shared={}))
    second = frame.frame_of(StepContext(TARGET, {**VARS, "since": "1h"}, {}, shared={}))
    assert (first.now, second.now) == (T0, T0 + timedelta(minutes=2))
    assert (first.window.seconds, second.window.seconds) == (86400, 3600)


def test_defaults_without_run_vars_are_every_check_and_what_they_need() -> None:
    fr = frame.build(StepContext(TARGET, {}, {}), T0)
    assert fr.window.docker == "24h" and fr.tail is None
    assert set(fr.needs) == {"worker_logs", "backend_logs", "db", "api"} and "stuck_photos" in fr.checks
    assert fr.settings.app_timezone == "UTC"  # the target's monitor: config
