"""`inv play --check-only FILE`: validate a playbook without a config or a connection.

Everything the parser checks (keys, kinds and their params, expressions and templates,
`steps.X` read before X ran, includes and vars files) plus the --tags / --skip-tags asked
for. One line per outcome; exit 0 valid, 3 not (the line names file:line:key).
"""

from __future__ import annotations

import json
import sys

from runbooks.errors import CANNOT_RUN, RunbooksError
from runbooks.lang.parse import load_playbook
from runbooks.lang.plan import Selection


def check_only(path: str, selection: Selection = Selection(), json_mode: bool = False) -> int:
    try:
        pb = load_playbook(path)
        selection.check(pb)
    except RunbooksError as exc:
        _say(json_mode, {"playbook": str(path), "valid": False, "error": exc.message}, exc.message, err=True)
        return CANNOT_RUN
    steps = [s for s in pb.steps if selection.selects(s.tags, s.always)]
    kinds = sorted({s.kind for s in steps})
    extra = f"; includes {', '.join(pb.includes)}" if pb.includes else ""
    line = (f"{pb.source}: valid: playbook {pb.name!r}, {len(steps)} step(s) ({', '.join(kinds)})"
            f"{', mutating' if pb.mutating else ''}{extra}; nothing was run")
    _say(json_mode, {"playbook": pb.name, "file": pb.source, "valid": True, "mutating": pb.mutating,
                     "steps": [s.name for s in steps], "includes": list(pb.includes)}, line)
    return 0


def _say(json_mode: bool, doc: dict[str, object], line: str, err: bool = False) -> None:
    if json_mode:
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stderr.write(line + "\n")
    else:
        (sys.stderr if err else sys.stdout).write(line + "\n")
