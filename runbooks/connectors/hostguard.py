"""What a command is wrapped in on the host, so it can always be killed there.

Closing an SSH channel does not stop a command on the host (no pty, no SIGHUP). So every
command runs as ONE shell (the login shell execs `/bin/sh -c`, no other process) that
first reports its process group on stderr: on a timeout or Ctrl-C the client sends
`kill -TERM/-KILL -- -PGID` over the same connection, only then.

The backstop for when the client cannot send that kill (the client died, or the link
vanished without either end noticing) is a per-connection guard on the host instead of a
`timeout` process around every command. Each command registers its process group with
its deadline in the guard's directory (one builtin `echo` into a file, named by the pgid,
under $HOME/.cache/runbooks/, keyed by the connection's own sshd process, the shell's
parent). The first command of a connection that finds no directory makes it and starts
the guard, in its own session (setsid), away from the command's process group. The guard
wakes every TICK (2) seconds: a registered group still alive past its deadline gets TERM, five
seconds later KILL; a group that ended is marked done. It leaves when the connection's sshd
process has gone and no registered group is alive, removing its directory.

Cost per command: two builtins and the exec of /bin/sh, against `timeout` + `sh -c` (two
more process starts) before. A host without `setsid` runs commands without the backstop;
the client-sent kill still works.
"""

from __future__ import annotations

import shlex

PID_MARK = "__runbooks_pgid="
BACKSTOP_GRACE = 10  # seconds after a command's own timeout before the guard kills it
KILL_AFTER = 5  # seconds between the guard's TERM and KILL
TICK = 2  # seconds between the guard's looks (a kill lands within a tick of its deadline)

# $1 guard directory, $2 the connection's sshd pid. Files: "<seconds>" as registered,
# "D <epoch>" once seen (deadline), "K <epoch>" once TERM was sent (KILL due), "X" once the
# group has ended (no `rm` per command: builtins only; a reused pid registers afresh).
GUARD_SCRIPT = (
    'G=$1; P=$2; trap "" HUP\n'
    "while :; do\n"
    "  now=$(date +%s) || exit 1; live=0\n"
    '  for f in "$G"/[0-9]*; do\n'
    '    [ -f "$f" ] || continue; pg=${f##*/}; read -r a b < "$f" || continue\n'
    '    [ "$a" = X ] && continue\n'
    '    if ! kill -0 "-$pg" 2>/dev/null; then echo X > "$f"; continue; fi\n'
    '    live=1\n'
    '    case $a in\n'
    '      D) [ "$now" -ge "$b" ] && kill -TERM "-$pg" 2>/dev/null && echo "K $((now + ' + str(KILL_AFTER) + '))" > "$f" ;;\n'
    '      K) [ "$now" -ge "$b" ] && kill -KILL "-$pg" 2>/dev/null ;;\n'
    '      *[!0-9]*|"") ;;\n'
    '      *) echo "D $((now + a))" > "$f" ;;\n'
    "    esac\n"
    "  done\n"
    '  [ "$live" = 1 ] || kill -0 "$P" 2>/dev/null || break\n'
    f"  sleep {TICK}\n"
    "done\n"
    'rm -rf "$G"\n'
)

GUARD_DIR = '"$HOME/.cache/runbooks/guard-$PPID"'


def guard_start() -> str:
    """Shell text (run by the login shell) that makes the guard directory and starts the
    guard once per connection; a no-op when the directory exists."""
    return ('[ -d ' + GUARD_DIR + ' ] || if command -v setsid >/dev/null 2>&1 && '
            '{ mkdir -p "$HOME/.cache/runbooks"; mkdir -m 700 ' + GUARD_DIR + '; } 2>/dev/null; then '
            'setsid /bin/sh -c ' + shlex.quote(GUARD_SCRIPT) + ' runbooks-guard ' + GUARD_DIR + ' "$PPID" '
            '</dev/null >/dev/null 2>&1 & fi; ')


def wrap(inner: str, timeout: float | None) -> str:
    """The command string sent to the host: the pgid line on stderr, the registration with
    the guard (when there is a timeout), then the command as ONE `/bin/sh -c`."""
    register = ""
    if timeout:
        backstop = int(timeout) + BACKSTOP_GRACE
        register = f"{guard_start()}{{ echo {backstop} > {GUARD_DIR}/$$; }} 2>/dev/null; "
    # sshd starts the session with setsid(): $$ is the process group leader.
    return f"echo {PID_MARK}$$ >&2; {register}exec /bin/sh -c {shlex.quote(inner)}"
