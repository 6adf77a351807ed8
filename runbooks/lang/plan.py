"""Which steps a run takes (--start-at, --tags, --skip-tags) and what it will need from the
operator, decided before anything runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runbooks.errors import InputError
from runbooks.lang.model import Playbook, Step


@dataclass(frozen=True)
class Selection:
    """--tags / --skip-tags: which steps run (always: steps run unless skipped by tag)."""

    tags: frozenset[str] = frozenset()
    skip_tags: frozenset[str] = frozenset()

    @classmethod
    def from_flags(cls, tags: str | None, skip_tags: str | None) -> Selection:
        def split(v: str | None) -> frozenset[str]:
            return frozenset(t.strip() for t in (v or "").split(",") if t.strip())

        return cls(split(tags), split(skip_tags))

    def check(self, playbook: Playbook) -> None:
        """A tag no step has is a typo that would silently run nothing (or everything)."""
        known = {t for s in playbook.steps for t in s.tags}
        for flag, wanted in (("--tags", self.tags), ("--skip-tags", self.skip_tags)):
            unknown = sorted(wanted - known)
            if unknown:
                raise InputError(f"{flag}: no step of {playbook.name} has tag {', '.join(map(repr, unknown))} "
                                 f"(tags: {', '.join(sorted(known)) or 'none'}); nothing was run")

    def selects(self, tags: tuple[str, ...], always: bool) -> bool:
        if self.skip_tags & set(tags):
            return False
        if not self.tags or always:
            return True
        return bool(self.tags & set(tags))




def select(playbook: Playbook, start_at: str | None, selection: Selection) -> list[Step]:
    """From --start-at on (`always: true` steps before it still run), then the tags."""
    start = playbook.index_of(start_at) if start_at else 0
    steps = [s for s in playbook.steps[:start] if s.always] + list(playbook.steps[start:])
    return [s for s in steps if selection.selects(s.tags, s.always)]


def prompts_without_answer(steps: Iterable[Step], yes: bool) -> list[str]:
    """`prompt` steps nobody can answer without a terminal: all of them without --yes, the
    ones with no default with --yes (a run is refused rather than stopped half-way)."""
    return [s.name for s in steps if s.kind == "prompt" and (not yes or s.params.get("default") is None)]
