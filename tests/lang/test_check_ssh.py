"""A breached `check` over a real sshd: the finding's id and severity, the verdict and exit
code (1 for P1/P2, 2 for P0), and the run goes on to its last step."""

from __future__ import annotations

from pathlib import Path

from runbooks.sshd import SshServer
from tests.lang.common import run_in_process

PLAYBOOK = """
name: check-run
vars: {limit: 50}
steps:
  - {name: measure, kind: shell, params: {command: "echo 'usage 73%'"}}
  - name: usage
    kind: check
    params:
      id: usage_high
      severity: SEV
      title: "usage {{ value }}% over {{ threshold }}%"
      value: "steps.measure.stdout | regex('([0-9]+)%') | number"
      threshold: "limit | number"
      evidence: {line: "steps.measure.stdout | trim"}
      action: "clean up"
  - {name: after, kind: shell, params: {command: "echo still-ran > OUTFILE"}}
"""


def _run(sshd: SshServer, tmp_path: Path, sev: str, limit: int) -> tuple[object, Path]:
    out = tmp_path / "after.txt"
    res, _ = run_in_process(sshd, tmp_path, PLAYBOOK.replace("SEV", sev).replace("OUTFILE", str(out)), vars={"limit": str(limit)})
    return res, out


def test_p1_breach_is_warn_exit_1_and_the_run_goes_on(tmp_path: Path, sshd: SshServer) -> None:
    res, out = _run(sshd, tmp_path, "P1", 50)
    assert (res.verdict, res.exit_code) == ("warn", 1), res.message
    f = next(f for f in res.findings if f.id == "usage_high")
    assert (f.severity, f.status, f.value, f.title, f.action) == ("P1", "alert", 73, "usage 73% over 50%", "clean up")
    assert f.evidence == [{"line": "usage 73%"}] and f.threshold == "> 50"
    assert out.read_text().strip() == "still-ran"  # the step after the breach ran, on the host
    assert [s.status for s in res.steps] == ["ok", "ok", "ok"]
    assert "usage_high" in res.message


def test_p0_breach_is_exit_2(tmp_path: Path, sshd: SshServer) -> None:
    res, out = _run(sshd, tmp_path, "P0", 50)
    assert (res.verdict, res.exit_code) == ("p0", 2)
    assert out.exists()


def test_below_threshold_is_ok_exit_0(tmp_path: Path, sshd: SshServer) -> None:
    res, out = _run(sshd, tmp_path, "P0", 80)
    assert (res.verdict, res.exit_code) == ("ok", 0), res.message
    assert [f.status for f in res.findings] == ["ok"]


def test_a_check_over_a_failed_source_is_unknown_not_ok(tmp_path: Path, sshd: SshServer) -> None:
    doc = PLAYBOOK.replace("SEV", "P1").replace("OUTFILE", str(tmp_path / "after.txt")).replace("echo 'usage 73%'", "echo 'no number here'")
    res, _ = run_in_process(sshd, tmp_path, doc)
    assert (res.verdict, res.exit_code) == ("unknown", 3)
    assert res.findings[0].status == "error" and "number: not a number" in res.findings[0].reason
    assert (tmp_path / "after.txt").exists()
