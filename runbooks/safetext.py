"""Text from the host made safe to show and to write.

Remote text (log lines, command output, commit subjects, stderr in messages) must never
drive the operator's terminal (clear the screen, set the title, plant a hyperlink, move
the cursor over a line already printed) nor forge the record. `clean()` removes whole
terminal escape sequences (CSI, OSC, DCS/SOS/PM/APC, two-character ESC sequences, and
their 8-bit C1 forms) and then replaces every remaining control character with a
visible escape (`\\x07`, `\\u202e`): C0 except newline and tab, DEL, C1, the Unicode
line/paragraph separators and the bidirectional overrides/isolates. A CR LF pair becomes
a newline; a lone CR (which would let a line overwrite itself) is shown as `\\x0d`.

Run it BEFORE masking secrets: an escape sequence inside a secret would otherwise hide
it from the masker and be removed afterwards (`runbooks.record.redact.Redactor.text` does so).
"""

from __future__ import annotations

import re

# ESC-introduced sequences (7-bit) and their 8-bit C1 equivalents. Unterminated string
# sequences (OSC/DCS/...) run to the end of the text: nothing after them is trusted.
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b[\]PX^_][\s\S]*?(?:\x07|\x1b\\|\x9c|$)"  # OSC, DCS, SOS, PM, APC ... ST/BEL
    r"|[\x9d\x90\x98\x9e\x9f][\s\S]*?(?:\x07|\x1b\\|\x9c|$)"  # their 8-bit forms
    r"|\x1b[ -/]*[0-~]"  # two/three-character escapes (ESC c, ESC 7, ESC ( B, ...)
)
# What is left after the sequences are gone and is still not printable text.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_ANY = _CONTROL


def _visible(m: re.Match[str]) -> str:
    c = m.group(0)
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def clean(text: str) -> str:
    """`text` without terminal escape sequences, every other control character visible."""
    if not text or not _ANY.search(text):
        return text
    text = _SEQUENCES.sub("", text)
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(_visible, text)


def has_control(text: str) -> bool:
    """True when `text` holds a character `clean()` would remove or escape."""
    return bool(_ANY.search(text or ""))


def clean_obj(value: object) -> object:
    """`clean()` every string inside a JSON-like structure (keys included)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_obj(v) for v in value]
    return value


__all__ = ["clean", "clean_obj", "has_control"]
