"""The benchmark: `python bench/run.py [--quick] [--runs N] [--out DIR] [--results FILE]`.

Brings up the sandbox (a generated day of traffic) behind real OpenSSH sshds on 127.0.0.1
and measures, interleaved A/B in this one invocation (medians):
  1. `inv monitor.all` vs the checklist's monitoring commands, one `ssh` call each;
  2. `monitor.all` vs `ansible-playbook` running the same commands (pipelining on);
  3. engine overhead: 50 no-op steps through the engine vs raw paramiko exec_command;
  4. fan-out: `monitor.p0` on 1 vs N targets (N separate sshds, one sandbox);
  5. a 1,000,000-line worker log: time, local peak RSS, bytes on the wire (with/without --tail);
  6. start-up: `inv --list`, `runbooks --help`.
Writes <out>/results.md and <out>/results.json. The committed bench/results.md changes only
when asked: `--results bench/results.md`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ansible_gen, biglog, parts  # noqa: E402
from bench.env import BenchEnv  # noqa: E402
from bench.measure import median  # noqa: E402
from bench.proxy import CountingProxy  # noqa: E402
from bench.report import machine, write_report  # noqa: E402

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[bench +{time.perf_counter() - T0:5.1f}s] {msg}", file=sys.stderr, flush=True)


def interleaved(runs: int, cases: dict[str, Any], warmup: bool) -> dict[str, list[dict[str, Any]]]:
    """Round r runs every case once, the order rotated each round (A B C, B C A, ...)."""
    names = list(cases)
    if warmup:
        for n in names:
            cases[n]()
    res: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for r in range(runs):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            res[n].append(cases[n]())
    return res


def med(samples: list[dict[str, Any]], key: str = "wall_s") -> float:
    return median([float(s[key]) for s in samples])


def results_path(results: str | None, out: Path) -> Path:
    """Where results.md goes: never the committed bench/results.md unless it is asked for."""
    return Path(results) if results else out / "results.md"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke mode: 1 run each, small sizes, 2 targets")
    ap.add_argument("--runs", type=int, default=None, help="runs per case (default 3, --quick 1)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"), help="scratch dir (sandbox, transcripts)")
    ap.add_argument("--results", default=None,
                    help="results.md path (default OUT/results.md; pass bench/results.md to update the committed one)")
    ap.add_argument("--log-lines", type=int, default=None, help="big log size (default 1,000,000; --quick 50,000)")
    ap.add_argument("--report-only", action="store_true", help="re-render results.md from OUT/results.json")
    a = ap.parse_args(argv)
    quick = a.quick
    runs = a.runs or (1 if quick else 3)
    fleet = 2 if quick else 8
    log_lines = a.log_lines or (50_000 if quick else 1_000_000)
    out = Path(a.out).resolve()
    results_md = results_path(a.results, out)
    if a.report_only:
        write_report(json.loads((out / "results.json").read_text()), results_md)
        return 0
    t_all = time.perf_counter()
    data: dict[str, Any] = {"quick": quick, "runs": runs, "fleet": fleet, "machine": machine()}

    log(f"sandbox + {fleet} sshd on 127.0.0.1 in {out}")
    env = BenchEnv.start(out, n_sshd=fleet, meals=60 if quick else 200)
    data["traffic"] = {k: v for k, v in env.traffic.items() if k != "window"}
    aenv: dict[str, str] = {}
    try:
        # ---- 1 + 2: monitor.all vs the checklist by hand vs Ansible (one interleaved loop)
        adir = out / "ansible"
        ansible_gen.write_config(adir)
        inv = ansible_gen.write_inventory(adir, env.servers[0], sys.executable)
        pb_checklist = ansible_gen.checklist_playbook(adir, env.values())
        pb_monitor = ansible_gen.monitor_playbook(adir, parts.monitor_commands(env),
                                                  f"{env.values()['base_url']}/api/v1/meals/?date={env.values()['date']}")
        aenv = ansible_gen.environ(env.environ(), adir)
        log(f"1+2: monitor.all / checklist by hand / ansible x{runs}")
        cases12 = {
            "monitor_all": lambda: parts.tool_run(env, "monitor.all", "bench-1"),
            "checklist": lambda: parts.checklist_by_hand(env),
            "ansible_checklist": lambda: parts.ansible_run(env, pb_checklist, aenv, inv),
            "ansible_monitor_cmds": lambda: parts.ansible_run(env, pb_monitor, aenv, inv),
            "floor_all": lambda: parts.raw_parallel_floor(env, 1, backend_logs=True),
        }
        if quick:  # the 23-task Ansible run alone takes ~20 s here
            del cases12["ansible_checklist"]
        r12 = interleaved(runs, cases12, warmup=not quick)
        data["part12"] = r12

        # ---- 3: engine overhead per step
        n_steps = 10 if quick else 50
        noop = ROOT / "bench" / "noop50.yml" if n_steps == 50 else parts.noop_playbook(out / f"noop{n_steps}.yml", n_steps)
        log(f"3: {noop.name} engine vs raw paramiko x{runs}")
        cases3 = {
            "engine_inprocess": lambda: parts.engine_inprocess(env, noop),
            "engine_subprocess": lambda: parts.tool_run(env, "play", "bench-1", "--playbook", str(noop)),
            "raw_paramiko": lambda: parts.raw_paramiko(env, n_steps),
            "raw_paramiko_wrapped": lambda: parts.raw_paramiko(env, n_steps, wrapped=True),
        }
        if quick:
            del cases3["engine_subprocess"]
        if not quick:  # the first in-process run imports the engine into this process: not per-step cost
            parts.engine_inprocess(env, noop)
        data["part3"] = interleaved(runs, cases3, warmup=False)
        data["noop_steps"] = n_steps

        # ---- 4: fan-out
        log(f"4: monitor.p0 on 1 vs {fleet} targets x{runs}")
        r4 = interleaved(runs, {
            "p0_one": lambda: parts.tool_run(env, "monitor.p0", "bench-1"),
            "p0_fleet": lambda: parts.tool_run(env, "monitor.p0", "fleet"),
            "floor_one": lambda: parts.raw_parallel_floor(env, 1),
            "floor_fleet": lambda: parts.raw_parallel_floor(env, fleet),
        }, warmup=False)
        data["part4"] = r4

        # ---- 5: a big worker log, bytes measured on the wire by a relay in front of sshd
        log(f"5: {log_lines:,}-line worker log")
        proxy = CountingProxy(env.servers[0].port)
        kh = out / "proxy_known_hosts"
        key = env.servers[0].host_key.with_suffix(".pub").read_text().split()
        kh.write_text(f"[127.0.0.1]:{proxy.port} {key[0]} {key[1]}\n")
        env.add_target("bench-wire", {**env.target(0), "port": proxy.port, "known_hosts": str(kh)})
        wlog = env.sandbox.paths.log_file(env.values()["worker"])
        saved = wlog.with_suffix(".saved")
        shutil.copyfile(wlog, saved)
        try:
            t = time.perf_counter()
            data["biglog"] = biglog.generate(wlog, log_lines)
            data["biglog"]["generate_s"] = time.perf_counter() - t

            def wire(*extra: str) -> Any:
                def go() -> dict[str, Any]:
                    proxy.reset()
                    r = parts.tool_run(env, "monitor.all", "bench-wire", *extra)
                    r.update(wire_in=proxy.to_client, wire_out=proxy.to_server)
                    return r
                return go

            data["part5"] = interleaved(max(1, min(runs, 3)), {"full": wire(), "tail1000": wire("--tail", "1000")},
                                        warmup=False)
        finally:
            shutil.move(saved, wlog)
            proxy.close()

        # ---- 6: start-up
        log("6: start-up x10")
        rb = shutil.which("runbooks", path=str(Path(sys.executable).parent)) or "runbooks"
        data["part6"] = interleaved(3 if quick else 10, {
            "inv_list": lambda: parts.startup([sys.executable, "-m", "invoke", "-r", str(ROOT), "--list"]),
            "runbooks_help": lambda: parts.startup([rb, "--help"]),
        }, warmup=False)
    finally:
        if aenv:
            parts.ansible_stop_masters(aenv, out / "ansible" / "cp")
        env.stop()
    data["total_s"] = time.perf_counter() - t_all
    (out / "results.json").write_text(json.dumps(data, indent=1, default=str))
    failures = write_report(data, results_md)
    for f in failures:
        log(f"checklist command failed: {f}")
    log(f"done in {data['total_s']:.0f}s: {results_md}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
