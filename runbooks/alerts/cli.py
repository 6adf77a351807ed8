"""`inv alerts.ack` and `inv alerts.list` (the task module stays thin)."""

from __future__ import annotations

import getpass
import json
import socket
import sys
from datetime import datetime, timezone
from typing import Any

from runbooks.alerts import lifecycle
from runbooks.errors import InputError, RunbooksError
from runbooks.record.console import Out


def _target_and_history(target: str | None, transcript_dir: str | None, single: bool) -> tuple[list[str], Any]:
    from runbooks.config import load_config
    from runbooks.packs.eatfit24.monitor.history import history_path

    names = load_config().target_names(target)
    if single and len(names) != 1:
        raise InputError(f"alerts.ack acknowledges on one target at a time; got {', '.join(names)}")
    return names, history_path(transcript_dir)


def ack(key: str | None, for_: str | None, why: str | None, target: str | None, transcript_dir: str | None,
        as_json: bool = False) -> int:
    from runbooks.packs.eatfit24.monitor.schedule import parse_duration
    from runbooks.record.transcript import iso

    out = Out(json_mode=as_json)
    try:
        if not key or not key.strip():
            raise InputError("alerts.ack: KEY is required (see `inv alerts.list`)")
        span = parse_duration(for_ or "4h", "--for")
        if span.total_seconds() <= 0:
            raise InputError("--for: must be longer than 0")
        if not why or not why.strip():
            raise InputError('--why: say why the problem may stay quiet (e.g. --why "fix deploys at 14:00")')
        names, hist = _target_and_history(target, transcript_dir, single=True)
        from runbooks.packs.eatfit24.monitor.history import History

        con = History(hist).connect()
        who = f"{getpass.getuser()}@{socket.gethostname()}"
        until = iso(datetime.now(timezone.utc) + span)
        try:
            row = lifecycle.ack(con, names[0], key.strip(), until, who, why.strip())
        except KeyError:
            open_keys = [r["key"] for r in lifecycle.open_problems(con, names[0])]
            raise InputError(f"no open problem {key!r} on {names[0]}"
                             + (f" (open: {', '.join(open_keys)})" if open_keys else " (no open problems)")) from None
        except ValueError as exc:
            raise InputError(f"{key!r} matches several open problems: {exc}") from None
        finally:
            con.close()
    except RunbooksError as exc:
        out.error(exc.message)
        return exc.exit_code
    out.line(f"ACKNOWLEDGED {row['key']} on {names[0]} until {until} by {who}: {why.strip()}", "bold")
    out.line("Still shown by every run; no notification until then.", "dim")
    if as_json:
        sys.stdout.write(json.dumps({"target": names[0], "key": row["key"], "until": until, "by": who,
                                    "why": why.strip()}) + "\n")
    return 0


def list_(target: str | None, transcript_dir: str | None, as_json: bool = False, include_resolved: bool = False) -> int:
    out = Out(json_mode=as_json)
    try:
        names, hist = _target_and_history(target, transcript_dir, single=False)
    except RunbooksError as exc:
        out.error(exc.message)
        return exc.exit_code
    rows: list[dict[str, Any]] = []
    if hist.is_file():
        from runbooks.packs.eatfit24.monitor.history import History

        con = History(hist).connect()
        try:
            for name in names:
                acks = lifecycle.active_acks(con, name)
                where = "" if include_resolved else " AND state='open'"
                for r in con.execute("SELECT key, finding, severity, count, first_seen, last_seen, seen, state, "
                                     f"resolved_at FROM problems WHERE target=?{where} ORDER BY id", (name,)):
                    key, finding, sev, count, first, last, seen, state, resolved = r
                    rows.append({"target": name, "key": key, "finding": finding, "severity": sev, "count": count,
                                 "first_seen": first, "last_seen": last, "seen": seen, "state": state,
                                 "resolved_at": resolved, "acked": acks.get(key) if state == "open" else None})
        finally:
            con.close()
    if as_json:
        sys.stdout.write(json.dumps({"history": str(hist), "problems": rows}) + "\n")
        return 0
    if not rows:
        out.line(f"No open problems on {', '.join(names)} (history: {hist}).")
        return 0
    out.table(f"Problems on {', '.join(names)}", ["Sev", "Key", "State", "Count", "First seen", "Last seen", "Seen",
                                                   "Acknowledged"],
              [[r["severity"], r["key"], r["state"] + (f" {r['resolved_at']}" if r["resolved_at"] else ""), r["count"],
                r["first_seen"], r["last_seen"], f"{r['seen']} run(s)",
                f"by {r['acked']['by']} until {r['acked']['until']}: {r['acked']['why']}" if r["acked"] else ""]
               for r in rows])
    return 0
