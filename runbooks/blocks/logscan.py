"""The on-host filtered log scan: ONE awk program builder, ONE command builder, ONE parser.

Prod logs are large and the host has no Python outside the containers, so the filtering
happens on the host with POSIX awk (mawk, gawk and busybox awk all run it) and only
matching lines cross the network. One awk pass does everything grep cannot:

- markers (name -> POSIX ERE): every line matching one or more of them passes, tagged
  `M<i,j>` with the 1-based indices of the markers it matched; each marker's count is
  kept ON THE HOST, so the counts stay exact when the lines are capped;
- an optional context pattern (exceptions): a matching line passes tagged `E` with the B
  lines before it and the A lines after it tagged `C` (the checklist's `grep -B 5 -A 5`);
- side lines `0 S RUNBOOKS_<KEY> value`: the host's clock, a container's creation and
  start times, the exit status of the reader (with its first lines when it failed: docker's
  "No such container"), the first line's timestamp, the number of lines read, each
  marker's count, the lines dropped by the cap.

Every passed line is prefixed with its line number, so the parser can rebuild blocks.
A container's reader's exit status crosses the pipe as `RUNBOOKS_EXIT n` because POSIX sh
has no `pipefail` and awk always exits 0; docker's `--timestamps` puts a timestamp at the
start of every log line, so no log line can pass for a side line. A file is read by awk
itself (or `tail -n N FILE | awk`) and its side lines are printed around it, so a file's
own `RUNBOOKS_EXIT 0` line is just a log line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from runbooks.commands import Command, cmd

# Python-only regex syntax that POSIX awk does not have: refused with a hint, rather
# than silently matching something else on the host.
_NOT_POSIX = (
    (re.compile(r"(?<!\\)\\[dDwWsSbB]"), "use [0-9], [A-Za-z0-9_], [ \\t] instead of \\d, \\w, \\s, \\b"),
    (re.compile(r"\(\?"), "(?...) groups are not POSIX ERE"),
    (re.compile(r"(?<!\\)[*+?}]\?"), "lazy quantifiers are not POSIX ERE"),
)
_SIDE_RE = r"/^RUNBOOKS_(EXIT|NOW|STARTED) /"
SIDE_KEYS = ("NOW", "STARTED", "FIRST")
INSPECT_FORMAT = "{{.Created}} {{.State.StartedAt}}"
NOW = "date -u +%Y-%m-%dT%H:%M:%SZ"


def check_ere(ere: str) -> None:
    """Refuse a pattern the host's awk cannot run as written (ValueError, one line)."""
    if not isinstance(ere, str) or not ere:
        raise ValueError("must be a non-empty regular expression (POSIX ERE)")
    if "\n" in ere or "\r" in ere:
        raise ValueError("must be one line")
    for bad, hint in _NOT_POSIX:
        if bad.search(ere):
            raise ValueError(f"{ere!r}: {hint}")
    try:
        re.compile(ere)
    except re.error as exc:
        raise ValueError(f"{ere!r} is not a valid regular expression: {exc}") from exc


def awk_regex(ere: str) -> str:
    """`/ere/` as an awk regex literal: an unescaped `/` inside is escaped."""
    out: list[str] = []
    i = 0
    while i < len(ere):
        ch = ere[i]
        if ch == "\\" and i + 1 < len(ere):
            out.append(ere[i:i + 2])
            i += 2
            continue
        out.append("\\/" if ch == "/" else ch)
        i += 1
    return "/" + "".join(out) + "/"


def filter_program(markers: Sequence[str], context: str | None = None, side_lines: bool = True) -> str:
    """The awk program. Variables: B, A (context lines before/after), L (line cap, 0: none).

    `side_lines`: the input holds `RUNBOOKS_(EXIT|NOW|STARTED) ...` lines to pass through
    (a container scan); a file scan prints its side lines outside awk."""
    if not markers and context is None:
        raise ValueError("a log scan needs at least one marker or a context pattern")
    lines = [
        "function out(s) { if (L > 0 && shown >= L) { dropped++; return } print s; shown++ }",
        *([_SIDE_RE + " {", "  print \"0 S \" $0",
           "  if ($1 == \"RUNBOOKS_EXIT\" && $2 != 0) for (i = 1; i <= n && i <= 3; i++) print \"0 S RUNBOOKS_ERROR \" first[i]",
           "  next", "}"] if side_lines else []),
        "{",
        "  n++; if (n == 1) print \"0 S RUNBOOKS_FIRST \" $1",
        "  if (n <= 3) first[n] = $0",
        "  err = 0; m = \"\"",
    ]
    for i, ere in enumerate(markers, 1):
        lines.append(f"  if ($0 ~ {awk_regex(ere)}) {{ c[{i}]++; m = m \",{i}\" }}")
    if context is not None:
        lines += [
            "  if (m != \"\") { out(n \" M\" substr(m, 2) \" \" $0); p[n] = 1 }",
            f"  else if ($0 ~ {awk_regex(context)}) {{",
            "    for (i = n - B; i < n; i++) if ((i in buf) && !(i in p)) { out(i \" C \" buf[i]); p[i] = 1 }",
            "    out(n \" E \" $0); p[n] = 1; after = A; err = 1",
            "  }",
            "  else if (after > 0) { out(n \" C \" $0); p[n] = 1 }",
            "  if (!err && after > 0) after--",
            "  buf[n] = $0; delete buf[n - B]; delete p[n - B]",
        ]
    else:
        lines.append("  if (m != \"\") out(n \" M\" substr(m, 2) \" \" $0)")
    lines += [
        "}",
        "END {",
        "  print \"0 S RUNBOOKS_LINES \" (n + 0)",
        *[f"  print \"0 S RUNBOOKS_COUNT {i} \" (c[{i}] + 0)" for i in range(1, len(markers) + 1)],
        "  if (dropped > 0) print \"0 S RUNBOOKS_DROPPED \" dropped",
        "}",
    ]
    return "\n".join(lines) + "\n"


_AWK = "awk -v B={{ before }} -v A={{ after }} -v L={{ cap }} {{ program }}"
CONTAINER_TEMPLATE = (
    "{ echo \"RUNBOOKS_NOW $(" + NOW + ")\";"
    " echo \"RUNBOOKS_STARTED $(docker inspect --format {{ fmt }} {{ container }} 2>&1 | head -n 1)\";"
    " docker logs --timestamps{% if since %} --since {{ since }}{% endif %}{% if tail %} --tail {{ tail }}{% endif %}"
    " {{ container }} 2>&1;"
    " echo \"RUNBOOKS_EXIT $?\"; } | " + _AWK
)
FILE_TEMPLATE = (
    "echo \"0 S RUNBOOKS_NOW $(" + NOW + ")\"; if [ -r {{ file }} ]; then"
    " {% if tail %}tail -n {{ tail }} {{ file }} | " + _AWK + "{% else %}" + _AWK + " {{ file }}{% endif %};"
    " echo \"0 S RUNBOOKS_EXIT $?\"; else echo '0 S RUNBOOKS_EXIT 2';"
    " printf '0 S RUNBOOKS_ERROR cannot read %s\\n' {{ file }}; fi"
)


@dataclass(frozen=True)
class ScanSpec:
    """What to scan and what passes: markers by name, an optional context pattern."""

    markers: tuple[tuple[str, str], ...] = ()  # (name, POSIX ERE), in order
    context: str | None = None  # ERE of lines passed with their surroundings (exceptions)
    before: int = 5
    after: int = 5
    cap: int = 0  # at most this many lines cross the network (0: no cap); counts stay exact

    def program(self, side_lines: bool = True) -> str:
        return filter_program([ere for _, ere in self.markers], self.context, side_lines)


def container_command(container: str, spec: ScanSpec, since: str | None = None, tail: int | None = None,
                      label: str = "", timeout: float | None = None) -> Command:
    """`docker logs --timestamps [--since S] [--tail N] C 2>&1 | awk <filter>` as a value."""
    return cmd(CONTAINER_TEMPLATE, since=since, tail=tail, container=container, before=int(spec.before),
               after=int(spec.after), cap=int(spec.cap), program=spec.program(side_lines=True), fmt=INSPECT_FORMAT,
               label=label or f"docker logs {container} (filtered on host)",
               **({"timeout": timeout} if timeout else {}))


def file_command(path: str, spec: ScanSpec, tail: int | None = None, label: str = "",
                 timeout: float | None = None) -> Command:
    """`awk <filter> FILE` (or `tail -n N FILE | awk <filter>`) as a value."""
    return cmd(FILE_TEMPLATE, file=path, tail=tail, before=int(spec.before), after=int(spec.after), cap=int(spec.cap),
               program=spec.program(side_lines=False), label=label or f"scan {path} (filtered on host)",
               **({"timeout": timeout} if timeout else {}))


@dataclass(frozen=True)
class ScanLine:
    nr: int
    tag: str  # M | E | C
    markers: tuple[int, ...]  # 1-based indices of the markers an M line matched
    text: str  # the line as the reader printed it


@dataclass
class Scan:
    """The filter's output, parsed."""

    lines: list[ScanLine] = field(default_factory=list)
    side: dict[str, str] = field(default_factory=dict)  # NOW, STARTED, FIRST
    exit_code: int | None = None  # the reader's exit status (docker logs / awk on the file)
    lines_read: int | None = None
    counts: dict[int, int] = field(default_factory=dict)  # marker index -> matching lines
    dropped: int = 0  # lines the cap kept on the host
    errors: list[str] = field(default_factory=list)  # what the reader said when it failed (first lines)
    malformed: int = 0


def split_lines(output: str) -> list[str]:
    """Lines exactly as awk split them: on `\\n` only. Python's splitlines() also splits on
    \\r, \\v, \\f, \\x1c-\\x1e, \\x85 and \\u2028/9, which would let one hostile log line
    forge a second, tagged one."""
    lines = output.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _side(scan: Scan, key: str, value: str) -> bool:
    try:
        if key == "EXIT":
            scan.exit_code = int(value)
        elif key == "LINES":
            scan.lines_read = int(value)
        elif key == "DROPPED":
            scan.dropped = int(value)
        elif key == "ERROR":
            scan.errors.append(value)
        elif key == "COUNT":
            idx, _, n = value.partition(" ")
            scan.counts[int(idx)] = int(n)
        elif key in SIDE_KEYS:
            scan.side[key] = value.strip()
        else:
            return False
    except ValueError:
        return False
    return True


_M_TAG = re.compile(r"M(?:[0-9]+(?:,[0-9]+)*)?")  # bare `M`: a marker line whose markers were not named


def parse_scan(output: str) -> Scan:
    scan = Scan()
    for raw in split_lines(output):
        parts = raw.split(" ", 2)
        if len(parts) == 3 and parts[0] == "0" and parts[1] == "S":
            key, _, value = parts[2].partition(" ")
            if not key.startswith("RUNBOOKS_") or not _side(scan, key[len("RUNBOOKS_"):], value):
                scan.malformed += 1
            continue
        tag = parts[1] if len(parts) >= 2 else ""
        if not parts[0].isdigit() or not (tag in ("E", "C") or _M_TAG.fullmatch(tag)):
            scan.malformed += 1
            continue
        markers = tuple(int(x) for x in tag[1:].split(",")) if tag.startswith("M") and len(tag) > 1 else ()
        scan.lines.append(ScanLine(int(parts[0]), tag[:1], markers, parts[2] if len(parts) == 3 else ""))
    scan.lines.sort(key=lambda ln: ln.nr)
    return scan


def named_counts(scan: Scan, names: Sequence[str]) -> dict[str, int]:
    return {name: scan.counts.get(i, 0) for i, name in enumerate(names, 1)}


def lines_by_marker(scan: Scan, names: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {name: [] for name in names}
    for ln in scan.lines:
        for i in ln.markers:
            if 1 <= i <= len(names):
                out[names[i - 1]].append(ln.text)
    return out


def spec_from(markers: Mapping[str, str], context: str | None = None, context_lines: int = 5,
              cap: int = 0) -> ScanSpec:
    return ScanSpec(markers=tuple(markers.items()), context=context, before=context_lines, after=context_lines,
                    cap=cap)
