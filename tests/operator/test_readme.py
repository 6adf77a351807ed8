"""Every command in the README runs as shown: the fenced `sh`/`bash` blocks are extracted and run,
in order, in a fresh directory against the built-in sandbox (and the sandbox behind a real
sshd). A block is not run only when the line before its fence says why:
`<!-- readme-test: skip (...) -->` (an example for a real prod target) or
`<!-- readme-test: install (...) -->` (the two fresh-machine commands: the venv and pip
steps are what .ci/run does on a clean machine; the command after them is run here, and
the test command must be .ci/run's, verbatim)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runbooks.sandbox import Sandbox
from tests.fixtures.sshd import require_sshd
from tests.helpers import ROOT
from tests.operator.helpers import BIN

FENCE = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.M | re.S)
MARKER = re.compile(r"<!-- readme-test: (skip|install) \((.+?)\) -->\s*$")
INSTALL = re.compile(r"^python3 -m venv \.venv && \. \.venv/bin/activate && python -m pip install -e (\S+) && (.+)$")


@dataclass
class Block:
    text: str
    marker: str | None
    line: int


def blocks(readme: str) -> list[Block]:
    out = []
    for m in FENCE.finditer(readme):
        before = readme[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mk = MARKER.search(before)
        out.append(Block(m.group(1), mk.group(1) if mk else None, readme[: m.start()].count("\n") + 1))
    return out


def _run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-ec", script], cwd=str(cwd), env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


def test_the_install_commands_are_two_and_ci_runs_the_test_one_verbatim() -> None:
    bs = [b for b in blocks((ROOT / "README.md").read_text()) if b.marker == "install"]
    assert len(bs) == 2
    lines = [b.text.strip() for b in bs]
    assert all("\n" not in ln and INSTALL.match(ln) for ln in lines), lines
    assert INSTALL.match(lines[0]).group(2) == "inv monitor.p0"  # type: ignore[union-attr]
    # the main job runs on the built-in sandbox, an extra: the core alone does not install Django
    assert INSTALL.match(lines[0]).group(1) == "'.[sandbox]'"  # type: ignore[union-attr]
    assert INSTALL.match(lines[1]).group(1) == "'.[test]'"  # type: ignore[union-attr]
    assert INSTALL.match(lines[1]).group(2) == "python -m pytest -q"  # type: ignore[union-attr]
    ci = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert lines[1] in ci


def test_every_readme_command_runs_as_shown_against_the_sandbox(tmp_path: Path) -> None:
    require_sshd()
    work = tmp_path / "checkout"
    work.mkdir()
    shutil.copy(ROOT / "tasks.py", work / "tasks.py")  # `inv` runs from a checkout
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOKS_")}
    env.update(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    ran = 0
    try:
        for b in blocks((ROOT / "README.md").read_text()):
            if b.marker == "skip":
                continue
            script = b.text
            if b.marker == "install":
                cmd = INSTALL.match(b.text.strip()).group(2)  # type: ignore[union-attr]
                if cmd.startswith("python -m pytest"):
                    continue  # this very suite
                script = cmd
            p = _run(script, work, env)
            assert p.returncode == 0, f"README line {b.line}:\n{script}\n--- stdout\n{p.stdout[-3000:]}\n--- stderr\n{p.stderr[-3000:]}"
            ran += 1
            if script == "inv monitor.p0":
                assert "VERDICT OK (exit 0) on sandbox  ·  SIMULATED HOST" in p.stdout
                assert "started the built-in SIMULATED eatfit24 host" in p.stderr
            if "rollback" in script:
                assert "PLAN: roll back" in p.stdout + p.stderr
                assert "This reverts commit" in subprocess.run(
                    ["git", "-C", str(work / ".runbooks/sandbox/project"), "log", "-1", "--format=%B"],
                    capture_output=True, text=True).stdout
        assert ran >= 3
        assert not Sandbox(work / ".runbooks" / "sandbox").is_up()  # the README's last command stopped it
    finally:
        Sandbox(work / ".runbooks" / "sandbox").down()
