"""Why a missed target is missed, in numbers from the same run (and its profiles)."""

from __future__ import annotations

from typing import Any

from .measure import median


def _med(samples: list[dict[str, Any]], key: str = "wall_s") -> float:
    return median([float(s[key]) for s in samples]) if samples else float("nan")


def notes(d: dict[str, Any], targets: list[dict[str, Any]]) -> list[str]:
    missed = {t["id"] for t in targets if not t["met"]}
    out: list[str] = []
    p12, p4 = d.get("part12") or {}, d.get("part4") or {}
    start = _med(d["part6"]["inv_list"]) if "part6" in d else float("nan")
    for rtt in ("100", "0"):
        if f"rtt{rtt}" not in missed:
            continue
        x = p12[rtt]
        mon, fl = _med(x["monitor_all"]), _med(x["floor"])
        conn = _med(x["floor"], "connect_s")
        split = ""
        if all("to_first_command_s" in s for s in x["monitor_all"]):
            split = (f" Its own split: {_med(x['monitor_all'], 'to_first_command_s'):.2f} s from the process's start "
                     f"to its first command sent (the floor: {conn:.2f} s of handshake), "
                     f"{_med(x['monitor_all'], 'commands_s'):.2f} s to the verdict, "
                     f"{_med(x['monitor_all'], 'after_verdict_s'):.2f} s to exit.")
        out.append(
            f"- At {rtt} ms `monitor.all` is {mon - fl:.2f} s above its floor ({mon:.2f} vs {fl:.2f} s).{split} "
            "The difference is the local process, which the floor does not have: the "
            f"interpreter and Invoke start ({start:.2f} s for `inv --list`, before any of runbooks' task code runs), "
            "the SSH modules' import (paramiko, cryptography, fabric) that must finish before the first packet, and "
            "after the commands the evaluation, the transcript (events, transcript.md, cast, seal) and the alert "
            "history. The handshake now overlaps the engine's, the console's and the monitor's imports "
            "(connectors/early.py) and the API GET runs inside the gather batch; what is left is CPU on a shared "
            "2-core machine (see the profiles below, and the load average above).")
    if "cpu" in missed:
        cpu = _med(p4["p0_1"], "cpu_s")
        out.append(f"- `monitor.p0` uses {cpu:.2f} s of local CPU; most of it is starting Python and importing "
                   "modules (Invoke, paramiko and cryptography, Fabric, Rich, Jinja2, PyYAML, and runbooks' own, "
                   "whose dataclasses are built at import: see the profile), then the SSH handshake's crypto, the "
                   "log parsing and checks and the transcript. The tool's bytecode is compiled before the bench "
                   "runs, as an installed copy's is.")
    if "step" in missed:
        from .report import per_step

        p3, n = d["part3"], d["noop_steps"]
        raws = sorted(x["wall_s"] / n * 1000 for x in p3["raw_paramiko"])
        wrapped = (_med(p3["raw_paramiko_wrapped"]) - _med(p3["raw_paramiko"])) / n * 1000
        out.append(f"- Engine overhead {per_step(d)[0]:.1f} ms per step: the wrapper alone (no engine, row 2 of part 3) "
                   f"is {wrapped:+.1f} ms per "
                   "command; the rest is the engine's Python per step (transcript events, console) under a shared "
                   f"CPU. The raw channel itself varies from {raws[0]:.0f} to {raws[-1]:.0f} ms per command between "
                   "runs here, more than the target.")
    for n in (8, 32):
        if f"fan{n}" not in missed:
            continue
        c1, cn = _med(p4["p0_1"], "cpu_s"), _med(p4[f"p0_{n}"], "cpu_s")
        per = (cn - c1) / (n - 1)
        f1, fn = _med(p4["floor_p0_1"]), _med(p4[f"floor_p0_{n}"])
        out.append(f"- {n} targets: each target past the first costs {per * 1000:.0f} ms of local CPU (p0: "
                   f"{c1:.2f} s for one, {cn:.2f} s for {n}): parsing its logs and running the checks, its record "
                   f"(events, transcript.md at the verdict and again with the alert lifecycle, cast, seal), "
                   f"paramiko's packet thread and the alert history. Python runs one thread at a time, so {n} "
                   f"targets' work queues on one core while sshd, the hosts' shells and the relay use the other; "
                   f"the raw floor itself goes from {f1:.2f} to {fn:.2f} s ({fn / f1:.2f}x).")
    return out
