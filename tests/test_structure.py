"""The code's shape, checked: small modules with one concern each (none over 400 lines outside
tests and the sandbox's simulated Django project), and no import cycle among runbooks'
modules (a cycle means two modules that cannot be understood or changed apart).

The import graph is built from each module's module-level imports with `ast`: an import
inside a function runs when it is called (that is how the sandbox and the heavy parts load
lazily) and one under `if TYPE_CHECKING:` never runs, so neither is an edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PKG = ROOT / "runbooks"
MAX_LINES = 400
# the sandbox's simulated eatfit24 backend is app code run by Django, not the tool's
EXEMPT = (PKG / "sandbox" / "backend",)


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: the top level, and inside top-level
    if/try/with/class blocks, but not in functions nor under `if TYPE_CHECKING:`."""
    out: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                out += _module_level(node.body)
            out += _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                out += _module_level(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            out += _module_level(node.body)
    return out


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The runbooks modules `name` imports at module level."""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in _module_level(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
            continue
        base = node.module or ""
        if node.level:  # relative: from the module's package, `level` dots up
            pkg = name.split(".") if is_pkg else name.split(".")[:-1]
            pkg = pkg[: len(pkg) - (node.level - 1)]
            base = ".".join(pkg + ([base] if base else []))
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in known:  # `from runbooks.x import module`
                out.add(sub)
            elif base in known:
                out.add(base)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path per strongly connected component (Tarjan), e.g. [a, b, a]."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comps: list[set[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return [_cycle_in(comp, graph) for comp in comps]


def _cycle_in(comp: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first)."""
    start = min(comp)
    prev: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & comp):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [*reversed(path), start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    raise AssertionError(f"no cycle in {comp}")


def test_no_module_over_400_lines() -> None:
    big = {}
    for path in PKG.rglob("*.py"):
        if any(path.is_relative_to(e) for e in EXEMPT):
            continue
        n = len(path.read_text().splitlines())
        if n > MAX_LINES:
            big[str(path.relative_to(ROOT))] = n
    assert big == {}, f"split by concern (at most {MAX_LINES} lines): {big}"


def test_no_import_cycle_among_runbooks_modules() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


# The checker itself, on small graphs and sources (so a green run means something).

def test_find_cycles_reports_the_path_and_ignores_a_dag() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"x": {"y"}, "y": {"x"}, "p": {"q"}, "q": {"p"}}) in (
        [["p", "q", "p"], ["x", "y", "x"]], [["x", "y", "x"], ["p", "q", "p"]])


@pytest.mark.parametrize(("source", "expected"), [
    ("from runbooks.b import thing\n", {"runbooks.b"}),
    ("from runbooks import b\n", {"runbooks.b"}),
    ("import runbooks.b\n", {"runbooks.b"}),
    ("from . import b\n", {"runbooks.b"}),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from runbooks.b import T\n", set()),
    ("def f():\n    from runbooks.b import x\n", set()),
    ("try:\n    from runbooks.b import x\nexcept ImportError:\n    x = None\n", {"runbooks.b"}),
])
def test_module_level_imports_only(tmp_path: Path, source: str, expected: set[str]) -> None:
    path = tmp_path / "a.py"
    path.write_text(source)
    assert imports_of("runbooks.a", path, {"runbooks", "runbooks.a", "runbooks.b"}) == expected
