"""Which problem a finding is: its key.

A problem is what the team would fix once. Its identity comes from the objects in the
finding's evidence:

  * object findings (rows of the DB or the API: photos, meals, cancel events) name each
    evidence item by its main object: `photo=42` when it has a photo id, else
    `cancel_event=7`, else `meal=9`. The other ids in the item (the photo's meal, the
    cancel event's still-active photos) are *related* objects;
  * log findings (exception blocks) name each block by its normalised first line
    (`log=<sha1 of the text with timestamps, numbers and hex ids replaced>`): the same
    exception recurring is the same problem, a different one is another;
  * rate and anomaly findings (ratios, spikes, custom metric rules) have no objects: the
    finding id alone is the problem while it keeps alerting.

Findings of one run that share an object (a stuck photo and the stuck meal it belongs to;
a cancel event not applied and the photos it left PENDING) are ONE problem, named after
the first of them in catalog order (the cause is listed before its consequence).

The key is the main finding id plus its sorted main objects, e.g. `stuck_photos:photo=42`
(`stuck_photos:photo=3,photo=9,photo=12+4#1a2b3c` beyond three objects; the hash keeps it
unique). It is fixed when the problem is first seen: a later run continues the problem
while the finding alerts on at least one object it alerted on last time (lifecycle.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runbooks.model import Finding

MAIN_IDS = (("photo_id", "photo"), ("cancel_event_id", "cancel_event"), ("meal_id", "meal"))
KEY_OBJECTS = 3  # objects spelled out in a key; more are summarised as "+N#hash"
SEVERITY_RANK = {"P0": 0, "P1": 1, "P2": 2}

_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
_HEX = re.compile(r"\b(?:0x)?[0-9a-f]{8,}(?:-[0-9a-f]{4,}){0,4}\b", re.I)
_NUM = re.compile(r"\d+")


def normalise_log(text: str) -> str:
    """A log line without what changes between occurrences (times, ids, numbers)."""
    text = _TS.sub("<ts>", text)
    text = _HEX.sub("<id>", text)
    text = _NUM.sub("#", text)
    return " ".join(text.split())


def _obj_sort(name: str) -> tuple[str, int, str]:
    kind, _, value = name.partition("=")
    return (kind, int(value), "") if value.isdigit() else (kind, -1, value)


def sort_objects(names: Iterable[str]) -> list[str]:
    return sorted(set(names), key=_obj_sort)


def _log_text(item: Mapping[str, Any]) -> str | None:
    lines = item.get("lines")
    if isinstance(lines, list) and lines:
        first = lines[0]
        return str(first.get("line", "")) if isinstance(first, Mapping) else str(first)
    if isinstance(item.get("line"), str):
        return str(item["line"])
    return None


def item_objects(item: Mapping[str, Any]) -> tuple[str | None, set[str]]:
    """(main object, related objects) of one evidence item."""
    main: str | None = None
    related: set[str] = set()
    for field, kind in MAIN_IDS:
        value = item.get(field)
        if value is None or isinstance(value, (dict, list)):
            continue
        name = f"{kind}={value}"
        if main is None:
            main = name
        else:
            related.add(name)
    for extra in item.get("still_active") or []:
        if isinstance(extra, Mapping) and extra.get("photo_id") is not None:
            related.add(f"photo={extra['photo_id']}")
    if main is None:
        text = _log_text(item)
        if text is not None:
            digest = hashlib.sha1(normalise_log(text).encode("utf-8")).hexdigest()[:10]
            main = f"log={digest}"
    return main, related


@dataclass(frozen=True)
class Observation:
    """One problem as one run saw it."""

    key: str
    finding: str  # the main finding (first in catalog order)
    findings: tuple[str, ...]  # every finding that is part of it
    severity: str  # the worst of them
    title: str
    action: str
    count: int  # the main finding's count
    primary: tuple[str, ...]  # the main finding's objects (sorted)
    objects: frozenset[str]  # every object of every part, main and related
    evidence: tuple[Mapping[str, Any], ...]  # the main finding's first evidence items
    counts: tuple[tuple[str, int], ...] = ()  # (finding id, count) of every part

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "finding": self.finding, "findings": list(self.findings),
                "severity": self.severity, "count": self.count, "objects": list(self.primary)}


def make_key(finding: str, primary: list[str]) -> str:
    if not primary:
        return finding
    shown = ",".join(primary[:KEY_OBJECTS])
    if len(primary) > KEY_OBJECTS:
        digest = hashlib.sha1(",".join(primary).encode()).hexdigest()[:6]
        shown += f"+{len(primary) - KEY_OBJECTS}#{digest}"
    return f"{finding}:{shown}"


def finding_objects(f: Finding, aggregate: bool) -> tuple[list[str], set[str]]:
    if aggregate:
        return [], set()
    main: set[str] = set()
    related: set[str] = set()
    for item in f.evidence:
        if not isinstance(item, Mapping):
            continue
        m, r = item_objects(item)
        if m is not None:
            main.add(m)
        related |= r
    return sort_objects(main), related


def observe(findings: Iterable[Finding], object_findings: Iterable[str] | None = None,
            order: Iterable[str] | None = None) -> list[Observation]:
    """The problems in one run's alerting findings. `object_findings`: ids whose evidence
    names objects (default: the monitor's point rules); the rest are rates/anomalies.
    `order`: the catalog order that decides which finding names a group."""
    if object_findings is None or order is None:
        from runbooks.packs.eatfit24.monitor.catalog import CATALOG, OBJECT_CHECKS

        object_findings = OBJECT_CHECKS if object_findings is None else object_findings
        order = list(CATALOG) if order is None else order
    point = set(object_findings)
    rank = {fid: i for i, fid in enumerate(order)}
    alerts = sorted((f for f in findings if f.status == "alert"), key=lambda f: (rank.get(f.id, len(rank)), f.id))
    objs = [finding_objects(f, f.id not in point) for f in alerts]
    # Union-find over findings that share an object.
    parent = list(range(len(alerts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, (main, related) in enumerate(objs):
        for name in set(main) | related:
            if name in owner:
                a, b = root(owner[name]), root(i)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the earlier finding in catalog order names it
            else:
                owner[name] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(alerts)):
        groups.setdefault(root(i), []).append(i)
    out = []
    for head, members in sorted(groups.items()):
        f = alerts[head]
        primary = objs[head][0]
        every: set[str] = set()
        for i in members:
            every |= set(objs[i][0]) | objs[i][1]
        severity = min((alerts[i].severity for i in members), key=lambda s: SEVERITY_RANK.get(s, 9))
        out.append(Observation(
            key=make_key(f.id, primary), finding=f.id, findings=tuple(alerts[i].id for i in members),
            severity=severity, title=f.title, action=f.action, count=int(f.count), primary=tuple(primary),
            objects=frozenset(every), evidence=tuple(f.evidence[:3]),
            counts=tuple((alerts[i].id, int(alerts[i].count)) for i in members)))
    return out
