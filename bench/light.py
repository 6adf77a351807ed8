"""Light hosts for the fan-out: every target answers `doctor` and `monitor.p0` with the
sandbox's own outputs, recorded once, so 32 targets on one machine measure the engine's
fan-out and not 32 Django boots sharing 2 cores.

One real OpenSSH sshd (its own host key, strict known_hosts) whose sessions find a `docker`
stub first in PATH: it replays what the sandbox's docker answered to the same commands
(container inspect, the worker's and backend's logs, the Django shells' result lines), so
the host-side filter (awk) and every byte on the wire are the real ones. `SHLVL=1` in the
session environment keeps bash from reading ~/.bashrc for each command (it does for an
ssh session otherwise; on this machine that is a pyenv init of ~0.1 s per command, which
no prod host pays).
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Any

from runbooks.sshd import SshServer

STUB = r"""#!/bin/sh
# docker, as the sandbox answered (bench/light.py)
D=__DIR__
last=; for a in "$@"; do last=$a; done
case "$1" in
  version) echo 27.3.1 ;;
  inspect) case "$*" in *State.Status*) echo running ;; *) cat "$D/inspect-$last" ;; esac ;;
  logs) cat "$D/logs-$last" ;;
  exec) s=$(cat); case "$s" in *success_photo_times*) cat "$D/db.out" ;; *) cat "$D/doctor.out" ;; esac ;;
  *) echo "docker stub: $*" >&2; exit 1 ;;
esac
"""


def record(env: Any, out: Path) -> Path:
    """Ask the sandbox (over its sshd) what the light hosts will answer; returns the dir."""
    import paramiko

    from bench.parts import monitor_commands

    d = out / "light-data"
    d.mkdir(parents=True, exist_ok=True)
    s = env.servers[0]
    v = env.values()
    client = paramiko.SSHClient()
    client.load_host_keys(str(s.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(s.host, port=s.port, username=s.user, key_filename=str(s.identity_file),
                   look_for_keys=False, allow_agent=False)

    def run(text: str, stdin: str | None = None) -> str:
        i, o, _e = client.exec_command(text)
        if stdin is not None:
            i.write(stdin)
        i.channel.shutdown_write()
        return o.read().decode()

    from bench.fanout import doctor_django

    for role in ("worker", "backend"):
        c = v[role]
        (d / f"logs-{c}").write_text(run(f"docker logs --timestamps --since 24h {shlex.quote(c)} 2>&1"))
        (d / f"inspect-{c}").write_text(run(f"docker inspect --format '{{{{.Created}}}} {{{{.State.StartedAt}}}}' "
                                            f"{shlex.quote(c)}"))
    db = next(c for c in monitor_commands(env) if c[0].startswith("django"))
    (d / "db.out").write_text(run(db[1], db[2]))
    dj = doctor_django(v["backend"])
    (d / "doctor.out").write_text(run(dj.render(), dj.stdin))
    client.close()
    return d


def start(data: Path, out: Path) -> tuple[SshServer, Path]:
    """The light host's sshd and its project dir (a git checkout with a compose file)."""
    bin_dir = out / "light-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    stub = bin_dir / "docker"
    stub.write_text(STUB.replace("__DIR__", shlex.quote(str(data))))
    stub.chmod(0o755)
    project = out / "light-project"
    if not (project / ".git").exists():
        project.mkdir(parents=True, exist_ok=True)
        (project / "compose.yml").write_text("services: {}\n")
        git = ["git", "-C", str(project), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "compose.yml"], check=True)
        subprocess.run([*git, "commit", "-qm", "light host"], check=True)
    srv = SshServer.start(out / "sshd-light", path_prepend=str(bin_dir), env={"SHLVL": "1"})
    return srv, project
