"""Where the shipped data lives: `playbooks/` and `templates/` beside the package in a
checkout or editable install, `runbooks/_data/...` inside a wheel (see setup.py)."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for cand in (_PKG.parent / name, _PKG / "_data" / name):
        if cand.is_dir():
            return cand
    return _PKG.parent / name


def templates_dir() -> Path:
    return data_dir("templates")


def playbooks_dir() -> Path:
    return data_dir("playbooks")
