"""A confirmed `loop:` / `until:` step asks the operator ONCE, over a real sshd: the
question lists every item as it will run and says how many runs it covers; the answer is
recorded with all of them; --yes answers it; declining runs none of the items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pexpect

from runbooks.sshd import SshServer
from tests.helpers import events, inv_env, run_dirs, write_config
from tests.lang.common import play, target_entry
from tests.operator.helpers import finish, logical_lines, program, spawn

LOOP = """
name: cleanup
vars: {dirs: [alpha, "b c", gamma]}
steps:
  - name: remove
    kind: shell
    mutates: true
    confirm: "Remove the old dirs on {{ target }}?"
    loop: dirs
    loop_var: d
    params: {command: "echo {{ d }} >> DIR/removed"}
"""

UNTIL = """
name: restart
steps:
  - name: kick
    kind: shell
    mutates: true
    confirm: true
    params: {command: "echo x >> DIR/kicks; test $(wc -l < DIR/kicks) -ge 3", ok_exit: any}
    until: "steps.kick.exit_code == 0"
    retries: 5
    delay: 0
"""


def _spawn(sshd: SshServer, tmp_path: Path, body: str, *args: str) -> pexpect.spawn:
    pb = tmp_path / "pb.yml"
    pb.write_text(body.replace("DIR", str(tmp_path)))
    cfg = write_config(tmp_path / "runbooks.yaml", {"box": target_entry(sshd, tmp_path)})
    return spawn([*program("inv"), "play", str(pb), "--target", "box", *args], inv_env(cfg, tmp_path / "tr"),
                 cwd=tmp_path, cols=200)


def _confirms(transcripts: Path) -> list[dict[str, Any]]:
    return [e for d in run_dirs(transcripts) for e in events(d) if e["type"] == "confirm"]


def test_a_confirmed_loop_asks_once_listing_every_item(tmp_path: Path, sshd: SshServer) -> None:
    child = _spawn(sshd, tmp_path, LOOP)
    child.expect_exact("Remove the old dirs on box? [3 item(s)]")
    child.expect_exact("Proceed? [y/N]")
    child.sendline("y")
    code, screen = finish(child)
    assert code == 0, screen
    assert (tmp_path / "removed").read_text().split("\n")[:-1] == ["alpha", "b c", "gamma"]
    lines = logical_lines(screen)
    listed = [ln.strip() for ln in lines if ln.strip().startswith("$ echo") and "removed" in ln]
    # the three rendered (quoted) commands in the question, then each as it runs
    assert listed[:3] == [f"$ echo {d} >> {tmp_path}/removed" for d in ("alpha", "'b c'", "gamma")], screen
    assert screen.count("Proceed?") == 1
    (confirm,) = _confirms(tmp_path / "tr")
    assert confirm["covers"] == "3 item(s)" and confirm["granted"] is True and confirm["answer"] == "y"
    assert confirm["commands"] == [f"$ echo {d} >> {tmp_path}/removed" for d in ("alpha", "'b c'", "gamma")]
    md = next(run_dirs(tmp_path / "tr")[0].glob("transcript.md")).read_text()
    assert "Remove the old dirs on box? [3 item(s)]" in md and f"echo gamma >> {tmp_path}/removed" in md


def test_declining_the_loop_runs_none_of_its_items(tmp_path: Path, sshd: SshServer) -> None:
    child = _spawn(sshd, tmp_path, LOOP)
    child.expect_exact("Proceed? [y/N]")
    child.sendline("n")
    code, screen = finish(child)
    assert code == 4, screen
    assert not (tmp_path / "removed").exists()
    assert "none of its 3 item(s) ran" in screen
    (confirm,) = _confirms(tmp_path / "tr")
    assert confirm["granted"] is False and len(confirm["commands"]) == 3
    ev = events(run_dirs(tmp_path / "tr")[0])
    assert not [e for e in ev if e["type"] == "command"]  # nothing was sent


def test_yes_answers_the_loop_once(tmp_path: Path, sshd: SshServer) -> None:
    pb = tmp_path / "pb.yml"
    pb.write_text(LOOP.replace("DIR", str(tmp_path)))
    code, doc, err = play(sshd, tmp_path, pb, "--yes")
    assert code == 0, err
    assert (tmp_path / "removed").read_text().split("\n")[:-1] == ["alpha", "b c", "gamma"]
    (confirm,) = _confirms(tmp_path / "transcripts")
    assert confirm["by"].startswith("--yes on behalf of") and confirm["covers"] == "3 item(s)"
    assert len(confirm["commands"]) == 3


def test_a_confirmed_until_asks_once_for_its_attempts(tmp_path: Path, sshd: SshServer) -> None:
    child = _spawn(sshd, tmp_path, UNTIL)
    child.expect_exact("up to 6 attempt(s), until steps.kick.exit_code == 0]")
    child.expect_exact("Proceed? [y/N]")
    child.sendline("y")
    code, screen = finish(child)
    assert code == 0, screen
    assert (tmp_path / "kicks").read_text().count("x") == 3  # ran 3 times, asked once
    assert screen.count("Proceed?") == 1
    (confirm,) = _confirms(tmp_path / "tr")
    assert confirm["covers"] == "up to 6 attempt(s), until steps.kick.exit_code == 0"


def test_a_read_only_confirmed_loop_asks_once_too(tmp_path: Path, sshd: SshServer) -> None:
    pb = tmp_path / "pb.yml"
    pb.write_text("""
name: look
steps:
  - {name: peek, kind: shell, confirm: "Read {{ item }}?", loop: [a, b], params: {command: "echo {{ item }}"}}
""")
    code, _, err = play(sshd, tmp_path, pb, "--yes")
    assert code == 0, err
    (confirm,) = _confirms(tmp_path / "transcripts")  # the text names the item: one line each
    assert confirm["commands"] == ["Read a?: $ echo a", "Read b?: $ echo b"]
    assert confirm["prompt"] == "Run step peek on box (read-only) [2 item(s)]"


def test_a_long_loop_lists_its_first_items_and_records_all(tmp_path: Path, sshd: SshServer) -> None:
    body = LOOP.replace('vars: {dirs: [alpha, "b c", gamma]}', "vars: {dirs: " + str([f"d{i}" for i in range(60)]) + "}")
    child = _spawn(sshd, tmp_path, body)
    child.expect_exact("[60 item(s)]")
    child.expect_exact("... and 10 more (every one is in the transcript)")
    child.expect_exact("Proceed? [y/N]")
    child.sendline("n")
    code, screen = finish(child)
    assert code == 4 and not (tmp_path / "removed").exists(), screen
    assert f"$ echo d49 >> {tmp_path}/removed" in screen and f"$ echo d50 >> {tmp_path}/removed" not in screen
    (confirm,) = _confirms(tmp_path / "tr")
    assert len(confirm["commands"]) == 60 and confirm["commands"][-1] == f"$ echo d59 >> {tmp_path}/removed"
