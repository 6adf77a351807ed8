"""`serial: 1` after a target that ends WARN, over a real sshd: the operator is asked
whether to go on (shown the findings' ids); --yes goes on; no answer stops the rest with
the reason in the combined verdict; a clean target goes on without asking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pexpect

from runbooks.sshd import SshServer
from runbooks.transcripts.verify import verify_run
from tests.helpers import events, inv_env, write_config
from tests.lang.common import play, target_entry
from tests.operator.helpers import finish, program, spawn

WARNS = """
name: serial-warn
serial: 1
steps:
  - {name: write, kind: shell, mutates: true, params: {command: "echo {{ target }} >> LOG"}}
  - name: disk
    kind: check
    params:
      id: disk_usage_high
      severity: P1
      title: "{{ target }} is filling up"
      value: "1 if target == 'WARNING' else 0"
      threshold: 0
"""
TARGETS = ("one", "two", "three")


def _setup(sshd: SshServer, tmp_path: Path, warning: str) -> tuple[Path, Path, dict[str, Any]]:
    log = tmp_path / "log"
    log.unlink(missing_ok=True)
    pb = tmp_path / "serial.yml"
    pb.write_text(WARNS.replace("LOG", str(log)).replace("WARNING", warning))
    entry = target_entry(sshd, tmp_path)
    return pb, log, {t: entry for t in TARGETS}


def _ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_yes_goes_on_after_a_warning_and_says_so(tmp_path: Path, sshd: SshServer) -> None:
    pb, log, targets = _setup(sshd, tmp_path, warning="two")
    code, doc, err = play(sshd, tmp_path, pb, "--target", "one,two,three", "--yes", targets=targets)
    assert code == 1, err
    assert _ran(log) == ["one", "two", "three"]
    assert "serial: two ended WARN (exit 1): disk_usage_high; going on to three (--yes on behalf of" in err
    assert "message" not in doc and [r["target"] for r in doc["runs"]] == list(TARGETS)
    # each run's own record says where it stood in the rollout and why it ran: the decision
    # to go on after two's WARN is in three's transcript (two's is sealed before it is taken)
    md = {r["target"]: Path(r["transcript"]).read_text() for r in doc["runs"]}
    assert "| Serial | `1/3 (one, two, three): the first target` |" in md["one"]
    assert "| Serial | `2/3 (one, two, three): one ended OK (exit 0)` |" in md["two"]
    assert ("| Serial | `3/3 (one, two, three): serial: two ended WARN (exit 1): disk_usage_high; "
            "went on: --yes on behalf of ") in md["three"]
    # and in two's own record, appended after its verdict with the chain kept and resealed
    assert "serial rollout: **went on** | `serial: two ended WARN (exit 1): disk_usage_high; went on" in md["two"]
    assert "serial rollout" not in md["one"] + md["three"]
    for r in doc["runs"]:
        assert verify_run(Path(r["transcript"]).parent).status == "intact", r["target"]


def test_without_a_terminal_or_yes_a_warning_stops_the_rest(tmp_path: Path, sshd: SshServer) -> None:
    pb, log, targets = _setup(sshd, tmp_path, warning="one")
    code, doc, err = play(sshd, tmp_path, pb, "--target", "one,two,three", targets=targets)
    assert code == 3, err
    assert _ran(log) == ["one"]  # the change was not carried to two and three
    assert doc["verdict"] == "error" and doc["exit_code"] == 3 and doc["not_run"] == ["two", "three"]
    assert [r["target"] for r in doc["runs"]] == ["one"] and doc["runs"][0]["verdict"] == "warn"
    reason = ("serial: one ended WARN (exit 1): disk_usage_high; not run on two, three: nobody to confirm going on "
              "(stdin is not a terminal; --yes answers yes)")
    assert doc["message"] == reason
    # the stop is in the record of the run it was decided on, which stays intact
    one = Path(doc["runs"][0]["transcript"])
    assert f"serial rollout: **stopped** | `{reason}`" in one.read_text()
    stop = [e for e in events(one.parent) if e["type"] == "serial"]
    assert [(e["decision"], e["not_run"]) for e in stop] == [("stopped", ["two", "three"])]
    assert verify_run(one.parent).status == "intact"
    assert f"COMBINED VERDICT ERROR (exit 3) over 1 target: {reason}" in err


def test_a_clean_target_goes_on_without_asking(tmp_path: Path, sshd: SshServer) -> None:
    pb, log, targets = _setup(sshd, tmp_path, warning="nobody")
    code, doc, err = play(sshd, tmp_path, pb, "--target", "one,two,three", targets=targets)
    assert code == 0, err
    assert _ran(log) == ["one", "two", "three"] and "ended WARN" not in err


def _spawn(sshd: SshServer, tmp_path: Path) -> tuple[pexpect.spawn, Path]:
    pb, log, targets = _setup(sshd, tmp_path, warning="one")
    cfg = write_config(tmp_path / "runbooks.yaml", targets)
    child = spawn([*program("inv"), "play", str(pb), "--target", "one,two,three"], inv_env(cfg, tmp_path / "tr"),
                  cwd=tmp_path, cols=200)
    return child, log


def test_the_operator_is_asked_after_a_warning(tmp_path: Path, sshd: SshServer) -> None:
    child, log = _spawn(sshd, tmp_path)
    child.expect_exact("serial: one ended WARN (exit 1): disk_usage_high. Go on to two (2 target(s) left)? [y/N]")
    child.sendline("y")
    code, screen = finish(child)
    assert code == 1, screen
    assert _ran(log) == ["one", "two", "three"]
    assert screen.count("[y/N]") == 1  # two and three ended OK: not asked again
    two = next(d for d in (tmp_path / "tr").rglob("transcript.md") if "Target | `two`" in d.read_text())
    assert "disk_usage_high; went on: operator " in two.read_text() and "answered 'y'" in two.read_text()

    child, log = _spawn(sshd, tmp_path)
    child.expect_exact("Go on to two")
    child.sendline("n")
    code, screen = finish(child)
    assert code == 4, screen
    assert _ran(log) == ["one"]
    assert "COMBINED VERDICT ABORTED (exit 4) over 1 target: serial: one ended WARN (exit 1): disk_usage_high; " \
           "not run on two, three: the operator stopped (answered 'n')" in screen.replace("\r\n", "\n")
