"""The incident rollback end to end: `inv rollback` as a real process, over a real sshd,
against the sandbox (real git repo, docker shim recording every call with its cwd, real
Django DB). Every assertion reads the host's real state, not our own report."""

from __future__ import annotations

import json

from runbooks.packs.eatfit24.rollback import lock
from tests.helpers import ROOT
from tests.rollback.conftest import FEATURE, Host, django, doc, mutating, statuses


def _compose(calls: list[dict], verb: str) -> list[dict]:
    return [c for c in calls if c["argv"][1:3] == ["compose", verb]]


def test_full_rollback_reverts_stops_rebuilds_and_verifies(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    before = host.head()
    p = host.run("--commit", sha[:10], "--yes", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    d = doc(p)
    assert d["verdict"] == "ok"
    # git: HEAD is a new commit on top of the old HEAD that reverts the full SHA
    head = host.head()
    assert head != before and host.git("rev-parse", "HEAD^") == before
    assert f"This reverts commit {sha}." in host.git("log", "-1", "--format=%B")
    assert host.git("status", "--porcelain", "--untracked-files=no") == ""
    # docker: the worker service was stopped, then backend + worker rebuilt, both in the project dir
    calls = host.calls()
    stops, ups = _compose(calls, "stop"), _compose(calls, "up")
    assert [c["argv"] for c in stops] == [["docker", "compose", "stop", "celery-worker"]]
    assert [c["argv"] for c in ups] == [["docker", "compose", "up", "-d", "--build", "--force-recreate",
                                        "backend", "celery-worker"]]
    assert stops[0]["cwd"] == ups[0]["cwd"] == str(host.repo)
    assert calls.index(stops[0]) < calls.index(ups[0])
    assert not [c for c in calls if "pkill" in " ".join(c["argv"])]  # compose stop, not the checklist's pkill
    # the worker's real state was read after the stop, and it is running again after the rebuild
    assert any(c["argv"][1] == "inspect" and c["argv"][-1] == host.target["containers"]["worker"]
               and calls.index(c) > calls.index(stops[0]) for c in calls)
    assert host.container(host.target["containers"]["worker"])["status"] == "running"
    st = statuses(d)
    assert st["stop-worker"] == st["git-revert"] == st["rebuild"] == st["verify"] == "ok"
    assert st["gather"] == st["api-check"] == st["evaluate"] == "ok" and st["cleanup"] == "skipped"
    assert st["release-lock"] == "ok" and not host.lock_dir.exists()
    # the record: every confirmation says who answered, HEAD before/after, each command's exit code
    ev = host.events()
    confirms = [e for e in ev if e["type"] == "confirm"]
    assert {e["step"] for e in confirms} == {"stop-worker", "git-revert", "rebuild"}
    assert all(e["by"].startswith("--yes on behalf of") for e in confirms)
    notes = " ".join(e["text"] for e in ev if e["type"] == "note")
    assert f"HEAD before: {before}" in notes and f"HEAD after: {head}" in notes
    assert "PLAN: roll back" in notes and f"revert --no-edit {sha}" in notes
    assert all("exit_code" in e and "duration_s" in e for e in ev if e["type"] == "command_finished")
    with open(d["transcript"], encoding="utf-8") as fh:
        md = fh.read()
    assert f"revert --no-edit {sha}" in md and "--yes on behalf of" in md


def test_dry_run_sends_nothing_that_mutates(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    before, log_before = host.head(), host.git("log", "--format=%H")
    p = host.run("--commit", sha, "--dry-run", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    d = doc(p)
    assert host.head() == before and host.git("log", "--format=%H") == log_before
    assert mutating(host.calls()) == []
    assert not host.lock_dir.exists()
    st = statuses(d)
    assert st["preflight"] == "ok"
    assert all(st[s] == "skipped" for s in ("stop-worker", "git-revert", "rebuild", "verify", "gather", "evaluate"))
    notes = " ".join(e["text"] for e in host.events() if e["type"] == "note")
    assert f"revert --no-edit {sha}" in notes and "compose up -d --build --force-recreate backend celery-worker" in notes
    assert host.container(host.target["containers"]["worker"])["status"] == "running"


def test_rebuild_failure_then_resume_then_rerun_is_idempotent(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    host.sandbox.inject("rebuild_fails")
    p = host.run("--commit", sha[:12], "--yes", "--json")
    assert p.returncode == 2, p.stderr[-3000:]
    d = doc(p)
    st = statuses(d)
    assert st["rebuild"] == "failed" and not {"verify", "gather", "evaluate"} & set(st)  # the P0 checks are not always-steps here
    assert st["host-state"] == "ok" and st["release-lock"] == "ok"
    assert d["resume"] == f"inv -r {ROOT} rollback --commit {sha[:12]} --yes --json --start-at rebuild"
    assert f"To resume: inv -r {ROOT} rollback" in p.stderr
    assert not host.lock_dir.exists()  # released after the failure, so the resume can take it
    reverted = host.head()
    assert f"This reverts commit {sha}." in host.git("log", "-1", "--format=%B")
    notes = " ".join(e["text"] for e in host.events() if e["type"] == "note")
    assert f"HEAD after: {reverted}" in notes  # the host's state after the failure is in the record
    # resume: preflight (read-only checks + lock) runs again, then rebuild onward
    n_stops = len(_compose(host.calls(), "stop"))
    p = host.run("--commit", sha[:12], "--yes", "--json", "--start-at", "rebuild")
    assert p.returncode == 0, p.stderr[-3000:]
    st = statuses(doc(p))
    assert list(st)[:2] == ["preflight", "rebuild"] and st["verify"] == "ok"
    assert "stop-worker" not in st and "git-revert" not in st
    assert len(_compose(host.calls(), "stop")) == n_stops
    assert host.head() == reverted
    assert host.container(host.target["containers"]["worker"])["status"] == "running"
    # the whole rollback again after success: nothing changes in git
    p = host.run("--commit", sha, "--yes", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    assert statuses(doc(p))["git-revert"] == "skipped"
    assert host.head() == reverted


def test_second_rollback_is_refused_naming_the_holder_and_break_lock_takes_over(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    before = host.head()
    host.lock_dir.mkdir()  # as a concurrent run's `mkdir` + owner file would leave it
    holder = lock.owner_record({"lock_token": "other-run", "operator": "alice", "client_host": "laptop-7",
                                "client_pid": 4242, "started_at": "2026-01-15T10:00:00Z", "commit": "abcdef1",
                                "target": "box"})
    (host.lock_dir / "owner").write_text(json.dumps(holder) + "\n")
    p = host.run("--commit", sha, "--yes", "--json")
    assert p.returncode == 3, p.stderr[-3000:]
    d = doc(p)
    assert "alice@laptop-7 pid 4242" in d["message"] and "--break-lock" in d["message"]
    assert statuses(d)["release-lock"] == "skipped"  # never releases someone else's lock
    assert json.loads((host.lock_dir / "owner").read_text())["run_id"] == "other-run"
    assert mutating(host.calls()) == [] and host.head() == before
    # --break-lock asks (answered by --yes here), takes the lock, runs, releases
    p = host.run("--commit", sha, "--yes", "--json", "--break-lock")
    assert p.returncode == 0, p.stderr[-3000:]
    confirms = [e for e in host.events() if e["type"] == "confirm" and e["step"] == "preflight"]
    assert len(confirms) == 1 and "alice@laptop-7" in confirms[0]["prompt"]
    assert not host.lock_dir.exists()


def test_cleanup_fails_only_the_stuck_rows_in_one_transaction(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    ev = host.sandbox.inject("stuck_photo")
    photo, meal = ev["photo_id"], ev["stuck_meal_ids"][0]
    p = host.run("--commit", sha, "--yes", "--json", "--cleanup")
    assert p.returncode == 0, p.stderr[-3000:]
    out = django(host, "from apps.nutrition.models import Meal, MealPhoto; import json; "
                       f"print(json.dumps([MealPhoto.objects.get(id={photo}).status, "
                       f"MealPhoto.objects.get(id={photo}).error_code, Meal.objects.get(id={meal}).status]))")
    assert json.loads(out.strip().splitlines()[-1]) == ["FAILED", "ROLLBACK_CLEANUP", "FAILED"]
    ev = host.events()
    assert any(e["type"] == "confirm" and e["step"] == "cleanup" for e in ev)
    done = [e for e in ev if e["type"] == "step_finished" and e["step"] == "cleanup"][0]
    assert done["status"] == "ok" and "1 photo(s) FAILED" in done["message"]
    notes = " ".join(e["text"] for e in ev if e["type"] == "note" and e["step"] == "cleanup")
    assert f"photos -> FAILED [{photo}]" in notes


def test_reset_to_asks_its_own_typed_confirmation_and_resets(host: Host) -> None:
    sha = host.sha_of(FEATURE)
    parent = host.git("rev-parse", f"{sha}^")
    # a reset target that still contains the commit would not roll it back: refused, read-only
    p = host.run("--commit", sha, "--reset-to", host.head()[:8], "--yes", "--json")
    assert p.returncode == 3 and "would not roll it back" in doc(p)["message"]
    assert mutating(host.calls()) == []
    p = host.run("--commit", sha, "--reset-to", parent[:8], "--yes", "--json")
    assert p.returncode == 0, p.stderr[-3000:]
    assert host.head() == parent
    c = [e for e in host.events() if e["type"] == "confirm" and e["step"] == "git-revert"]
    assert len(c) == 1 and c[0]["prompt"].startswith("HARD RESET") and f"reset --hard {parent}" in c[0]["commands"][0]
    assert statuses(doc(p))["verify"] == "ok"
    # again: HEAD already is the reset target -> skipped
    p = host.run("--commit", sha, "--reset-to", parent[:8], "--yes", "--json")
    assert p.returncode == 0 and statuses(doc(p))["git-revert"] == "skipped"


def test_p0_checks_run_as_the_monitor_after_verify_and_decide_the_verdict(host: Host) -> None:
    """The rollback includes the monitor playbook for its P0 checks: ONE gather batch after
    verify, on the logs and rows since the rollback started; a stuck photo left behind (no
    --cleanup) is a P0 alert, so the verdict is p0 (exit 2), not ok; nothing is stored
    as a baseline."""
    sha = host.sha_of(FEATURE)
    stuck = host.sandbox.inject("stuck_photo")
    p = host.run("--commit", sha, "--yes", "--json")
    d = doc(p)
    assert (d["verdict"], d["exit_code"], p.returncode) == ("p0", 2, 2), d["message"]
    alert = [f for f in d["findings"] if f["id"] == "stuck_photos"]
    assert alert and alert[0]["status"] == "alert"
    assert stuck["photo_id"] in [e.get("photo_id") for e in alert[0]["evidence"]]
    names = [s["name"] for s in d["steps"]]
    assert names.index("verify") < names.index("gather") < names.index("api-check") < names.index("evaluate") \
        < names.index("worker-guard")
    ev = host.events()
    started = next(e for e in ev if e["type"] == "run_started")["options"]["vars"]["started_at"]
    scans = [e["command"] for e in ev if e["type"] == "command" and e["step"] == "gather"]
    assert len(scans) == 3 and sum(f"--since {started}" in c for c in scans) == 2, scans  # 2 log scans + 1 shell
    assert not [e for e in ev if e["type"] == "command" and e["step"] in ("api-check", "evaluate")]
    done = next(e for e in ev if e["type"] == "step_finished" and e["step"] == "evaluate")
    assert "history:" not in done["message"]  # not recorded as a baseline
