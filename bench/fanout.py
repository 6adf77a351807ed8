"""Fan-out: `doctor` and `monitor.p0` on N light hosts (bench/light.py) behind one latency
relay, each target its own connection, and the raw floor beside: the same remote commands
over N raw paramiko connections in N threads, no engine, no process start."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import light
from .env import BenchEnv
from .proxy import LatencyRelay
from .wan import raw_client, raw_exec


@dataclass
class Fleet:
    env: BenchEnv
    relay: LatencyRelay
    known_hosts: Path
    project: Path
    server: Any
    sizes: list[int]
    config: Path

    @classmethod
    def start(cls, env: BenchEnv, sizes: list[int], rtt_ms: float) -> Fleet:
        data = light.record(env, env.out)
        srv, project = light.start(data, env.out)
        relay = LatencyRelay(srv.port, rtt_ms=rtt_ms)
        kh = env.out / "light_known_hosts"
        kind, blob = srv.host_key.with_suffix(".pub").read_text().split()[:2]
        kh.write_text(f"[127.0.0.1]:{relay.port} {kind} {blob}\n")
        fields = env.sandbox.target_fields()
        targets = {}
        for i in range(1, max(sizes) + 1):
            t = srv.target(project_dir=str(project), containers=fields["containers"],
                           compose_services=fields["compose_services"], role="staging", confirm="yes")
            t.update(port=relay.port, known_hosts=str(kh))
            targets[f"light-{i}"] = t
        direct = srv.target(project_dir=str(project), containers=fields["containers"], role="staging", confirm="yes")
        targets["light-direct"] = direct  # no relay: part 3
        groups = {f"light-x{n}": [f"light-{i}" for i in range(1, n + 1)] for n in sizes}
        config = env.out / "runbooks-fleet.yaml"  # its own file: the other parts' config stays small
        config.write_text(yaml.safe_dump({"targets": targets, "groups": groups}, sort_keys=False))
        return cls(env=env, relay=relay, known_hosts=kh, project=project, server=srv, sizes=sizes, config=config)

    def group(self, n: int) -> str:
        return "light-1" if n == 1 else f"light-x{n}"

    def close(self) -> None:
        self.relay.close()
        self.server.stop()


def _commands(fleet: Fleet, task: str) -> list[list[tuple[str, str, str | None]]]:
    """The remote commands of `task`, in waves: a wave's commands run at once."""
    from runbooks.commands import Command
    from runbooks.packs.eatfit24.doctor import LOG_FILTER
    from runbooks.steps.doctor import PROBE

    from .parts import monitor_commands

    env = fleet.env
    if task == "monitor.p0":  # every P0 check: both containers' logs and the DB (the API is not configured)
        return [monitor_commands(env)]
    v = env.values()
    probe = Command(template=PROBE, vars={"backend": v["backend"], "worker": v["worker"], "project_dir": str(fleet.project),
                                          "filter": LOG_FILTER[0].program(), "filter_sample": LOG_FILTER[1], "docker": True,
                                          "container_names": [v["backend"], v["worker"]]}).render()
    dj = doctor_django(v["backend"])
    return [[("probe", probe, None)], [("django", dj.render(), dj.stdin)]]


def doctor_django(backend: str) -> Any:
    """doctor's Django probe, as doctor renders it (runbooks/steps/doctor.py)."""
    from runbooks.blocks import djshell
    from runbooks.blocks.django_query import query_script
    from runbooks.packs.eatfit24.doctor import DJANGO_QUERY

    return djshell.command(query_script(DJANGO_QUERY), container=backend)


def floor(fleet: Fleet, n: int, task: str) -> dict[str, Any]:
    """N raw paramiko connections through the relay, each running `task`'s commands."""
    waves = _commands(fleet, task)
    errors: list[str] = []

    def one() -> None:
        client = raw_client(fleet.relay.port, fleet.server.user, fleet.server.identity_file, fleet.known_hosts)
        tr = client.get_transport()
        for wave in waves:
            ts = [threading.Thread(target=lambda c=c: errors.extend(
                [c[0]] if raw_exec(tr, c[1], c[2])[0] else [])) for c in wave]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        client.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"fan-out floor: failed: {sorted(set(errors))}")
    return {"wall_s": time.perf_counter() - start}
