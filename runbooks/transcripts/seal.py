"""The seal: binds a finished run's files to its event chain, and optionally signs them.

Written once, after transcript.md is rendered (the last thing a run writes):

    manifest.json      {"format": "runbooks-seal/1", "events": N, "last_hash": "<sha256 of the last line>",
                        "files": {"events.jsonl": "<sha256>", "transcript.md": "<sha256>",
                                  "transcript.cast": "<sha256>"}}   (+ report.md: `inv report`
                                  seals its run again once the report is written)
    manifest.json.sig  an SSH signature of manifest.json's exact bytes (`ssh-keygen -Y sign
                       -n runbooks-transcript`, the mechanism git uses for signed commits),
                       when a signing key is configured (`signing_key:` in runbooks.yaml, or
                       $RUNBOOKS_SIGNING_KEY; a public key file works when ssh-agent holds the
                       private key)

What it proves: without a signature, only that nothing changed BY ACCIDENT (a bit flip,
a partial copy, an editor touching transcript.md): anyone able to write the folder can
recompute every hash. With a signature checked against an allowed-signers file
(`inv transcripts.verify --allowed-signers FILE`), that the record is the one the holder
of that key sealed: a rewrite without the key is detected.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runbooks.record.transcript import GENESIS, private_open

FORMAT = "runbooks-seal/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
NAMESPACE = "runbooks-transcript"
SEALED_FILES = ("events.jsonl", "transcript.md", "transcript.cast", "report.md")
SIGNING_ENV = "RUNBOOKS_SIGNING_KEY"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def chain_head(events_path: Path) -> tuple[int, str]:
    """(complete lines, SHA-256 of the last one) of an events.jsonl."""
    lines = events_path.read_bytes().split(b"\n")[:-1]
    return len(lines), (hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS)


def signing_key(configured: str | None = None, environ: dict[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    key = env.get(SIGNING_ENV) or configured
    return str(Path(key).expanduser()) if key else None


@dataclass
class Sealed:
    manifest: Path
    signature: Path | None
    problem: str | None = None  # why the run was not signed although a key was configured


def seal(run_dir: Path, key: str | None = None) -> Sealed:
    """Write manifest.json (and its signature when `key` is given). Raises OSError when the
    manifest cannot be written; a signing failure is reported in `problem`, not raised."""
    run_dir = Path(run_dir)
    events, last = chain_head(run_dir / "events.jsonl")
    files = {name: sha256_file(run_dir / name) for name in SEALED_FILES if (run_dir / name).is_file()}
    doc = {"format": FORMAT, "run": run_dir.name, "events": events, "last_hash": last, "files": files}
    manifest = run_dir / MANIFEST
    tmp = manifest.with_suffix(".json.tmp")
    with private_open(tmp) as fh:  # 0600, like every record file
        fh.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    tmp.replace(manifest)
    if not key:
        return Sealed(manifest, None)
    problem = sign(manifest, key)
    return Sealed(manifest, None if problem else run_dir / SIGNATURE, problem)


def sign(manifest: Path, key: str) -> str | None:
    """`ssh-keygen -Y sign` the manifest; None on success, else a one-line reason."""
    exe = shutil.which("ssh-keygen")
    if exe is None:
        return "ssh-keygen not found (install openssh-client)"
    if not Path(key).is_file():
        return f"signing key {key} does not exist"
    try:
        r = subprocess.run([exe, "-q", "-Y", "sign", "-f", key, "-n", NAMESPACE], input=manifest.read_bytes(),
                           capture_output=True, timeout=30, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"ssh-keygen -Y sign failed: {exc}"
    if r.returncode != 0 or b"BEGIN SSH SIGNATURE" not in r.stdout:
        err = r.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"ssh-keygen -Y sign -f {key} failed: {err[-1] if err else f'exit {r.returncode}'}"
    with private_open(manifest.parent / SIGNATURE) as fh:
        fh.write(r.stdout.decode("ascii", "replace"))
    return None


def seal_run(run_dir: Path, configured_key: str | None, warn: Callable[[str], None]) -> None:
    """For the runner: seal, and say (never raise) when the run could not be sealed or signed."""
    key = signing_key(configured_key)
    try:
        result = seal(run_dir, key)
    except OSError as exc:
        warn(f"transcript not sealed: cannot write {Path(run_dir) / MANIFEST}: {exc.strerror or exc}")
        return
    if result.problem:
        warn(f"transcript NOT signed: {result.problem}")


def _keygen(args: list[str], data: bytes) -> tuple[int, str]:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        return 127, "ssh-keygen not found (install openssh-client)"
    try:
        r = subprocess.run([exe, *args], input=data, capture_output=True, timeout=30, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    text = (r.stdout + r.stderr).decode("utf-8", "replace").strip()
    return r.returncode, text


def check_signature(manifest: Path, sig: Path, allowed_signers: Path | None) -> tuple[bool, str]:
    """(ok, one line). With an allowed-signers file: `ssh-keygen -Y find-principals` then
    `-Y verify` (the key must be allowed for the namespace); without one, only
    `-Y check-novalidate` (the signature matches these bytes, whoever made it)."""
    data = manifest.read_bytes()
    if allowed_signers is None:
        code, text = _keygen(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(sig)], data)
        return code == 0, (text.splitlines() or [""])[-1]
    code, text = _keygen(["-Y", "find-principals", "-s", str(sig), "-f", str(allowed_signers)], b"")
    principals = [ln.strip() for ln in text.splitlines() if ln.strip()] if code == 0 else []
    if not principals:
        return False, f"signed by a key that is not in {allowed_signers}"
    last = ""
    for principal in principals:
        code, text = _keygen(["-Y", "verify", "-f", str(allowed_signers), "-I", principal, "-n", NAMESPACE,
                              "-s", str(sig)], data)
        last = (text.splitlines() or [""])[-1]
        if code == 0:
            return True, last
    return False, last or "signature does not verify"
