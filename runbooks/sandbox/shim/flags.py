"""A pflag-like option parser, so the shim accepts and rejects what the docker CLI does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class UsageError(Exception):
    def __init__(self, message: str, code: int = 125) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Spec:
    command: str                      # e.g. "docker logs"
    values: dict[str, str] = field(default_factory=dict)   # flag -> canonical (takes a value)
    bools: dict[str, str] = field(default_factory=dict)    # flag -> canonical
    repeat: set[str] = field(default_factory=set)          # canonical names that accumulate
    interspersed: bool = True

    def help(self) -> str:
        return f"See '{self.command} --help'."


def parse(spec: Spec, argv: list[str]) -> tuple[dict[str, object], list[str]]:
    opts: dict[str, object] = {}
    repeated: dict[str, list[object]] = {}
    pos: list[str] = []
    i = 0

    def put(name: str, value: object) -> None:
        if name in spec.repeat:
            acc = repeated.setdefault(name, [])
            acc.append(value)
            opts[name] = acc
        else:
            opts[name] = value

    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            pos += argv[i + 1:]
            break
        if arg.startswith("--") and len(arg) > 2:
            name, eq, val = arg.partition("=")
            if name in spec.values:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise UsageError(f"flag needs an argument: {name}\n{spec.help()}")
                    val = argv[i]
                put(spec.values[name], val)
            elif name in spec.bools:
                put(spec.bools[name], val.lower() not in ("false", "0") if eq else True)
            elif name == "--help":
                raise UsageError(f"Usage:  {spec.command} [OPTIONS]", 0)
            else:
                raise UsageError(f"unknown flag: {name}\n{spec.help()}")
        elif arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            j = 0
            while j < len(letters):
                flag = "-" + letters[j]
                if flag in spec.bools:
                    put(spec.bools[flag], True)
                    j += 1
                elif flag in spec.values:
                    rest = letters[j + 1:].lstrip("=")
                    if not rest:
                        i += 1
                        if i >= len(argv):
                            raise UsageError(f"flag needs an argument: '{letters[j]}' in {flag}\n{spec.help()}")
                        rest = argv[i]
                    put(spec.values[flag], rest)
                    break
                else:
                    raise UsageError(f"unknown shorthand flag: '{letters[j]}' in {arg}\n{spec.help()}")
        else:
            if not spec.interspersed:
                pos += argv[i:]
                break
            pos.append(arg)
        i += 1
    return opts, pos


def opt_str(opts: Mapping[str, object], name: str) -> str | None:
    """The argument of a value flag (None when it was not given)."""
    v = opts.get(name)
    return v if isinstance(v, str) else None


def opt_strs(opts: Mapping[str, object], name: str) -> list[str]:
    """Every argument of a repeatable value flag, in command-line order."""
    v = opts.get(name)
    return [str(x) for x in v] if isinstance(v, list) else []
