"""The sandbox tasks' logic as plain functions: plain useful text out, an exit code back
(0 ok, 2 failed, 3 bad input). The API secret is never printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runbooks.invocation import program_name
from runbooks.sandbox.faultlist import FAULT_DESCRIPTIONS
from runbooks.sandbox.paths import IDLE_ENV, INIT_DATA_ENV, idle_seconds


def _sb(state: str | Path | None) -> Any:
    from runbooks.sandbox.core import Sandbox

    return Sandbox(state)


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _errors() -> tuple[type[BaseException], ...]:
    from runbooks.sandbox.core import SandboxError

    return (SandboxError, OSError)


def up(state: str | Path | None = None, ssh: bool = False, seed: bool = True) -> int:
    sb = _sb(state)
    try:
        st = sb.up(ssh=ssh, seed=seed)
    except _errors() as e:
        print(f"sandbox: could not start: {e}")
        return 2
    print(f"sandbox up in {st['state_dir']}")
    print(f"  API        {st['api']}  (header X-Telegram-Init-Data: ${INIT_DATA_ENV}, secret in {sb.paths.secret})")
    print(f"  docker     {st['docker']}  (export PATH={sb.paths.bin_dir}:$PATH)")
    print(f"  project    {st['project_dir']}")
    print(f"  containers {', '.join(f'{n}={s}' for n, s in st['containers'].items())}")
    if st.get("ssh"):
        print(f"  ssh        RUNBOOKS_CONFIG={st['ssh']['config']} {program_name()} doctor --target sandbox-ssh")
    idle = idle_seconds()
    print(f"  SIMULATED host, in the background: {f'stops by itself after {idle // 60} min idle' if idle else 'runs until stopped'}"
          f" (${IDLE_ENV}); `{program_name()} sandbox.down` stops it now")
    return 0


def down(state: str | Path | None = None) -> int:
    sb = _sb(state)
    sb.down()
    print(f"sandbox down ({sb.state_dir}); state kept, `inv sandbox.reset` wipes it")
    return 0


def status(state: str | Path | None = None, as_json: bool = False) -> int:
    sb = _sb(state)
    if not sb.initialized():
        print(f"no sandbox in {sb.state_dir} (run `inv sandbox.up`)")
        return 2
    st = sb.status()
    if as_json:
        _print(st)
        return 0
    print(f"sandbox {'up' if st['up'] else 'down'}: {st['state_dir']}")
    if st["api"]:
        print(f"  API {st['api']}")
    for name, s in st["containers"].items():
        print(f"  {name:<32} {s}")
    print(f"  faults active: {', '.join(st['faults_active']) or 'none'}")
    return 0 if st["up"] else 2


def reset(state: str | Path | None = None, seed: bool = True) -> int:
    st = _sb(state).reset(seed=seed)
    print(f"sandbox reset: {st['state_dir']} ({'seeded with a healthy day' if seed else 'empty'})")
    return 0


def scenario(name: str, state: str | Path | None = None) -> int:
    try:
        result = _sb(state).scenario(name)
    except KeyError as e:
        print(f"sandbox: {e.args[0]}")
        return 3
    _print(result)
    return 0


def traffic(seed: int = 24, meals: int = 200, state: str | Path | None = None) -> int:
    if meals < 1:
        print("sandbox: --meals must be positive")
        return 3
    _print(_sb(state).traffic(seed=seed, meals=meals))
    return 0


def inject(fault: str | None, state: str | Path | None = None) -> int:
    if not fault or fault not in FAULT_DESCRIPTIONS:
        if fault:
            print(f"sandbox: unknown fault {fault!r}")
        print("faults:")
        for name, desc in FAULT_DESCRIPTIONS.items():
            print(f"  {name:<30} {desc}")
        return 3 if fault else 0
    evidence = _sb(state).inject(fault)
    print(f"injected {fault}: {FAULT_DESCRIPTIONS[fault]}")
    _print(evidence)
    return 0


def truth(state: str | Path | None = None) -> int:
    _print(_sb(state).ground_truth())
    return 0
