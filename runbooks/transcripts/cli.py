"""Bodies of `inv transcripts.verify` and `inv transcripts.timeline` (the task module stays
import-light; this one may import the engine)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runbooks.engine.verdict import exit_for
from runbooks.errors import RunbooksError
from runbooks.record.console import Out
from runbooks.record.transcript import default_transcript_dir
from runbooks.transcripts.verify import verify_run

_STYLE = {"intact": "green", "truncated": "bold yellow", "unsealed": "bold yellow", "modified": "bold red",
          "unsigned": "bold red"}


def verify(path: str, as_json: bool = False, allowed_signers: str | None = None) -> int:
    """Exit 0 intact, 1 truncated/unsealed, 2 modified/unsigned (worst over the runs), 3 nothing to verify."""
    out = Out(json_mode=as_json)
    signers = Path(allowed_signers).expanduser() if allowed_signers else None
    if signers is not None and not signers.is_file():
        return _verify_error(out, as_json, f"--allowed-signers {allowed_signers}: no such file")
    p = Path(path)
    if (p / "events.jsonl").is_file() or p.name == "events.jsonl" and p.is_file():
        dirs = [p if p.is_dir() else p.parent]
    elif p.is_dir():
        dirs = sorted(d for d in p.iterdir() if (d / "events.jsonl").is_file())
    else:
        dirs = []
    if not dirs:
        return _verify_error(out, as_json, f"{path}: no run folder (a directory with events.jsonl) found")
    try:
        results = [verify_run(d, signers) for d in dirs]
    except OSError as exc:
        return _verify_error(out, as_json, f"{exc.filename or path}: cannot read: {exc.strerror or exc}")
    for r in results:
        out.line(f"{r.label:9} {r.run_dir}: {r.message}", _STYLE[r.status])
        for d in r.details:
            out.line(f"          note: {d}", "dim")
    worst = max(results, key=lambda r: r.exit_code)
    code = worst.exit_code
    if as_json:
        doc = {"verdict": worst.status, "exit_code": code, "runs": [r.to_dict() for r in results]}
        sys.stdout.write(json.dumps(doc) + "\n")
    return code


def _verify_error(out: Out, as_json: bool, message: str) -> int:
    out.error(message)
    if as_json:
        sys.stdout.write(json.dumps({"verdict": "error", "exit_code": exit_for("error"), "message": message,
                                     "runs": []}) + "\n")
    return exit_for("error")


def timeline(since: str | None, transcript_dir: str | None, out_file: str | None) -> int:
    from runbooks.transcripts.timeline import build

    out = Out()
    tdir = Path(transcript_dir) if transcript_dir else default_transcript_dir()
    try:
        base = Path(out_file).resolve().parent if out_file else Path.cwd()
        text, runs = build(tdir, since, link_base=base)
    except RunbooksError as exc:
        out.error(exc.message)
        return exc.exit_code
    if out_file:
        Path(out_file).parent.mkdir(parents=True, exist_ok=True)
        Path(out_file).write_text(text, encoding="utf-8")
        out.line(f"Timeline of {len(runs)} run(s) written to {out_file}", "dim")
    else:
        from runbooks.safetext import clean

        sys.stdout.write(clean(text))  # an edited events.jsonl must not drive the terminal either
        sys.stdout.flush()
    return 0
