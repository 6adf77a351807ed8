"""What every monitor step of one run works from, computed once and handed on as a value.

The window (`since`, parsed), the tail, the settings (checklist defaults < the playbook's
`vars.monitor` < the target's `monitor:`), the checks and the facts they need, and the
run's ONE operator-side instant. The first monitor step that runs (the gather, or the
evaluate when nothing is gathered) builds the frame; the later ones get the same object
from the run's `StepContext.shared`, so no step parses `since` or reads the clock again:
the API's date (asked in the gather) and the coverage's requested start (judged in the
evaluate) come from the same instant, even across midnight or a slow Django shell.

A relative window (`24h`) still reaches the host as it is: docker and the Django shell
count it back from the host's clock (window.py), and the log scan's own `host_now` is the
coverage's anchor when the host gave one; `now` is for what only the operator's side knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from runbooks.packs.eatfit24.monitor.catalog import CATALOG
from runbooks.packs.eatfit24.monitor.custom import validate as validate_custom
from runbooks.packs.eatfit24.monitor.history import window_key
from runbooks.packs.eatfit24.monitor.sections import NEEDS, needs_for
from runbooks.packs.eatfit24.monitor.thresholds import Settings, settings_from
from runbooks.packs.eatfit24.monitor.window import Window, parse_since, parse_tail
from runbooks.steps.base import StepContext

SHARED_KEY = "eatfit24.monitor.frame"


@dataclass(frozen=True)
class Frame:
    window: Window
    tail: int | None
    settings: Settings
    checks: tuple[str, ...]  # finding ids to evaluate
    needs: tuple[str, ...]  # the facts they use: worker_logs, backend_logs, db, api
    now: datetime  # the run's one operator-side instant (UTC)

    @property
    def key(self) -> str:
        """Which earlier runs are comparable baselines (same window length and tail)."""
        return window_key(self.window.docker, self.tail)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def settings_for(ctx: StepContext) -> Settings:
    """Checklist defaults < playbook `vars.monitor` < the target's `monitor:` config."""
    s = settings_from([(ctx.vars.get("monitor"), "playbook vars.monitor"),
                       (ctx.target.monitor, f"targets.{ctx.target.name}.monitor")], set(CATALOG))
    validate_custom(s.rules, set(CATALOG))
    return s


def build(ctx: StepContext, now: datetime) -> Frame:
    """From the step's variables: `checks` (default every check), `needs` (default what
    those checks use), `since` (default 24h), `tail`, `monitor`. InputError/ConfigError on
    a bad value (the step fails with that one line)."""
    checks = tuple(ctx.vars.get("checks") or NEEDS)
    needs = tuple(ctx.vars.get("needs") or needs_for(list(checks)))
    return Frame(window=parse_since(ctx.vars.get("since") or "24h"), tail=parse_tail(ctx.vars.get("tail")),
                 settings=settings_for(ctx), checks=checks, needs=needs, now=now)


def frame_of(ctx: StepContext) -> Frame:
    """The run's frame: built by the first monitor step that asks, the same one after."""
    got = ctx.shared.get(SHARED_KEY)
    if not isinstance(got, Frame):
        got = ctx.shared[SHARED_KEY] = build(ctx, _utcnow())
    return got
