"""One function per measured thing; each returns a flat dict of numbers for the report."""

from __future__ import annotations

import io
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from .env import ROOT, BenchEnv, django_boots, inv_argv
from .measure import timed


class HostDelta:
    """What the host saw between two points: ssh sessions, docker calls, Django boots."""

    def __init__(self, env: BenchEnv) -> None:
        self.env = env
        self.sessions = env.sessions()
        self.calls = len(env.docker_calls())

    def done(self) -> dict[str, int]:
        calls = self.env.docker_calls()[self.calls:]
        return {"ssh_sessions": self.env.sessions() - self.sessions, "docker_calls": len(calls),
                "django_boots": django_boots(calls)}


# ---------------------------------------------------------------- the tool
def transcript_stats(doc: dict[str, Any]) -> dict[str, Any]:
    """remote commands and payload bytes from the run's events.jsonl."""
    runs = doc.get("runs") or [doc]
    remote, payload = 0, 0
    for r in runs:
        tr = r.get("transcript")
        if not tr:
            continue
        for line in (Path(tr).parent / "events.jsonl").read_text().splitlines():
            ev = json.loads(line)
            if ev.get("type") == "command_finished":
                payload += len((ev.get("stdout") or "").encode()) + len((ev.get("stderr") or "").encode())
            elif ev.get("type") == "run_finished":
                remote += int(ev.get("remote_commands") or 0)
    return {"remote_commands": remote, "payload_bytes": payload}


def tool_run(env: BenchEnv, task: str, target: str, *extra: str, config: Path | None = None) -> dict[str, Any]:
    delta = HostDelta(env)
    environ = env.environ()
    if config is not None:
        environ["RUNBOOKS_CONFIG"] = str(config)
    spawned = time.time()
    m = timed(inv_argv(task, "--target", target, "--json", *extra), env=environ, cwd=ROOT)
    try:
        doc = json.loads(m.stdout)
    except ValueError:
        raise RuntimeError(f"{task} printed no JSON (exit {m.returncode}): {m.stderr[-800:]}") from None
    if m.returncode not in (0, 1, 2) or doc.get("verdict") in ("error", "failed", "aborted"):
        raise RuntimeError(f"{task} on {target}: verdict {doc.get('verdict')} exit {m.returncode}: {m.stderr[-800:]}")
    return {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "maxrss_mb": m.maxrss_mb, "exit": m.returncode,
            "verdict": doc.get("verdict"), **transcript_stats(doc), **phases(doc, spawned, m.wall_s), **delta.done()}


def phases(doc: dict[str, Any], spawned: float, wall: float) -> dict[str, float]:
    """Where a single run's wall time went, from its own events: process start -> first
    remote command sent, -> verdict (run_finished), -> process exit."""
    tr = doc.get("transcript") if not doc.get("runs") else None
    if not tr:
        return {}
    first = last = None
    for line in (Path(tr).parent / "events.jsonl").read_text().splitlines():
        ev = json.loads(line)
        if ev.get("type") == "command" and first is None:
            first = _epoch(ev["ts"])
        elif ev.get("type") == "run_finished":
            last = _epoch(ev["ts"])
    if first is None or last is None:
        return {}
    return {"to_first_command_s": first - spawned, "commands_s": last - first, "after_verdict_s": spawned + wall - last}


def _epoch(ts: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def profile(env: BenchEnv, task: str, target: str, config: Path | None = None, lines: int = 70) -> str:
    """pyinstrument's view of one run (the main thread: where the wall time goes)."""
    import tempfile

    environ = env.environ()
    if config is not None:
        environ["RUNBOOKS_CONFIG"] = str(config)
    with tempfile.NamedTemporaryFile(suffix=".txt") as f:
        m = timed([sys.executable, "-m", "pyinstrument", "-i", "0.002", "-r", "text", "-o", f.name, "-m", "invoke",
                   "-r", str(ROOT), task, "--target", target, "--json"], env=environ, cwd=ROOT)
        text = Path(f.name).read_text(errors="replace")
    if m.returncode not in (0, 1, 2) or not text:
        return f"(pyinstrument did not run: exit {m.returncode}: {m.stderr[-300:]})"
    keep = [ln for ln in text.splitlines() if ln.strip() and len(ln) < 170]
    return "\n".join(keep[:lines])


# ---------------------------------------------------------------- 2: Ansible
def ansible_run(env: BenchEnv, playbook: Path, aenv: dict[str, str], inventory: Path) -> dict[str, Any]:
    delta = HostDelta(env)
    exe = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or "ansible-playbook"
    m = timed([exe, "-i", str(inventory), str(playbook)], env=aenv, cwd=playbook.parent)
    if m.returncode != 0:
        raise RuntimeError(f"ansible-playbook {playbook.name} exit {m.returncode}: {m.stdout[-1500:]} {m.stderr[-500:]}")
    tasks = m.stdout.count("\nTASK [")
    return {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "maxrss_mb": m.maxrss_mb, "tasks": tasks, **delta.done()}


def ansible_stop_masters(aenv: dict[str, str], cp_dir: Path) -> None:
    """ControlPersist masters Ansible left behind: ask each to exit (by its socket)."""
    if not cp_dir.is_dir():
        return
    for sock in cp_dir.iterdir():
        timed(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"], env=aenv, timeout=10)


def monitor_commands(env: BenchEnv) -> list[tuple[str, str, str | None]]:
    """monitor.all's three remote commands, rendered exactly as the monitor renders them."""
    from runbooks.packs.eatfit24.monitor import gather
    from runbooks.packs.eatfit24.monitor.steps import SUCCESS_CREATED_LIMIT
    from runbooks.packs.eatfit24.monitor.window import parse_since

    w = parse_since("24h")
    v = env.values()
    # the gather's own parameters: with the worker's logs in the same batch it asks for the
    # SUCCESS photos' creation times too (the processing-time check)
    params = gather.db_params(w, 60, 20, None, serializer=True, success_created_limit=SUCCESS_CREATED_LIMIT)
    db = gather.db_command(v["backend"], gather.render_db_script(params))
    return [("worker logs (filtered on host)", gather.logs_command(v["worker"], w, None, 5).render(), None),
            ("backend logs (filtered on host)", gather.logs_command(v["backend"], w, None, 5).render(), None),
            ("django shell: all DB checks", db.render(), db.stdin)]


# ---------------------------------------------------------------- 3: engine overhead
def engine_inprocess(env: BenchEnv, playbook: Path, config: Path | None = None,
                     target: str = "bench-1") -> dict[str, Any]:
    from runbooks.config import load_config
    from runbooks.engine.options import RunOptions
    from runbooks.engine.run import run_playbook
    from runbooks.lang.parse import load_playbook
    from runbooks.record.console import Out
    from runbooks.record.redact import Redactor

    start = time.perf_counter()
    tgt = load_config(config or env.config).target(target)
    pb = load_playbook(playbook)
    res = run_playbook(pb, tgt, RunOptions(task="noop50", transcript_dir=env.out / "transcripts", interactive=False),
                       Out(stream=io.StringIO()), Redactor())
    wall = time.perf_counter() - start
    if res.verdict != "ok":
        raise RuntimeError(f"noop50 in-process: {res.verdict} {res.message}")
    return {"wall_s": wall, "steps": len(res.steps)}


def noop_playbook(path: Path, n: int) -> Path:
    steps = "\n".join(f"  - {{name: noop-{i:02d}, kind: shell, params: {{command: 'true'}}}}" for i in range(1, n + 1))
    path.write_text(f"name: noop{n}\ndescription: {n} shell steps running `true`\nsteps:\n{steps}\n")
    return path


def wrapped_true() -> str:
    """The engine's wrapper around `true` (connectors/hostguard.py, default 300 s timeout)."""
    from runbooks.connectors.hostguard import wrap

    return wrap("true", 300)


def raw_paramiko(s: Any, n: int, wrapped: bool = False) -> dict[str, Any]:
    """One paramiko connection (strict host key), `true` n times with exec_command
    (`wrapped`: the same command string the engine sends, so only the engine's Python differs)."""
    from .wan import raw_client

    start = time.perf_counter()
    client = raw_client(s.port, s.user, s.identity_file, s.known_hosts)
    connected = time.perf_counter()
    transport = client.get_transport()
    assert transport is not None
    for _ in range(n):  # per command: open a channel, exec, read to EOF, exit status, close
        chan = transport.open_session()
        chan.exec_command(wrapped_true() if wrapped else "true")
        chan.shutdown_write()
        while chan.recv(65536) or chan.recv_stderr_ready():
            chan.recv_stderr(65536)
        if chan.recv_exit_status() != 0:
            raise RuntimeError("true failed over raw paramiko")
        chan.close()
    end = time.perf_counter()
    client.close()
    return {"wall_s": end - start, "connect_s": connected - start, "per_command_ms": (end - connected) / n * 1000}


# ---------------------------------------------------------------- 6: start-up
def startup(argv: list[str]) -> dict[str, Any]:
    m = timed(argv, cwd=ROOT)
    if m.returncode != 0:
        raise RuntimeError(f"{argv}: exit {m.returncode}: {m.stderr[-300:]}")
    return {"wall_s": m.wall_s, "maxrss_mb": m.maxrss_mb}
