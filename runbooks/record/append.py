"""Add to a finished run's transcript what was decided after its verdict: the alert
lifecycle and notifications (runbooks/alerts/hook.py), a serial rollout's decision to go on
to the next target or to stop there (runbooks/lang/serial.py).

Those come after the run's own events end with run_finished, so they are APPENDED to
events.jsonl, continuing the hash chain exactly as the run would have, and transcript.md is
rendered again (its Integrity line then records the new chain head); the task seals the
run once all of it is in. `inv transcripts.verify` accepts these event types
(transcripts/verify.py AFTER_RUN) after run_finished.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from runbooks.record.redact import Redactor
from runbooks.record.render import render_transcript_md
from runbooks.record.transcript import iso, private_open, read_events, utcnow


def append(run_dir: Path, redactor: Redactor, events: list[tuple[str, dict[str, Any]]]) -> None:
    path = run_dir / "events.jsonl"
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines or not raw.endswith(b"\n"):
        return  # a cut record: leave it exactly as it is
    last = lines[-1]
    seq = int(json.loads(last.decode("utf-8"))["seq"])
    prev = hashlib.sha256(last).hexdigest()
    with open(path, "a", encoding="utf-8") as fh:
        for type_, data in events:
            seq += 1
            event = {"seq": seq, "ts": iso(utcnow()), "type": type_, **redactor.obj(data), "prev": prev}
            line = json.dumps(event, ensure_ascii=False, default=str)
            fh.write(line + "\n")
            prev = hashlib.sha256(line.encode("utf-8")).hexdigest()
        fh.flush()
    md = run_dir / "transcript.md"
    text = render_transcript_md(read_events(path), {"chain": {"events": seq, "last_hash": prev}})
    tmp = md.with_suffix(".md.tmp")
    with private_open(tmp) as fh:  # 0600, as every other file of the record
        fh.write(redactor.text(text))
    tmp.replace(md)
