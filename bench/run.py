"""The benchmark: `python bench/run.py [--quick] [--runs N] [--slow-runs N] [--out DIR] [--results FILE]`.

Brings up the sandbox (a generated day of traffic) behind real OpenSSH sshds on 127.0.0.1
and measures, interleaved in this one invocation (medians):
  1-2. through a latency relay (bench/proxy.py) at each --rtts value: `inv monitor.all` vs
       the checklist by hand (one `ssh` per command; with a ControlMaster), vs
       `ansible-playbook` (ControlPersist cold and warm), vs the floor (one handshake + the
       remote commands at once);
  3. engine overhead: 50 no-op steps through the engine vs raw paramiko exec_command;
  4. fan-out: `doctor` and `monitor.p0` on N light hosts behind the relay (--fanout);
  5. a 1,000,000-line worker log: time, local peak RSS, bytes on the wire (with/without --tail);
  6. start-up: `inv --list`, `runbooks --help`.
Writes <out>/results.md and <out>/results.json. The committed bench/results.md changes only
when asked: `--results bench/results.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ansible_gen, biglog, fanout, parts, wan  # noqa: E402
from bench.env import BenchEnv  # noqa: E402
from bench.measure import median  # noqa: E402
from bench.proxy import CountingProxy  # noqa: E402
from bench.report import machine, update_readme, write_report  # noqa: E402

T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[bench +{time.perf_counter() - T0:5.1f}s] {msg}", file=sys.stderr, flush=True)


def interleaved(rounds: int, cases: dict[str, Any], warmup: bool,
                runs: dict[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Round r runs every case once, the order rotated each round (A B C, B C A, ...); a case
    with fewer `runs` sits out the later rounds."""
    names = list(cases)
    if warmup:
        for n in names:
            cases[n]()
    res: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            if runs is None or r < runs.get(n, rounds):
                res[n].append(cases[n]())
                log(f"  {n}: {res[n][-1]['wall_s']:.2f} s")
    return res


def med(samples: list[dict[str, Any]], key: str = "wall_s") -> float:
    return median([float(s[key]) for s in samples])


def results_path(results: str | None, out: Path) -> Path:
    """Where results.md goes: never the committed bench/results.md unless it is asked for."""
    return Path(results) if results else out / "results.md"


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke mode: 1 run each, small sizes, RTT 30 only, no Ansible, N = 1, 2")
    ap.add_argument("--runs", type=int, default=None, help="runs of the fast cases (default 5, --quick 1)")
    ap.add_argument("--slow-runs", type=int, default=None,
                    help="runs of the checklist by hand and Ansible, 10-30 s each (default 2, --quick 1)")
    ap.add_argument("--rtts", default=None, help="emulated round trips in ms for 1-2 (default 0,30,100)")
    ap.add_argument("--fanout", default=None, help="fan-out sizes (default 1,8,32)")
    ap.add_argument("--fanout-rtt", type=float, default=100.0, help="RTT of the fan-out's relay, ms (default 100)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"), help="scratch dir (sandbox, transcripts)")
    ap.add_argument("--results", default=None,
                    help="results.md path (default OUT/results.md; pass bench/results.md to update the committed one)")
    ap.add_argument("--log-lines", type=int, default=None, help="big log size (default 1,000,000; --quick 50,000)")
    ap.add_argument("--report-only", action="store_true", help="re-render results.md from OUT/results.json")
    ap.add_argument("--readme", default=None, help="also rewrite the `## Benchmark` section of this README")
    ap.add_argument("--parts", default="12,3,4,5,6,prof",
                    help="parts to run (default all: 12,3,4,5,6,prof; prof: pyinstrument profiles, needs the bench extra)")
    return ap.parse_args(argv)


def compile_bytecode() -> None:
    """The tool's modules compiled to bytecode first, as an installed copy has them. With
    PYTHONDONTWRITEBYTECODE in the environment (some CI and sandbox shells set it) every
    measured `inv` would compile runbooks' ~200 modules from source again: ~0.1 s of CPU
    per run that an operator pays once, after an upgrade, not at every run."""
    import compileall

    compileall.compile_dir(str(ROOT / "runbooks"), quiet=1)
    compileall.compile_file(str(ROOT / "tasks.py"), quiet=1)


def save(out: Path, data: dict[str, Any]) -> None:
    """results.json after every part: a bench stopped half-way still has its numbers."""
    (out / "results.json").write_text(json.dumps(data, indent=1, default=str))


def part5(env: BenchEnv, out: Path, log_lines: int, runs: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A big worker log; bytes measured on the wire by a relay in front of sshd."""
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
        info = biglog.generate(wlog, log_lines)
        info["generate_s"] = time.perf_counter() - t

        def wire(*extra: str) -> Any:
            def go() -> dict[str, Any]:
                proxy.reset()
                r = parts.tool_run(env, "monitor.all", "bench-wire", *extra)
                r.update(wire_in=proxy.to_client, wire_out=proxy.to_server)
                return r
            return go

        return info, interleaved(runs, {"full": wire(), "tail1000": wire("--tail", "1000")}, warmup=False)
    finally:
        shutil.move(saved, wlog)
        proxy.close()


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    quick = a.quick
    runs = a.runs or (1 if quick else 5)
    slow = a.slow_runs or (1 if quick else 2)
    rtts = ints(a.rtts) if a.rtts else ([30] if quick else [0, 30, 100])
    sizes = ints(a.fanout) if a.fanout else ([1, 2] if quick else [1, 8, 32])
    log_lines = a.log_lines or (50_000 if quick else 1_000_000)
    want = set(a.parts.split(","))
    out = Path(a.out).resolve()
    results_md = results_path(a.results, out)
    if a.report_only:
        done = json.loads((out / "results.json").read_text())
        write_report(done, results_md)
        if a.readme:
            update_readme(done, Path(a.readme))
        return 0
    t_all = time.perf_counter()
    compile_bytecode()
    data: dict[str, Any] = {"quick": quick, "runs": runs, "slow_runs": slow, "rtts": rtts, "fanout": sizes,
                            "fanout_rtt": a.fanout_rtt, "machine": machine(), "load_before": os.getloadavg()}

    log(f"sandbox + sshd on 127.0.0.1 in {out}")
    env = BenchEnv.start(out, n_sshd=1, meals=60 if quick else 200)
    data["traffic"] = {k: v for k, v in env.traffic.items() if k != "window"}
    aenv: dict[str, str] = {}
    link = wan.Wan.start(env)
    fleet = None
    try:
        # ---- 1 + 2: through the relay at each RTT
        adir = out / "ansible"
        ansible_gen.write_config(adir)
        srv = env.servers[0]
        wan_server = type("WanServer", (), {"host": "127.0.0.1", "port": link.ssh.port, "user": srv.user,
                                            "identity_file": srv.identity_file, "known_hosts": link.known_hosts})
        inv = ansible_gen.write_inventory(adir, wan_server, sys.executable)
        pb_checklist = ansible_gen.checklist_playbook(adir, link.values())
        pb_warm = ansible_gen.warmup_playbook(adir)
        aenv = ansible_gen.environ(env.environ(), adir)
        cp = adir / "cp"

        def ansible_cold() -> dict[str, Any]:
            parts.ansible_stop_masters(aenv, cp)
            return parts.ansible_run(env, pb_checklist, aenv, inv)

        def ansible_warm() -> dict[str, Any]:
            parts.ansible_run(env, pb_warm, aenv, inv)  # not timed: the master is up
            return parts.ansible_run(env, pb_checklist, aenv, inv)

        cmds = parts.monitor_commands(env)
        data["part12"] = {}
        for rtt in (rtts if "12" in want else []):
            link.set_rtt(rtt)
            log(f"1+2 at RTT {rtt} ms: fast x{runs}, slow x{slow}")
            cases = {
                "monitor_all": lambda: parts.tool_run(env, "monitor.all", "wan-1"),
                "floor": lambda: wan.floor(link, cmds),
                "by_hand": lambda: wan.by_hand(link),
                "control_master": lambda: wan.by_hand(link, control_master=True),
                "ansible_cold": ansible_cold,
                "ansible_warm": ansible_warm,
            }
            if quick:  # a 23-task Ansible run alone takes ~20 s here
                del cases["ansible_cold"], cases["ansible_warm"]
            slow_cases = ("by_hand", "control_master", "ansible_cold", "ansible_warm")
            data["part12"][str(rtt)] = interleaved(max(runs, slow), cases, warmup=False,
                                                   runs={n: slow for n in slow_cases} | {"monitor_all": runs, "floor": runs})
        parts.ansible_stop_masters(aenv, cp)
        link.set_rtt(0)

        save(out, data)
        # light hosts: the fan-out's, and part 3's host (no ~/.bashrc per command, so a
        # command's own cost is small enough to see the engine's)
        fleet = fanout.Fleet.start(env, sizes, a.fanout_rtt) if want & {"3", "4"} else None
        # ---- 3: engine overhead per step (the light host, direct, no relay)
        if "3" in want and fleet is not None:
            n_steps = 10 if quick else 50
            noop = ROOT / "bench" / "noop50.yml" if n_steps == 50 else parts.noop_playbook(out / f"noop{n_steps}.yml",
                                                                                           n_steps)
            log(f"3: {noop.name} engine vs raw paramiko x{runs}")
            lsrv, lcfg = fleet.server, fleet.config
            few = parts.noop_playbook(out / "noop5.yml", 5)  # the per-run costs, to take out of the per-step ones
            cases3 = {
                "engine_inprocess": lambda: parts.engine_inprocess(env, noop, lcfg, "light-direct"),
                "engine_inprocess_few": lambda: parts.engine_inprocess(env, few, lcfg, "light-direct"),
                "raw_paramiko": lambda: parts.raw_paramiko(lsrv, n_steps),
                "raw_paramiko_few": lambda: parts.raw_paramiko(lsrv, 5),
                "raw_paramiko_wrapped": lambda: parts.raw_paramiko(lsrv, n_steps, wrapped=True),
            }
            parts.engine_inprocess(env, noop, lcfg, "light-direct")  # imports the engine: not per-step cost
            data["part3"] = interleaved(runs, cases3, warmup=False)
            data["noop_steps"] = n_steps
            save(out, data)

        # ---- 4: fan-out on light hosts behind the relay
        if "4" in want and fleet is not None:
            log(f"4: doctor and monitor.p0 on {sizes} light hosts at RTT {a.fanout_rtt:g} ms x{runs}")
            fl = fleet
            cases4: dict[str, Any] = {}
            for n in sizes:
                g = fl.group(n)
                cases4[f"doctor_{n}"] = lambda g=g: parts.tool_run(env, "doctor", g, config=fl.config)
                cases4[f"p0_{n}"] = lambda g=g: parts.tool_run(env, "monitor.p0", g, config=fl.config)
                cases4[f"floor_doctor_{n}"] = lambda n=n: fanout.floor(fl, n, "doctor")
                cases4[f"floor_p0_{n}"] = lambda n=n: fanout.floor(fl, n, "monitor.p0")
            data["part4"] = interleaved(runs, cases4, warmup=True)
            save(out, data)

        if "5" in want:
            log(f"5: {log_lines:,}-line worker log")
            data["biglog"], data["part5"] = part5(env, out, log_lines, 1 if quick else 2)
            save(out, data)
        if "prof" in want:
            log("profiles (pyinstrument)")
            data["profiles"] = {}
            if rtts and "12" in want:
                link.set_rtt(max(rtts))
                data["profiles"][f"`inv monitor.all` at {max(rtts)} ms, main thread"] = parts.profile(
                    env, "monitor.all", "wan-1")
                link.set_rtt(0)
            if fleet is not None:
                data["profiles"][f"`inv monitor.p0` on one light host at {a.fanout_rtt:g} ms, main thread"] = \
                    parts.profile(env, "monitor.p0", "light-1", config=fleet.config)
            save(out, data)
        if "6" in want:
            log("6: start-up x10")
            rb = shutil.which("runbooks", path=str(Path(sys.executable).parent)) or "runbooks"
            data["part6"] = interleaved(3 if quick else 10, {
                "inv_list": lambda: parts.startup([sys.executable, "-m", "invoke", "-r", str(ROOT), "--list"]),
                "runbooks_help": lambda: parts.startup([rb, "--help"]),
            }, warmup=False)
    finally:
        if aenv:
            parts.ansible_stop_masters(aenv, out / "ansible" / "cp")
        if fleet is not None:
            fleet.close()
        link.close()
        env.stop()
    data["total_s"] = time.perf_counter() - t_all
    data["load_after"] = os.getloadavg()
    (out / "results.json").write_text(json.dumps(data, indent=1, default=str))
    failures = write_report(data, results_md)
    if a.readme:
        update_readme(data, Path(a.readme))
    for f in failures:
        log(f"checklist command failed: {f}")
    log(f"done in {data['total_s']:.0f}s: {results_md}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
