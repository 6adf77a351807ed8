"""What a shell step's output shows on the console, over a real sshd: a successful step
its last lines; a failed one (an exit code it does not accept, a timeout, output it
cannot parse) all of it, a very long one as head and tail naming where it is whole; -v
all of every step's. Configured secrets are masked in every form."""

from __future__ import annotations

import json
import re
from pathlib import Path

from runbooks.sshd import SshServer
from tests.helpers import events
from tests.lang.common import play, run_in_process

SECRET = "tok-7f3a9c-secret"


def _shown(console: str) -> list[str]:
    """The output lines the console showed (`    | text`), in order."""
    return [m.group(1) for m in re.finditer(r"^    \| (.*)$", console, re.MULTILINE)]


def _lines(n: int, exit_code: int = 0, extra: str = "", parse: str = "none", ok_exit: str = "[0]") -> str:
    return f"""
name: out
steps:
  - name: many
    kind: shell
    params:
      command: "seq -f 'line-%g' 1 {n}; echo 'token {SECRET}' >&2; {extra}exit {exit_code}"
      parse: {parse}
      ok_exit: {ok_exit}
"""


def test_a_failed_step_shows_all_its_output_masked(tmp_path: Path, sshd: SshServer) -> None:
    res, console = run_in_process(sshd, tmp_path, _lines(30, exit_code=3), secrets=(SECRET,))
    assert res.exit_code == 2 and res.steps[0].status == "failed"
    shown = _shown(console)
    assert shown[:30] == [f"line-{i}" for i in range(1, 31)], console  # from the first line, not the last 8
    assert "token ***" in shown and SECRET not in console
    assert "more line(s) in the transcript" not in console


def test_a_successful_step_stays_short(tmp_path: Path, sshd: SshServer) -> None:
    for body in (_lines(30), _lines(30, exit_code=1, ok_exit="any"), _lines(30, exit_code=4, ok_exit="[0, 4]")):
        res, console = run_in_process(sshd, tmp_path, body, secrets=(SECRET,))
        assert res.exit_code == 0 and res.steps[0].status == "ok", console
        shown = _shown(console)
        assert len(shown) == 8 and shown[0] == "line-24" and shown[-1] == "token ***", console
        assert "23 more line(s) in the transcript" in console and SECRET not in console


def test_a_very_long_failed_output_is_head_and_tail_naming_where_it_is_whole(tmp_path: Path, sshd: SshServer) -> None:
    res, console = run_in_process(sshd, tmp_path, _lines(1000, exit_code=1), secrets=(SECRET,))
    assert res.exit_code == 2
    shown = _shown(console)
    run = Path(res.transcript).parent
    elided = [s for s in shown if "lines elided" in s]
    assert len(elided) == 1 and len(shown) == 301, console
    assert shown[:150] == [f"line-{i}" for i in range(1, 151)]
    assert shown[-1] == "token ***" and shown[-2] == "-- stderr --" and shown[-150] == "line-853"
    # 1001 lines (with stderr's separator: 1002), 300 shown; the rest is in the record, whole
    assert f"... 702 lines elided: all of it in {run / 'events.jsonl'} (command " in elided[0]
    seq = int(re.search(r"\(command (\d+)\)", elided[0]).group(1))  # type: ignore[union-attr]
    done = next(e for e in events(run) if e["type"] == "command_finished" and e["command_seq"] == seq)
    assert done["stdout"].splitlines() == [f"line-{i}" for i in range(1, 1001)]
    assert "token ***" in done["stderr"] and SECRET not in (run / "events.jsonl").read_text()


def test_a_timed_out_step_shows_what_it_printed(tmp_path: Path, sshd: SshServer) -> None:
    res, console = run_in_process(sshd, tmp_path, """
name: slow
steps:
  - {name: hang, kind: shell, timeout: 2, params: {command: "seq -f 'tick-%g' 1 20; sleep 60"}}
""")
    assert res.steps[0].status == "timeout" and res.exit_code == 2
    assert _shown(console)[:20] == [f"tick-{i}" for i in range(1, 21)], console


def test_output_that_cannot_be_parsed_is_shown_whole_when_the_step_fails(tmp_path: Path, sshd: SshServer) -> None:
    res, console = run_in_process(sshd, tmp_path, _lines(20, parse="json"), secrets=(SECRET,))
    assert res.steps[0].status == "failed" and "not JSON" in res.steps[0].message
    after = console.split("its last command's whole output:", 1)
    assert len(after) == 2, console
    assert _shown(after[1])[:20] == [f"line-{i}" for i in range(1, 21)] and SECRET not in console


def test_verbose_shows_all_of_every_step(tmp_path: Path, sshd: SshServer) -> None:
    res, console = run_in_process(sshd, tmp_path, _lines(30), secrets=(SECRET,), verbose=True)
    assert res.exit_code == 0
    assert _shown(console) == [*(f"line-{i}" for i in range(1, 31)), "-- stderr --", "token ***"], console


def test_play_dash_v_reaches_the_console(tmp_path: Path, sshd: SshServer) -> None:
    pb = tmp_path / "pb.yml"
    pb.write_text(_lines(30))
    code, doc, err = play(sshd, tmp_path, pb, "-v")
    assert code == 0 and doc["verdict"] == "ok"
    assert "| line-1\n" in err and "| line-30\n" in err
    code, doc, err = play(sshd, tmp_path, pb)
    assert code == 0 and "| line-1\n" not in err and "| line-30\n" in err
    assert json.dumps(doc)  # one document on stdout
