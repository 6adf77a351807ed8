"""What the operator meets, over a real sshd: the runbook's own prompt text and choices,
its confirmation text, --tags/--skip-tags, and serial runs over several targets."""

from __future__ import annotations

import json
from pathlib import Path

import pexpect

from runbooks.sshd import SshServer
from tests.helpers import inv_env, run_dirs, write_config
from tests.lang.common import play, target_entry
from tests.operator.helpers import finish, program, spawn

ASK = """
name: ask
steps:
  - {name: list, kind: shell, params: {command: "printf 'a\\\\nb\\\\n'", parse: lines}}
  - name: ask
    kind: prompt
    params:
      text: "{{ steps.list.parsed | length }} things found. What now?"
      choices: [delete, keep]
      default: keep
  - name: delete
    kind: shell
    when: "steps.ask.answer == 'delete'"
    mutates: true
    confirm: "Really delete {{ steps.list.parsed | length }} things on {{ target }}?"
    params: {command: "touch DIR/deleted"}
"""


def _spawn(sshd: SshServer, tmp_path: Path, body: str, *args: str) -> pexpect.spawn:
    pb = tmp_path / "pb.yml"
    pb.write_text(body.replace("DIR", str(tmp_path)))
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": target_entry(sshd, tmp_path)})
    return spawn([*program("inv"), "play", str(pb), "--target", "box", *args], inv_env(cfg, tmp_path / "tr"), cwd=tmp_path)


def test_prompt_text_choices_and_confirm_text(tmp_path: Path, sshd: SshServer) -> None:
    child = _spawn(sshd, tmp_path, ASK)
    child.expect_exact("2 things found. What now? [delete/keep]")
    child.sendline("maybe")
    child.expect_exact("'maybe' is not one of: delete, keep")
    child.expect_exact("What now?")
    child.sendline("DELETE")
    child.expect_exact("Really delete 2 things on box?")
    child.expect_exact("touch")  # the command is shown with the question
    child.sendline("y")
    code, screen = finish(child)
    assert code == 0, screen
    assert (tmp_path / "deleted").exists()
    ev = [json.loads(line) for d in run_dirs(tmp_path / "tr") for line in (d / "events.jsonl").read_text().splitlines()]
    assert [e["answer"] for e in ev if e["type"] == "prompt"] == ["maybe", "DELETE"]
    assert any(e["type"] == "confirm" and e["prompt"] == "Really delete 2 things on box?" for e in ev)


def test_prompt_keep_branch_and_q_aborts(tmp_path: Path, sshd: SshServer) -> None:
    child = _spawn(sshd, tmp_path, ASK)
    child.expect_exact("What now?")
    child.sendline("keep")
    code, screen = finish(child)
    assert code == 0 and not (tmp_path / "deleted").exists(), screen
    child = _spawn(sshd, tmp_path, ASK)
    child.expect_exact("What now?")
    child.sendline("q")
    code, _ = finish(child)
    assert code == 4 and not (tmp_path / "deleted").exists()


def test_a_prompt_without_default_refuses_a_non_interactive_run_before_anything(tmp_path: Path, sshd: SshServer) -> None:
    body = ASK.replace("      default: keep\n", "").replace("touch DIR/deleted", "touch " + str(tmp_path / "deleted"))
    pb = tmp_path / "pb.yml"
    pb.write_text(body.replace("printf", f"touch {tmp_path}/started; printf"))
    code, doc, err = play(sshd, tmp_path, pb, "--yes")
    assert code == 3 and "waits for the operator" in err and "Nothing was run" in err
    assert not (tmp_path / "started").exists()


TAGGED = """
name: tagged
steps:
  - {name: m1, kind: shell, tags: [measure], params: {command: "echo m1 >> LOG"}}
  - {name: c1, kind: shell, tags: [cleanup], params: {command: "echo c1 >> LOG"}}
  - {name: both, kind: shell, tags: [measure, cleanup], params: {command: "echo both >> LOG"}}
  - {name: fin, kind: shell, always: true, params: {command: "echo fin >> LOG"}}
"""


def _tagged(sshd: SshServer, tmp_path: Path, *args: str) -> list[str]:
    log = tmp_path / "log"
    log.unlink(missing_ok=True)
    pb = tmp_path / "tagged.yml"
    pb.write_text(TAGGED.replace("LOG", str(log)))
    code, _, err = play(sshd, tmp_path, pb, *args)
    assert code == 0, err
    return log.read_text().split()


def test_tags_and_skip_tags(tmp_path: Path, sshd: SshServer) -> None:
    assert _tagged(sshd, tmp_path) == ["m1", "c1", "both", "fin"]
    assert _tagged(sshd, tmp_path, "--tags", "measure") == ["m1", "both", "fin"]
    assert _tagged(sshd, tmp_path, "--skip-tags", "cleanup") == ["m1", "fin"]
    assert _tagged(sshd, tmp_path, "--tags", "measure", "--skip-tags", "cleanup") == ["m1", "fin"]
    pb = tmp_path / "tagged.yml"
    code, _, err = play(sshd, tmp_path, pb, "--tags", "mesure")
    assert code == 3 and "--tags: no step of tagged has tag 'mesure'" in err


SERIAL = """
name: serial-write
serial: 1
steps:
  - name: write
    kind: shell
    mutates: true
    confirm: "Write on {{ target }}?"
    params: {command: "test {{ target }} != FAIL && echo {{ target }} >> LOG"}
"""


def _serial(sshd: SshServer, tmp_path: Path, fail: str, body: str = SERIAL) -> tuple[int, dict, str, list[str]]:
    log = tmp_path / "log"
    log.unlink(missing_ok=True)
    pb = tmp_path / "serial.yml"
    pb.write_text(body.replace("LOG", str(log)).replace("FAIL", fail))
    entry = target_entry(sshd, tmp_path)
    code, doc, err = play(sshd, tmp_path, pb, "--target", "one,two,three", "--yes",
                          targets={"one": entry, "two": entry, "three": entry})
    return code, doc, err, log.read_text().split() if log.exists() else []


def test_serial_runs_one_target_at_a_time_in_order(tmp_path: Path, sshd: SshServer) -> None:
    code, doc, err, log = _serial(sshd, tmp_path, fail="none")
    assert code == 0, err
    assert log == ["one", "two", "three"]
    assert [r["target"] for r in doc["runs"]] == ["one", "two", "three"]
    confirms = [json.loads(line) for d in run_dirs(tmp_path / "transcripts")
                for line in (d / "events.jsonl").read_text().splitlines() if '"confirm"' in line]
    assert sorted(e["prompt"] for e in confirms if e["type"] == "confirm") == [
        "Write on one?", "Write on three?", "Write on two?"]


def test_serial_stops_at_the_first_failed_target(tmp_path: Path, sshd: SshServer) -> None:
    code, doc, err, log = _serial(sshd, tmp_path, fail="two")
    assert code == 2, err
    assert log == ["one"]  # two failed, three never started
    assert [r["target"] for r in doc["runs"]] == ["one", "two"]
    assert "three" in err and "not run" in err


def test_a_mutating_playbook_without_serial_still_refuses_several_targets(tmp_path: Path, sshd: SshServer) -> None:
    code, _, err, log = _serial(sshd, tmp_path, fail="none", body=SERIAL.replace("serial: 1\n", ""))
    assert code == 3 and "one target at a time" in err and log == []
