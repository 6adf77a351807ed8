"""Tamper evidence for a run folder.

Each line of `events.jsonl` carries `prev`, the SHA-256 of the previous line's bytes
(GENESIS, 64 zeros, for the first), and `seq` counts from 1. `transcript.md` records the
number of events and the SHA-256 of the last line, so a removed tail (or an edited last
line, which no later `prev` covers) is detectable whenever the Markdown exists.

Verdicts (and `inv transcripts.verify` exit codes):
    intact     0  every link holds and the run recorded its end (run_finished)
    truncated  1  events are missing at the END and nothing else is wrong: the last line
                  was cut mid-write (crash, kill -9, full disk), or the chain is intact but
                  stops before run_finished (killed run, or a removed tail), or the file
                  has fewer events than transcript.md says
    modified   2  an event was edited, inserted or removed before the end, or the last
                  line does not match the hash recorded in transcript.md
    unsealed   1  the chain is intact and finished, but manifest.json (the seal binding
                  transcript.md and transcript.cast to the chain) is missing
    unsigned   2  --allowed-signers was given and the run has no signature

Then the seal (runbooks/transcripts/seal.py): events.jsonl, transcript.md and the cast
must hash to what manifest.json recorded (an edited or deleted Markdown, or an event
appended after the run, is `modified`), and a signature, when present, must verify
(`ssh-keygen -Y verify` against the allowed-signers file; a bad one is `modified`).
An unsigned intact run proves no accidental damage, not authorship.

Events of the types in AFTER_RUN (the alert lifecycle and notifications, appended by the
monitor tasks once the verdict is known; a serial rollout's decision after a run that ended
WARN) may follow run_finished.

A crash can only cut the LAST line (events are appended and flushed one by one), so a
partial last line is truncation, not tampering.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from runbooks.record.transcript import GENESIS
from runbooks.transcripts.seal import FORMAT, MANIFEST, SEALED_FILES, SIGNATURE, check_signature, sha256_file

EXIT = {"intact": 0, "truncated": 1, "unsealed": 1, "modified": 2, "unsigned": 2}
AFTER_RUN = ("alerts", "notification", "serial")
# Written by templates/transcript.md.j2 (the "Integrity" line).
MD_CHAIN = re.compile(r"events\.jsonl holds (\d+) events; SHA-256 of its last line: `([0-9a-f]{64})`")


@dataclass
class Verification:
    run_dir: Path
    status: str  # intact | modified | truncated
    events: int  # complete, parseable lines read
    message: str
    seq: int | None = None  # the event the problem is at (modified) or the last good one (truncated)
    last_hash: str = GENESIS
    details: list[str] = field(default_factory=list)
    signature: str = "none"  # none | verified | unchecked (present, no allowed-signers given) | invalid
    signer: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT[self.status]

    def to_dict(self) -> dict[str, object]:
        return {"run": str(self.run_dir), "status": self.status, "events": self.events, "seq": self.seq,
                "message": self.message, "last_hash": self.last_hash, "details": self.details,
                "signature": self.signature, "signer": self.signer}

    @property
    def label(self) -> str:
        """INTACT is qualified by what it proves: a signature, or only no accidental damage."""
        if self.status != "intact":
            return self.status.upper()
        if self.signature == "verified":
            return f"INTACT (signed by {self.signer})"
        if self.signature == "unchecked":
            return "INTACT (signed, signature not checked: pass --allowed-signers)"
        return "INTACT (unsigned: proves no accidental damage, not authorship)"


def md_chain(md: Path) -> tuple[int, str] | None:
    """(events, last line hash) as recorded in transcript.md, if it has them."""
    try:
        m = MD_CHAIN.search(md.read_text(encoding="utf-8"))
    except OSError:
        return None
    return (int(m.group(1)), m.group(2)) if m else None


def _prev_of(raw: bytes) -> str | None:
    try:
        ev = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return ev.get("prev") if isinstance(ev, dict) else None


def verify_run(run_dir: str | Path, allowed_signers: Path | None = None) -> Verification:
    v = _verify_chain(run_dir)
    if v.status != "intact":
        return v
    return _verify_seal(v, allowed_signers)


def _verify_seal(v: Verification, allowed_signers: Path | None) -> Verification:
    """The seal (manifest.json) binds events.jsonl, transcript.md and transcript.cast; its
    signature, when there is one, says who sealed them."""
    run = v.run_dir
    manifest = run / MANIFEST

    def bad(status: str, message: str) -> Verification:
        return Verification(run, status, v.events, message, v.seq, v.last_hash, v.details)

    if not manifest.is_file():
        return bad("unsealed", "the chain is intact and ends with run_finished, but there is no manifest.json "
                               "binding transcript.md and the cast to it: a run recorded before runbooks sealed its "
                               "runs, a crash while finishing, or the seal was removed")
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("files"), dict):
            raise ValueError("not a runbooks seal")
    except (UnicodeDecodeError, ValueError) as exc:
        return bad("modified", f"manifest.json is not a valid seal ({exc})")
    if doc.get("events") != v.events or doc.get("last_hash") != v.last_hash:
        return bad("modified", f"events.jsonl does not match its seal: sealed with {doc.get('events')} events ending "
                               f"in {str(doc.get('last_hash'))[:12]}…, now {v.events} ending in {v.last_hash[:12]}…")
    for name in SEALED_FILES:
        want = doc["files"].get(name)
        path = run / name
        if want is None:
            if name != "events.jsonl" and path.exists():
                v.details.append(f"{name} is not covered by the seal")
            continue
        if not path.is_file():
            return bad("modified", f"{name} was deleted after the run was sealed")
        if sha256_file(path) != want:
            return bad("modified", f"{name} was changed after the run was sealed (its SHA-256 differs from manifest.json)")
    sig = run / SIGNATURE
    if not sig.is_file():
        if allowed_signers is not None:
            return bad("unsigned", f"not signed, but --allowed-signers {allowed_signers} asks for a signature: "
                                   "who sealed this record cannot be proven")
        v.message += ", sealed"
        return v
    ok, detail = check_signature(manifest, sig, allowed_signers)
    if not ok:
        out = bad("modified", f"the signature does not verify: {detail}")
        out.signature = "invalid"
        return out
    v.message += ", sealed"
    if allowed_signers is None:
        v.signature = "unchecked"
    else:
        v.signature = "verified"
        v.signer = _signer(detail)
        v.details.append(detail)
    return v


def _signer(line: str) -> str:
    """'Good "ns" signature for alice@example with ED25519 key SHA256:..' -> 'alice@example (ED25519 key SHA256:..)'."""
    m = re.search(r"signature for (.+?) with (.+)$", line)
    return f"{m.group(1)} ({m.group(2)})" if m else line


def _verify_chain(run_dir: str | Path) -> Verification:
    run = Path(run_dir)
    path = run / "events.jsonl" if run.is_dir() else run
    run = path.parent
    data = path.read_bytes()
    lines = data.split(b"\n")
    cut = lines.pop()  # b"" when the file ends with a newline (every complete write does)
    prev = GENESIS
    last_seq = 0
    finished = False
    for n, raw in enumerate(lines, 1):
        try:
            ev = json.loads(raw.decode("utf-8"))
            if not isinstance(ev, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError) as exc:
            return Verification(run, "modified", n - 1, f"line {n} is not a JSON event ({exc}): edited", last_seq + 1, prev)
        seq = ev.get("seq")
        if ev.get("prev") != prev:
            if isinstance(seq, int) and seq > last_seq + 1:
                gone = f"{last_seq + 1}" if seq == last_seq + 2 else f"{last_seq + 1}-{seq - 1}"
                msg = f"event(s) {gone} removed: event {seq} does not link to event {last_seq}"
                return Verification(run, "modified", n - 1, msg, last_seq + 1, prev)
            if n == 1:
                msg = f"event {seq} should be the first (prev = GENESIS) but links elsewhere: edited or head removed"
                return Verification(run, "modified", 0, msg, seq if isinstance(seq, int) else 1, prev)
            # Either the previous line changed (this line intact: the next one still links to
            # it) or this line's own `prev` changed (then the next link breaks too).
            nxt = _prev_of(lines[n]) if n < len(lines) else None
            this_intact = nxt is None or nxt == hashlib.sha256(raw).hexdigest()
            if seq == last_seq + 1 and this_intact:
                msg = f"event {last_seq} was modified: its SHA-256 is not what event {seq} recorded"
                return Verification(run, "modified", n - 1, msg, last_seq, prev)
            return Verification(run, "modified", n - 1, f"event {seq} was modified (its prev link changed)", seq, prev)
        if seq != last_seq + 1:
            return Verification(run, "modified", n - 1, f"line {n} has seq {seq}, expected {last_seq + 1}: edited",
                                seq if isinstance(seq, int) else n, prev)
        last_seq = seq
        prev = hashlib.sha256(raw).hexdigest()
        finished = ev.get("type") == "run_finished" or (finished and ev.get("type") in AFTER_RUN)
    recorded = md_chain(run / "transcript.md")
    if recorded is not None:
        want_n, want_hash = recorded
        if last_seq > want_n:
            return Verification(run, "modified", last_seq,
                                f"{last_seq - want_n} event(s) appended after the run ended (transcript.md says {want_n})",
                                want_n + 1, prev)
        if last_seq == want_n and prev != want_hash:
            return Verification(run, "modified", last_seq,
                                f"event {last_seq} (the last) was modified: its SHA-256 differs from transcript.md's",
                                last_seq, prev)
    if cut:
        return Verification(run, "truncated", last_seq,
                            f"the last line was cut mid-write ({len(cut)} bytes, no newline) after event {last_seq}: "
                            "crash or kill while writing; everything before it is intact", last_seq, prev)
    if recorded is not None and last_seq < recorded[0]:
        return Verification(run, "truncated", last_seq,
                            f"events {last_seq + 1}-{recorded[0]} are missing at the end (transcript.md records {recorded[0]})",
                            last_seq, prev)
    if not finished:
        return Verification(run, "truncated", last_seq,
                            f"the chain is intact but ends at event {last_seq} without run_finished: the run was killed "
                            "or the tail was removed", last_seq, prev)
    details = [] if recorded is not None else ["no transcript.md chain record: an edit to the last event would go unnoticed"]
    return Verification(run, "intact", last_seq, f"{last_seq} events, chain intact, run finished", None, prev, details)
