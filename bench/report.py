"""results.md: the machine, a Summary, the targets (measured / met, with the reason for every
miss), one table per part (medians, ratios) and the profiles behind the reasons."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from .measure import median
from .notes import notes


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    return {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}", "openssh": ssh,
            "ansible_core": _version("ansible-core"), "paramiko": _version("paramiko"),
            "fabric": _version("fabric"), "invoke": _version("invoke"), "executable": sys.executable}


def med(samples: list[dict[str, Any]], key: str = "wall_s") -> float:
    return median([float(s[key]) for s in samples]) if samples else float("nan")


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


WAYS = (("`inv monitor.all`", "monitor_all"),
        ("checklist by hand, one `ssh` per command", "by_hand"),
        ("by hand with ControlMaster (an expert)", "control_master"),
        ("`ansible-playbook` of the checklist, ControlPersist cold (no master)", "ansible_cold"),
        ("`ansible-playbook` of the checklist, ControlPersist warm (master up)", "ansible_warm"),
        ("floor: one handshake + the remote commands at once (raw paramiko)", "floor"))


def per_step(d: dict[str, Any]) -> tuple[float, float]:
    """(ms per step the engine adds over the raw channel, s it adds once per run): the
    slope between a 5-step and an N-step playbook, so the run's own record (transcript.md,
    the seal) is not spread over the steps."""
    p3, n = d["part3"], d["noop_steps"]
    if "engine_inprocess_few" not in p3:  # an older results.json
        return (med(p3["engine_inprocess"]) - med(p3["raw_paramiko"])) / n * 1000, 0.0
    eng = (med(p3["engine_inprocess"]) - med(p3["engine_inprocess_few"])) / (n - 5)
    raw = (med(p3["raw_paramiko"]) - med(p3["raw_paramiko_few"])) / (n - 5)
    fixed = (med(p3["engine_inprocess_few"]) - med(p3["raw_paramiko_few"])) - 5 * (eng - raw)
    return (eng - raw) * 1000, fixed


def evaluate(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target: id, what, measured, met (None when the part did not run)."""
    out: list[dict[str, Any]] = []
    p12 = d.get("part12") or {}
    rtts = sorted(p12, key=float)
    for rtt, limit in (("100", 1.25), ("0", 1.35)):
        if rtt in p12:
            r = med(p12[rtt]["monitor_all"]) / med(p12[rtt]["floor"])
            out.append({"id": f"rtt{rtt}", "target": f"at {rtt} ms RTT, `monitor.all` <= {limit}x its floor",
                        "value": f"{r:.2f}x ({med(p12[rtt]['monitor_all']):.2f} s vs {med(p12[rtt]['floor']):.2f} s)",
                        "met": r <= limit})
    if rtts:
        mon = p12[rtts[0]]["monitor_all"]
        cmds = max(s["ssh_sessions"] for s in mon)
        out.append({"id": "cmds", "target": "`monitor.all` <= containers + 2 remote commands (2 + 2)",
                    "value": f"{cmds}", "met": cmds <= 4})
    p4 = d.get("part4") or {}
    if "p0_1" in p4:
        cpu = med(p4["p0_1"], "cpu_s")
        out.append({"id": "cpu", "target": "local CPU per `monitor.p0` <= 0.3 s", "value": f"{cpu:.2f} s",
                    "met": cpu <= 0.3})
    if "part3" in d:
        per, fixed = per_step(d)
        out.append({"id": "step", "target": "engine overhead per step <= 5 ms over the raw channel (host-side kill kept)",
                    "value": f"{per:.1f} ms (+ {fixed * 1000:.0f} ms once per run)", "met": per <= 5})
    sizes = [int(x) for x in d.get("fanout", [])]
    for n, limit in ((8, 1.3), (32, 2.0)):
        if n in sizes and f"p0_{n}" in p4:
            rs = {t: med(p4[f"{t}_{n}"]) / med(p4[f"{t}_1"]) for t in ("doctor", "p0")}
            out.append({"id": f"fan{n}", "target": f"{n} targets <= {limit}x one (`doctor`, `monitor.p0`)",
                        "value": f"doctor {rs['doctor']:.2f}x, p0 {rs['p0']:.2f}x",
                        "met": max(rs.values()) <= limit})
    if "part5" in d:
        full = d["part5"]["full"]
        ratio = max(s["wire_in"] for s in full) / d["biglog"]["bytes"]
        rss = max(s["maxrss_mb"] for s in full + d["part5"]["tail1000"])
        out.append({"id": "log", "target": f"{d['biglog']['lines']:,}-line log: bytes transferred <= 1% of it; "
                                           "local peak RSS < 150 MB",
                    "value": f"{ratio * 100:.2f}%, {rss:.0f} MB", "met": ratio <= 0.01 and rss < 150})
    if "part6" in d:
        il = med(d["part6"]["inv_list"])
        out.append({"id": "list", "target": "`inv --list` < 0.5 s", "value": f"{il:.2f} s", "met": il < 0.5})
    return out


def write_report(d: dict[str, Any], path: Path) -> list[str]:
    """Write results.md; returns the checklist commands that failed (the baseline must be real)."""
    m = d["machine"]
    targets = evaluate(d)
    p12 = d.get("part12") or {}
    failures = sorted({f for rtt in p12.values() for k in ("by_hand", "control_master")
                       for s in rtt.get(k, []) for f in s["failures"]})
    lb, la = d.get("load_before", [0, 0, 0]), d.get("load_after", [0, 0, 0])
    L: list[str] = ["# runbooks benchmark results", "",
                    f"Generated by `python bench/run.py{' --quick' if d['quick'] else ''}` in {d.get('total_s', 0):.0f} s; "
                    f"medians of interleaved runs ({d['runs']} of `monitor.all`, the floor and the fan-out; "
                    f"{d['slow_runs']} of the ways by hand and Ansible). Load average before: "
                    f"{lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}, after: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} (2 cores, shared). "
                    "Raw samples: `results.json` in the run's `--out` directory (default `bench/out/`, not committed)." + (f" {d['note']}" if d.get("note") else ""), "",
                    "## Summary", "", summary(d, targets), "",
                    "## Machine", "", f"- CPU: {m['cpu']}, {m['cores']} cores; {m['os']}",
                    f"- Python {m['python']}; {m['openssh']}; ansible-core {m['ansible_core']}; paramiko {m['paramiko']}; "
                    f"fabric {m['fabric']}; invoke {m['invoke']}",
                    "- Host: the runbooks sandbox (simulated eatfit24: docker shim, Django + SQLite) behind a real OpenSSH "
                    f"sshd on 127.0.0.1; traffic: {d.get('traffic')}",
                    "- Network: a relay (`bench/proxy.py`) delays each direction by RTT/2 and a TCP connect by 1.5 RTT, "
                    "for SSH and for the API alike.",
                    "", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for t in targets:
        L.append(f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |")
    L += ["", *notes(d, targets)]
    if p12:
        rtts = sorted(p12, key=float)
        L += ["", "## 1-2. The checklist's sections 1-6 and cheatsheet, at the operator's distance from prod", "",
              "| way | " + " | ".join(f"RTT {r} ms" for r in rtts) + " |", "|---" * (len(rtts) + 1) + "|"]
        for label, key in WAYS:
            cells = []
            for r in rtts:
                s = p12[r].get(key) or []
                if not s:
                    cells.append("-")
                    continue
                x = med(s) / med(p12[r]["monitor_all"])
                cells.append(f"{med(s):.2f} s" + ("" if key == "monitor_all" else f" ({x:.1f}x)"))
            L.append(f"| {label} | " + " | ".join(cells) + " |")
        splits = [f"{r} ms: {med(p12[r]['monitor_all'], 'to_first_command_s'):.2f} s from the process's start to its "
                  f"first command sent, {med(p12[r]['monitor_all'], 'commands_s'):.2f} s to the verdict, "
                  f"{med(p12[r]['monitor_all'], 'after_verdict_s'):.2f} s to exit (the floor's handshake: "
                  f"{med(p12[r]['floor'], 'connect_s'):.2f} s)"
                  for r in rtts if all("to_first_command_s" in s for s in p12[r]["monitor_all"])]
        if splits:
            L += ["", "Where `monitor.all`'s time goes (from its own events): " + "; ".join(splits) + "."]
        L += ["", "(x: times `monitor.all`'s own time at that RTT.) `monitor.all` gives every verdict of the checklist "
              "in its remote commands (2 filtered log scans and 1 Django shell, at once) and the API GET from the "
              "operator's machine inside the same batch; by hand and Ansible run the checklist's 23 commands (21 over "
              "ssh, 2 curl). Ansible's cold row has no ControlPersist master when it starts (each run pays its "
              "handshake); the warm row starts with the master another run left up, as a second run within 60 s "
              "does. The floor is what no tool can beat: one SSH handshake from an already running, already "
              "imported Python and the same remote commands at once."]
        if failures:
            L.append(f"\nChecklist commands that did not run cleanly: {failures}")
    if "part3" in d:
        L += section3(d)
    if d.get("part4"):
        L += section4(d)
    if "part5" in d:
        L += section5(d)
    if "part6" in d:
        L += ["", "## 6. Start-up", "", "| command | wall (median) | peak RSS |", "|---|---|---|"]
        for label, key in (("`inv --list`", "inv_list"), ("`runbooks --help`", "runbooks_help")):
            L.append(f"| {label} | {med(d['part6'][key]):.3f} s | {med(d['part6'][key], 'maxrss_mb'):.0f} MB |")
    for name, text in (d.get("profiles") or {}).items():
        L += ["", f"## Profile: {name}", "", "```", text.rstrip(), "```"]
    L.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(L))
    return failures


README_INTRO = (
    "`python -m pip install -e '.[bench]' && python bench/run.py` brings the sandbox up behind a real `sshd` on "
    "127.0.0.1 with a generated day of traffic, puts a latency relay between it and every client (each direction "
    "delayed by RTT/2, a TCP connect by 1.5 RTT, SSH and the API alike) and measures, as medians of interleaved "
    "runs at 0, 30 and 100 ms: `monitor.all` against the checklist's own commands pasted one by one over `ssh` "
    "(alone and through a ControlMaster), against the same commands as an `ansible-playbook` (ControlPersist cold "
    "and warm) and against the floor (one handshake and the remote commands at once); the engine's per-step "
    "overhead; `doctor` and `monitor.p0` fanned out to 1, 8 and 32 light hosts at 100 ms; a 1,000,000-line log; "
    "start-up. `--runs`/`--slow-runs` set the number of runs (the defaults fit ~15 minutes). It writes "
    "`bench/out/results.md`; the committed `bench/results.md` changes only with `--results bench/results.md` "
    "(`--readme README.md` also rewrites this section). Full tables, profiles and the reason behind every missed "
    "target: `bench/results.md`.")


def readme_section(d: dict[str, Any]) -> str:
    """The README's `## Benchmark` section: what the bench does, its summary and targets."""
    targets = evaluate(d)
    lines = ["## Benchmark", "", README_INTRO, "", summary(d, targets, why="`bench/results.md`, each with its profile"), "", "| target | measured | met |",
             "|---|---|---|"]
    lines += [f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |" for t in targets]
    return "\n".join(lines) + "\n"


def update_readme(d: dict[str, Any], path: Path) -> None:
    text = path.read_text()
    start = text.index("## Benchmark\n")
    end = text.index("\n## ", start + 1) + 1
    path.write_text(text[:start] + readme_section(d) + "\n" + text[end:])


def section3(d: dict[str, Any]) -> list[str]:
    p3, n = d["part3"], d["noop_steps"]
    raw = med(p3["raw_paramiko"])
    L = ["", f"## 3. Engine overhead: {n} no-op steps (`true`) over one SSH connection to a light host (no relay)", "",
         "| way | wall (median) | per step | overhead per step vs raw `true` |", "|---|---|---|---|"]
    for label, key in ((f"raw paramiko, one connection, exec_command('true') x{n}", "raw_paramiko"),
                       (f"raw paramiko, the engine's wrapped command string x{n}", "raw_paramiko_wrapped"),
                       ("engine in-process (runner API; connect, transcript, console included)", "engine_inprocess")):
        w = med(p3[key])
        L.append(f"| {label} | {w:.2f} s | {w / n * 1000:.1f} ms | "
                 f"{'-' if key == 'raw_paramiko' else f'{(w - raw) / n * 1000:+.1f} ms'} |")
    per, fixed = per_step(d)
    L += ["", f"Per step, taken as the slope between a 5-step and the {n}-step playbook (so the run's own record, "
          f"written once, is not spread over the steps): the engine adds {per:.1f} ms per step over the raw "
          f"channel, and {fixed * 1000:.0f} ms once per run (the transcript, its transcript.md and the seal)."]
    per_cmd = median([s["per_command_ms"] for s in p3["raw_paramiko"]])
    L += ["", f"One raw `exec_command('true')` costs {per_cmd:.1f} ms on the light host (its sessions skip "
          "~/.bashrc, as a prod account's usually cheap one would; on this machine it runs a pyenv init of ~0.1 s) "
          "with no engine at all. The engine's wrapper is one shell: the login shell reports its process group, "
          "registers it with the connection's guard (two builtins) and execs `/bin/sh -c`; the kill is sent only "
          "on a timeout or Ctrl-C, and the guard kills on the host if the connection is lost "
          "(`runbooks/connectors/hostguard.py`)."]
    return L


def section4(d: dict[str, Any]) -> list[str]:
    p4 = d["part4"]
    sizes = [int(x) for x in d["fanout"]]
    L = ["", f"## 4. Fan-out: N light hosts behind the relay at {d['fanout_rtt']:g} ms (one process, parallel)", "",
         "| targets | `inv doctor` | floor | `inv monitor.p0` | floor | p0 local CPU |", "|---|---|---|---|---|---|"]
    for n in sizes:
        cells = []
        for key in (f"doctor_{n}", f"floor_doctor_{n}", f"p0_{n}", f"floor_p0_{n}"):
            w, one = med(p4[key]), med(p4[key.replace(f"_{n}", "_1")])
            cells.append(f"{w:.2f} s" + ("" if n == 1 else f" ({w / one:.2f}x)"))
        L.append(f"| {n} | " + " | ".join(cells) + f" | {med(p4[f'p0_{n}'], 'cpu_s'):.2f} s |")
    L += ["", "Light hosts: one sshd whose `docker` replays what the sandbox answered to the same commands "
          "(`bench/light.py`), so N targets measure the engine's fan-out, not N Django boots on 2 cores; each target "
          "is its own SSH connection and transcript. The floor: the same remote commands over N raw paramiko "
          "connections in N threads of an already running Python."]
    return L


def section5(d: dict[str, Any]) -> list[str]:
    b, p5 = d["biglog"], d["part5"]
    L = ["", f"## 5. A {b['lines']:,}-line worker log ({_mb(b['bytes'])}, {b['markers']:,} marker lines, "
         f"{b['tracebacks']} tracebacks; generated in {b['generate_s']:.1f} s)", "",
         "| run | wall | local peak RSS | bytes in over the wire | of the log | step payload (events.jsonl) |",
         "|---|---|---|---|---|---|"]
    for label, key in (("`monitor.all` (whole 24 h)", "full"), ("`monitor.all --tail 1000`", "tail1000")):
        s = p5[key]
        wi = median([x["wire_in"] for x in s])
        L.append(f"| {label} | {med(s):.2f} s | {max(x['maxrss_mb'] for x in s):.0f} MB | {_mb(wi)} | "
                 f"{wi / b['bytes'] * 100:.3f}% | {_mb(median([x['payload_bytes'] for x in s]))} |")
    L += ["", "Bytes are counted by the relay between the client and sshd (SSH framing and encryption included), "
          "host -> operator; peak RSS is the `inv` process's own (GNU time %M)."]
    return L


def summary(d: dict[str, Any], targets: list[dict[str, Any]], why: str = "below") -> str:
    parts = []
    p12 = d.get("part12") or {}
    for r in sorted(p12, key=float):
        x = p12[r]
        mon = med(x["monitor_all"])
        names = {"by_hand": "by hand", "control_master": "by hand with a ControlMaster",
                 "ansible_cold": "Ansible cold", "ansible_warm": "Ansible warm"}
        bits = [f"{v} {med(x[k]) / mon:.1f}x" for k, v in names.items() if x.get(k)]
        parts.append(f"at {r} ms `monitor.all` takes {mon:.2f} s ({mon / med(x['floor']):.2f}x its floor; "
                     + ", ".join(bits) + " as long by the other ways)")
    missed = [t["target"] for t in targets if not t["met"]]
    text = "Through the latency relay, " + "; ".join(parts) + ". " if parts else ""
    met = sum(1 for t in targets if t["met"])
    text += f"Targets met: {met} of {len(targets)}" + (f"; missed: {'; '.join(missed)} (why: {why})." if missed else ".")
    return text
