"""docs/monitor.md lists every finding id with its default severity (the catalog is the source)."""

from __future__ import annotations

from pathlib import Path

from runbooks.packs.eatfit24.monitor.catalog import CATALOG

DOC = Path(__file__).resolve().parents[2] / "docs" / "monitor.md"


def test_every_finding_is_documented_with_its_severity() -> None:
    rows = {ln.split("|")[1].strip(" `"): ln.split("|")[2].strip() for ln in DOC.read_text().splitlines()
            if ln.startswith("| `")}
    assert {k: v for k, v in rows.items() if k in CATALOG} == {r.id: r.severity for r in CATALOG.values()}
    assert set(CATALOG) <= set(rows)
