"""`logs.scan` over a real sshd: a sandbox container's docker log and a file, filtered on
the host by the awks real hosts have (mawk, busybox awk); counts exact, lines capped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runbooks.errors import PlaybookError
from runbooks.sandbox import Sandbox
from tests.blocks.helpers import append_log, run_steps, sandbox_over_ssh
from tests.fixtures.awks import awk_dir
from tests.helpers import events

MARKERS = {"oom": "RBT OOMKilled pid=[0-9]+", "slow": "RBT slow request /api/", "never": "RBT never logged"}


def _scan(**params: Any) -> dict[str, Any]:
    return {"name": "scan", "kind": "logs.scan", "params": params}


@pytest.mark.parametrize("awk", ["mawk", "busybox"])
def test_container_markers_counted_on_the_hosts_awk(sandbox_state: Sandbox, tmp_path: Path, awk: str) -> None:
    worker = sandbox_state.config.worker_container
    append_log(sandbox_state, worker, ["RBT OOMKilled pid=12", "noise", "RBT slow request /api/v1/meals/",
                                       "RBT OOMKilled pid=13", "RBT OOMKilled pid=x (no digits: not a match)"])
    with sandbox_over_ssh(sandbox_state, tmp_path, awk_dir(awk, tmp_path)) as target:
        res = run_steps(target, [_scan(role="worker", since="1h", markers=MARKERS)], tmp_path)
    assert res.exit_code == 0, res.message
    facts = res.facts["scan"]
    assert facts["counts"] == {"oom": 2, "slow": 1, "never": 0}
    assert [ln.split(" ", 1)[1] for ln in facts["lines"]["oom"]] == ["RBT OOMKilled pid=12", "RBT OOMKilled pid=13"]
    assert facts["lines"]["never"] == [] and facts["lines_read"] >= 5
    ev = events(Path(res.transcript).parent)
    assert sum(1 for e in ev if e["type"] == "command") == 1  # one remote command


def test_cap_keeps_lines_on_the_host_but_counts_stay_exact(sandbox_state: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("".join(f"GET /health 200 req={i}\n" for i in range(50)) + "RUNBOOKS_EXIT 7\n")
    with sandbox_over_ssh(sandbox_state, tmp_path, awk_dir("busybox", tmp_path)) as target:
        res = run_steps(target, [_scan(file=str(log), markers={"health": "GET /health 200"}, max_lines=3)], tmp_path)
    assert res.exit_code == 0, res.message
    facts = res.facts["scan"]
    assert facts["counts"] == {"health": 50} and len(facts["lines"]["health"]) == 3
    assert facts["dropped"] == 47 and facts["truncated"] is True
    assert facts["lines_read"] == 51  # the file's own RUNBOOKS_EXIT line is a log line, not our exit status
    assert "47 line(s) past max_lines=3" in res.steps[0].message


def test_context_lines_pass_around_an_exception(sandbox_state: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a\nb\nbefore\nTraceback (most recent call last):\nafter\nc\nd\nMARK one\n")
    with sandbox_over_ssh(sandbox_state, tmp_path, awk_dir("mawk", tmp_path)) as target:
        res = run_steps(target, [_scan(file=str(log), markers={"mark": "^MARK "}, context="^Traceback",
                                       context_lines=1)], tmp_path)
    facts = res.facts["scan"]
    assert [(c["nr"], c["tag"], c["line"]) for c in facts["context"]] == [
        (3, "C", "before"), (4, "E", "Traceback (most recent call last):"), (5, "C", "after")]
    assert facts["counts"] == {"mark": 1}


def test_a_quiet_log_is_zero_counts_not_an_error(sandbox_state: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "quiet.log"
    log.write_text("")
    with sandbox_over_ssh(sandbox_state, tmp_path, awk_dir("mawk", tmp_path)) as target:
        res = run_steps(target, [_scan(file=str(log), markers=MARKERS),
                                 _scan(role="backend", since="1m", markers={"never": "RBT never logged"}) | {"name": "b"}],
                        tmp_path)
    assert res.exit_code == 0, res.message
    assert res.facts["scan"]["counts"] == {"oom": 0, "slow": 0, "never": 0}
    assert res.facts["b"]["counts"] == {"never": 0}
    assert [s.status for s in res.steps] == ["ok", "ok"]


def test_an_unreadable_source_fails_with_what_the_host_said(sandbox_state: Sandbox, tmp_path: Path) -> None:
    with sandbox_over_ssh(sandbox_state, tmp_path) as target:
        res = run_steps(target, [_scan(container="no-such-container", markers=MARKERS)], tmp_path)
        missing = run_steps(target, [_scan(file=str(tmp_path / "nope.log"), markers=MARKERS)], tmp_path)
    assert res.exit_code == 2 and res.steps[0].status == "failed"
    assert "No such container" in res.steps[0].message and "exit 1" in res.steps[0].message
    assert missing.steps[0].status == "failed" and f"cannot read {tmp_path / 'nope.log'}" in missing.steps[0].message


@pytest.mark.parametrize(("params", "error"), [
    ({"role": "worker", "markers": {"x": r"pid=\d+"}}, r"markers.x: .*\[0-9\]"),
    ({"role": "worker", "markers": {"x": "a\nb"}}, "markers.x: must be one line"),
    ({"role": "worker", "markers": {"x": "(unclosed"}}, "markers.x: .*not a valid regular expression"),
    ({"file": "relative.log", "markers": {"x": "y"}}, "file: must be an absolute path"),
    ({"file": "/var/log/x", "since": "1h", "markers": {"x": "y"}}, "since: containers only"),
    ({"role": "worker", "since": "1700000000", "markers": {"x": "y"}}, "since: .*a duration"),
    ({"role": "worker"}, "markers: required"),
    ({"role": "worker", "container": "c", "markers": {"x": "y"}}, "role: give exactly one of"),
])
def test_bad_params_are_refused_before_anything_runs(params: dict[str, Any], error: str) -> None:
    from runbooks.lang.parse import parse_playbook

    with pytest.raises(PlaybookError, match=r"steps\.scan\.params\." + error):
        parse_playbook({"name": "p", "steps": [_scan(**params)]}, "p.yml")


def test_a_slash_in_a_marker_is_a_literal_slash(sandbox_state: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("POST /api/v1/x 500\nPOST /api/v1/x 200\n")
    with sandbox_over_ssh(sandbox_state, tmp_path, awk_dir("busybox", tmp_path)) as target:
        res = run_steps(target, [_scan(file=str(log), markers={"e500": "/api/v1/x 5[0-9][0-9]$"})], tmp_path)
    assert res.facts["scan"]["counts"] == {"e500": 1}, res.message
