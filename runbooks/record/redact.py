"""Masking of secrets before anything is printed or written.

Two layers: exact values we know are secret (configured header values, env vars listed
in `secret_env`), and patterns that look like credentials whatever their origin
(Authorization headers, bearer tokens, `token=`/`password=` assignments, Telegram init
data hashes, private key blocks).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from runbooks.safetext import clean

MASK = "***"

# "key" and "token" are common words ("host key"): the credential pattern also needs one of
# its keywords followed by ":" or "=", checked on the lower-cased text (case-sensitive and
# literal-led, ~10x faster than the case-insensitive pattern itself).
_ASSIGNED = re.compile(r"(?:key|token|secret|passwd|password)[\"']?\s*[:=]")
# Each pattern with the words it cannot match without (lower case; the last one is
# case-sensitive): a text holding none of them is not scanned by it. On a run's outputs
# (100+ kB of log lines per target) the six scans were most of the tool's own CPU.
_PATTERNS: list[tuple[re.Pattern[str], tuple[str, ...], bool, re.Pattern[str] | None]] = [
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(?:(?:bearer|basic|token)\s+)?[^\s'\"`]+"), ("authorization",), True, None),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), ("bearer",), True, None),
    (re.compile(r"(?i)(x-telegram-init-data\s*[:=]\s*)(?!\*\*\*)[^\s'\"`]+"), ("x-telegram-init-data",), True, None),
    (re.compile(r"(?i)((?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd)[\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\s'\"&,}`]{4,}"),
     ("key", "token", "secret", "passw"), True, _ASSIGNED),
    (re.compile(r"(?i)((?:^|[?&\s])hash=)[0-9a-f]{32,}"), ("hash=",), True, None),
    (re.compile(r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"), ("-----BEGIN ",), False, None),
]
# Under (?i) these letters match ASCII ones ("\u017f" is an "s", "\u212a" a "k"), which
# str.lower() does not make them: a text holding one is scanned by every pattern.
_FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")


def _may_match(value: str) -> list[re.Pattern[str]]:
    """The patterns that can match `value` (masking only shortens a match to its prefix +
    MASK, so it never creates one of the words: checked once, before the first)."""
    if any(c in value for c in _FOLDS_TO_ASCII):
        return [pat for pat, _, _, _ in _PATTERNS]
    lower = value.lower()
    return [pat for pat, words, fold, need in _PATTERNS
            if any(w in (lower if fold else value) for w in words) and (need is None or need.search(lower))]


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for s in secrets:
            if s and len(s) >= 3 and s not in self._secrets:
                self._secrets.append(s)
        self._secrets.sort(key=len, reverse=True)

    @property
    def secrets(self) -> list[str]:
        return list(self._secrets)

    def text(self, value: str) -> str:
        """`value` made safe to show: terminal escapes removed and control characters made
        visible FIRST (an escape code inside a secret must not hide it), then masked."""
        if not value:
            return value
        value = clean(value)
        for s in self._secrets:
            if s in value:
                value = value.replace(s, MASK)
        for pat in _may_match(value):
            value = pat.sub(lambda m: m.group(1) + MASK, value)
        return value

    def stream(self) -> StreamMasker:
        """A masker for one live output stream (see StreamMasker)."""
        return StreamMasker(self)

    def obj(self, value: Any) -> Any:
        """Mask every string inside a JSON-like structure."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.obj(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.obj(v) for v in value]
        return value


class StreamMasker:
    """Masks live output that arrives in arbitrary pieces (one per read from the host).

    A secret, or an escape sequence hiding one, can be split across two reads; masking
    each piece alone would print both halves. Text is therefore released a whole line at
    a time (masked as a line); the unfinished last line waits for its newline, or for
    `flush()` when the command ends. One masker per stream (stdout, stderr).
    """

    MAX_PENDING = 65536

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._pending = ""

    def feed(self, text: str) -> str:
        buf = self._pending + text
        cut = buf.rfind("\n") + 1
        if not cut and len(buf) > self.MAX_PENDING:  # a never-ending line (progress bar)
            cut = len(buf)
        self._pending = buf[cut:]
        return self.redactor.text(buf[:cut]) if cut else ""

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self.redactor.text(rest) if rest else ""
