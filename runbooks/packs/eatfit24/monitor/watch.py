"""`monitor.watch`: both containers' marker lines, live, over ONE channel.

The two follows run on the host as one command (`( follow worker ) & ( follow backend ) &
wait`), each line prefixed with its container's role, so a single SSH channel carries both
and Ctrl-C (or --duration) kills both on the host. Lines are classified and counted as they
arrive; every marker line is also an event in the transcript.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass

from runbooks import __version__
from runbooks.config import Target
from runbooks.connectors import connect
from runbooks.connectors.base import hop_fields
from runbooks.errors import RunbooksError, Terminated
from runbooks.packs.eatfit24.monitor.follow import WatchCounters, follow_commands
from runbooks.packs.eatfit24.target import require as require_target
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.record.transcript import Transcript, iso, utcnow
from runbooks.summary import SIMULATED, SIMULATED_SHORT
from runbooks.transcripts.seal import seal_run


def combined_follow(target: Target, tail: int) -> str:
    """Both follows as one host command: each tags its lines with its role."""
    cmds = follow_commands(dict(target.containers), tail)
    return " & ".join(f"( {c.render()} )" for c in cmds) + " & wait"


@dataclass
class WatchResult:
    exit_code: int
    transcript: str
    summary: str


def watch(target: Target, out: Out, redactor: Redactor, transcript_dir, tail: int = 50,
          duration: float | None = None, argv: list[str] | None = None,
          signing_key: str | None = None) -> WatchResult:
    require_target(target)  # before the record and the connection: one line naming the missing key
    tr = Transcript(transcript_dir, "monitor.watch", target.name, redactor)
    tr.emit("run_started", playbook="monitor.watch", target=target.name, address=target.address, role=target.role,
            simulated=target.simulated,
            operator=getpass.getuser(), client_host=socket.gethostname(), argv=" ".join(argv or []),
            version=__version__, commit=None, options={"tail": tail, "duration": duration}, steps=["follow"])
    counters = WatchCounters()
    buffers: dict[str, str] = {"stdout": "", "stderr": ""}
    verdict, code, message = "ok", 0, ""

    def on_output(stream: str, text: str) -> None:
        buf = buffers[stream] + text
        *lines, buffers[stream] = buf.split("\n")
        for raw in lines:
            role, sep, line = raw.partition("\t")
            if not sep:
                role, line = "host", raw
            container = target.containers.get(role, role)
            wl = counters.add(container, line)
            if wl is None:
                continue
            tr.emit("watch_line", container=container, kind=wl.kind, docker_ts=wl.ts, text=wl.text)
            out.line(f"{wl.ts or '':<30} {role:<7} {wl.kind:<22} {redactor.text(wl.text)}", wl.style if wl.style != "default" else None)

    conn = None
    try:
        conn = connect(target)
        tr.emit("connected", address=conn.description, host_key=conn.host_key_fingerprint, transport=target.transport,
                **hop_fields(conn))
        tr.events[0]["host_key"] = conn.host_key_fingerprint
        out.run_started("monitor.watch", target.name, conn.description, conn.host_key_fingerprint, False)
        command = combined_follow(target, tail)
        tr.emit("step_started", step="follow", kind="monitor.watch", description="follow both containers' marker lines")
        started = tr.emit("command", step="follow", command=command, mutates=False, timeout=duration, dry_run=False)
        out.command(target.name, command, False, False)
        out.line(f"following {', '.join(target.containers.values())}; Ctrl-C to stop"
                 + (f"  ·  {SIMULATED}" if target.simulated else ""), "dim")
        res = conn.run(command, timeout=duration or None, on_output=on_output, display=command)
        for stream, rest in buffers.items():
            if rest:
                on_output(stream, "\n")
        status = "ok" if (res.timed_out or res.exit_code == 0) else "failed"
        if status == "failed":
            verdict, code, message = "failed", 2, f"follow ended with exit {res.exit_code}: {res.stderr.strip()[-200:]}"
        tr.emit("command_finished", step="follow", command=command, command_seq=started["seq"], exit_code=res.exit_code,
                duration_s=round(res.duration_s, 3), timed_out=False, timeout=duration, dry_run=False, mutates=False,
                stdout="", stderr=res.stderr[-20000:])
        tr.emit("step_finished", step="follow", status=status, duration_s=round(res.duration_s, 3),
                message=f"ended after --duration {duration:g}s" if res.timed_out else message)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (errors.Terminated): the follow is killed on the host
        how = f"terminated by {exc.signame}" if isinstance(exc, Terminated) else "stopped by the operator (Ctrl-C)"
        verdict, code, message = "aborted", 4, how
        tr.emit("interrupted", message=message)
        tr.emit("step_finished", step="follow", status="ok", duration_s=0, message=message)
    except RunbooksError as exc:
        verdict, code, message = "error", exc.exit_code, exc.message
        tr.emit("error", message=message)
        out.error(message)
    finally:
        if conn is not None:
            conn.close()
    summary = counters.summary()
    metrics = {f"watch_{k}": v for k, v in counters.total.items()}
    tr.emit("note", step="follow", text=f"counters: {summary}", level="info")
    tr.emit("run_finished", verdict=verdict, exit_code=code, message=message, metrics=metrics, finished_at=iso(utcnow()))
    tr.close()
    tr.render_markdown()
    seal_run(tr.dir, signing_key, lambda m: out.note(target.name, m, "warn"))
    out.line(f"counters: {summary}" + (f"  ·  {SIMULATED_SHORT}" if target.simulated else ""), "bold")
    out.line(f"Transcript: {tr.md_path}", "dim")
    return WatchResult(code, str(tr.md_path), summary)


__all__ = ["watch", "combined_follow", "WatchResult"]
