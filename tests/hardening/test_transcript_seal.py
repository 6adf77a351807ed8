"""Item 8: records that hold up in a postmortem. transcripts.verify said INTACT after
transcript.md was edited or deleted, after a forged run_finished was appended, and after
the whole (unkeyed) chain was recomputed. Now manifest.json binds the files to the chain
and `ssh-keygen -Y sign` (real ssh-keygen, throwaway keys) says who sealed the run."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from runbooks.transcripts.seal import MANIFEST, SIGNATURE, seal
from runbooks.transcripts.verify import verify_run
from tests.hardening.common import inv, local_config, one_json_doc
from tests.helpers import write_playbook


def _keygen(path: Path, comment: str) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


def _allowed(tmp_path: Path, principal: str, key: Path) -> Path:
    kind, blob = key.with_suffix(".pub").read_text().split()[:2]
    f = tmp_path / "allowed_signers"
    f.write_text(f'{principal} namespaces="runbooks-transcript" {kind} {blob}\n')
    return f


def _run(tmp_path: Path, signing_key: Path | None = None) -> Path:
    """One real run on a local target; returns its run folder."""
    cfg = local_config(tmp_path)
    if signing_key is not None:
        cfg.write_text(cfg.read_text() + f"signing_key: {signing_key.with_suffix('.pub')}\n")
    pb = write_playbook(tmp_path / "pb.yml", "deploy-check", [
        {"name": "probe", "kind": "shell", "params": {"command": "echo probe ok"}},
        {"name": "listing", "kind": "shell", "params": {"command": "echo listing; echo warn >&2"}},
    ])
    r = inv(tmp_path, ["play", "--playbook", str(pb)], cfg)
    assert r.returncode == 0, r.stderr
    (d,) = [p for p in (tmp_path / "transcripts").iterdir() if p.is_dir()]
    return d


def _lines(d: Path) -> list[bytes]:
    return (d / "events.jsonl").read_bytes().split(b"\n")[:-1]


def _rechain(d: Path, events: list[dict]) -> None:
    """What an attacker with write access does: re-link every event, fix the Markdown's
    Integrity line, recompute the seal (manifest.json) — everything without a key."""
    prev = "0" * 64
    lines = []
    for ev in events:
        ev["prev"] = prev
        raw = json.dumps(ev, ensure_ascii=False).encode()
        prev = hashlib.sha256(raw).hexdigest()
        lines.append(raw)
    (d / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    md = d / "transcript.md"
    if md.exists():
        md.write_text(re.sub(r"holds \d+ events; SHA-256 of its last line: `[0-9a-f]{64}`",
                             f"holds {len(lines)} events; SHA-256 of its last line: `{prev}`", md.read_text()))


def _verify(tmp_path: Path, d: Path, *extra: str) -> tuple[int, dict]:
    r = inv(tmp_path, ["transcripts.verify", str(d), "--json", *extra], None)
    return r.returncode, one_json_doc(r.stdout)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return _run(tmp_path)


def test_unsigned_run_is_intact_and_says_what_that_proves(tmp_path: Path, run_dir: Path) -> None:
    assert (run_dir / MANIFEST).is_file() and not (run_dir / SIGNATURE).exists()
    v = verify_run(run_dir)
    assert v.status == "intact", v.message
    r = inv(tmp_path, ["transcripts.verify", str(run_dir)], None)
    assert r.returncode == 0
    assert "INTACT (unsigned: proves no accidental damage, not authorship)" in r.stdout


def test_edited_markdown_is_modified(tmp_path: Path, run_dir: Path) -> None:
    md = run_dir / "transcript.md"
    md.write_text(md.read_text().replace("probe ok", "probe OK, all fine"))
    code, doc = _verify(tmp_path, run_dir)
    assert code == 2 and doc["verdict"] == "modified"
    assert "transcript.md was changed" in doc["runs"][0]["message"]


def test_deleted_markdown_is_modified(tmp_path: Path, run_dir: Path) -> None:
    (run_dir / "transcript.md").unlink()
    code, doc = _verify(tmp_path, run_dir)
    assert code == 2 and "transcript.md was deleted" in doc["runs"][0]["message"]


def test_edited_cast_is_modified(tmp_path: Path, run_dir: Path) -> None:
    cast = run_dir / "transcript.cast"
    cast.write_text(cast.read_text().replace("listing", "lasting"))
    code, doc = _verify(tmp_path, run_dir)
    assert code == 2 and "transcript.cast was changed" in doc["runs"][0]["message"]


def test_forged_run_finished_appended_is_modified(tmp_path: Path, run_dir: Path) -> None:
    """A forged ending linked correctly to the chain, the Markdown's chain line updated."""
    events = [json.loads(x) for x in _lines(run_dir)]
    real_end = events[-1]
    forged = {**real_end, "seq": real_end["seq"] + 1, "verdict": "ok", "exit_code": 0, "message": "all good"}
    _rechain(run_dir, [*events, forged])
    code, doc = _verify(tmp_path, run_dir)
    assert code == 2 and "does not match its seal" in doc["runs"][0]["message"]


def test_forged_ending_of_a_killed_run_is_not_intact(tmp_path: Path, run_dir: Path) -> None:
    """A run killed mid-way has no Markdown and no seal; someone appends a run_finished."""
    events = [json.loads(x) for x in _lines(run_dir)][:4]
    for f in ("transcript.md", MANIFEST, "transcript.cast"):
        (run_dir / f).unlink()
    events.append({"seq": 5, "ts": events[-1]["ts"], "type": "run_finished", "verdict": "ok", "exit_code": 0,
                   "message": "", "metrics": {}, "steps": []})
    _rechain(run_dir, events)
    code, doc = _verify(tmp_path, run_dir)
    assert code != 0 and doc["verdict"] == "unsealed"


def test_recomputed_chain_is_detected_by_the_signature(tmp_path: Path) -> None:
    alice = _keygen(tmp_path / "alice", "alice@ops")
    allowed = _allowed(tmp_path, "alice@ops", alice)
    d = _run(tmp_path, signing_key=alice)
    assert (d / SIGNATURE).read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    code, doc = _verify(tmp_path, d, "--allowed-signers", str(allowed))
    assert code == 0, doc
    assert doc["runs"][0]["signature"] == "verified" and doc["runs"][0]["signer"].startswith("alice@ops")
    human = inv(tmp_path, ["transcripts.verify", str(d), "--allowed-signers", str(allowed)], None)
    assert "INTACT (signed by alice@ops" in human.stdout

    # The attacker rewrites what a command printed, re-links the whole chain, fixes the
    # Markdown and recomputes the seal: every unkeyed check passes.
    events = [json.loads(x) for x in _lines(d)]
    for ev in events:
        if ev["type"] == "command_finished" and "listing" in ev.get("stdout", ""):
            ev["stdout"] = ev["stdout"].replace("listing", "nothing to see")
    _rechain(d, events)
    seal(d)  # manifest recomputed without the key; the old signature is left in place
    assert verify_run(d).status == "modified"  # the old signature no longer matches
    code, doc = _verify(tmp_path, d, "--allowed-signers", str(allowed))
    assert code == 2 and "signature does not verify" in doc["runs"][0]["message"]

    (d / SIGNATURE).unlink()  # ... so the attacker removes it
    code, doc = _verify(tmp_path, d, "--allowed-signers", str(allowed))
    assert code == 2 and doc["verdict"] == "unsigned"
    unsigned = inv(tmp_path, ["transcripts.verify", str(d)], None)
    assert "INTACT (unsigned: proves no accidental damage, not authorship)" in unsigned.stdout  # the honest limit

    mallory = _keygen(tmp_path / "mallory", "mallory@evil")
    seal(d, str(mallory))  # ... or signs it with their own key
    assert (d / SIGNATURE).is_file()
    code, doc = _verify(tmp_path, d, "--allowed-signers", str(allowed))
    assert code == 2 and "not in" in doc["runs"][0]["message"]


def test_a_signing_failure_is_said_and_the_run_keeps_its_verdict(tmp_path: Path) -> None:
    cfg = local_config(tmp_path)
    cfg.write_text(cfg.read_text() + f"signing_key: {tmp_path / 'no-such-key'}\n")
    pb = write_playbook(tmp_path / "pb.yml", "x", [{"name": "a", "kind": "shell", "params": {"command": "echo a"}}])
    r = inv(tmp_path, ["play", "--playbook", str(pb), "--json"], cfg)
    assert r.returncode == 0 and one_json_doc(r.stdout)["verdict"] == "ok"
    assert "transcript NOT signed" in r.stderr and "no-such-key" in r.stderr


def test_signing_key_from_the_environment(tmp_path: Path) -> None:
    key = _keygen(tmp_path / "k", "ops@env")
    cfg = local_config(tmp_path)
    pb = write_playbook(tmp_path / "pb.yml", "x", [{"name": "a", "kind": "shell", "params": {"command": "echo a"}}])
    r = inv(tmp_path, ["play", "--playbook", str(pb)], cfg, RUNBOOKS_SIGNING_KEY=str(key))
    assert r.returncode == 0, r.stderr
    (d,) = [p for p in (tmp_path / "transcripts").iterdir() if p.is_dir()]
    code, doc = _verify(tmp_path, d, "--allowed-signers", str(_allowed(tmp_path, "ops@env", key)))
    assert code == 0 and doc["runs"][0]["signer"].startswith("ops@env")


def test_missing_allowed_signers_file_is_one_line(tmp_path: Path, run_dir: Path) -> None:
    r = inv(tmp_path, ["transcripts.verify", str(run_dir), "--allowed-signers", str(tmp_path / "nope"), "--json"], None)
    assert r.returncode == 3 and "--allowed-signers" in r.stderr and one_json_doc(r.stdout)["exit_code"] == 3


def test_report_md_is_covered_by_the_seal(tmp_path: Path, sandbox) -> None:  # noqa: ANN001 - fixture
    import yaml

    cfg = tmp_path / "runbooks.yaml"
    cfg.write_text(yaml.safe_dump({"targets": {"sb": sandbox.target()}}))
    r = inv(tmp_path, ["report", "--target", "sb"], cfg)
    assert r.returncode in (0, 1, 2), r.stdout + r.stderr
    (d,) = [p for p in (tmp_path / "transcripts").iterdir() if p.is_dir()]
    assert "report.md" in json.loads((d / MANIFEST).read_text())["files"]
    assert verify_run(d).status == "intact"
    report = d / "report.md"
    report.write_text(report.read_text() + "\nAll criteria PASS.\n")
    v = verify_run(d)
    assert v.status == "modified" and "report.md was changed" in v.message
