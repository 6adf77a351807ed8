"""Running playbooks over a real sshd on 127.0.0.1, as `inv play` and in process."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import yaml

from runbooks.config import parse_target
from runbooks.engine.options import RunOptions
from runbooks.engine.run import run_playbook
from runbooks.lang.model import Playbook
from runbooks.lang.parse import parse_playbook
from runbooks.model import RunResult
from runbooks.record.console import Out
from runbooks.record.redact import Redactor
from runbooks.sshd import SshServer
from tests.helpers import ROOT, inv_env, run_inv, write_config

EXAMPLES = ROOT / "playbooks" / "examples"


def target_entry(srv: SshServer, tmp_path: Path, **host_vars: Any) -> dict[str, Any]:
    """A generic target: no project_dir, no containers (these playbooks use neither)."""
    return srv.target(confirm="yes", **host_vars)


def play(srv: SshServer, tmp_path: Path, playbook: Path | str, *args: str, targets: dict[str, Any] | None = None,
         timeout: float = 120) -> tuple[int, dict[str, Any], str]:
    """`inv play PLAYBOOK --json ARGS` against the sshd: (exit code, the JSON document, stderr)."""
    cfg = write_config(tmp_path / "runbooks.yaml", targets or {"box": target_entry(srv, tmp_path)})
    env = inv_env(cfg, tmp_path / "transcripts")
    argv = ["play", str(playbook), "--json", *args]
    if not any(a.startswith("--target") for a in args):
        argv += ["--target", "box"]
    r = run_inv(argv, env, tmp_path, timeout=timeout)
    doc = json.loads(r.stdout) if r.stdout.strip() else {}
    return r.returncode, doc, r.stderr


def run_in_process(srv: SshServer, tmp_path: Path, doc: Playbook | dict[str, Any] | str, *,
                   secrets: tuple[str, ...] = (), verbose: bool = False, **opts: Any) -> tuple[RunResult, str]:
    """Run a playbook (parsed, a dict or YAML text) in process: (result, what the console showed).
    `secrets`: masked as configured secrets are; `verbose`: as with -v."""
    target = parse_target("box", target_entry(srv, tmp_path), "test")
    pb = doc if isinstance(doc, Playbook) else parse_playbook(yaml.safe_load(doc) if isinstance(doc, str) else doc,
                                                              "test.yml")
    stream = io.StringIO()
    opts.setdefault("interactive", False)
    res = run_playbook(pb, target, RunOptions(task=pb.name, transcript_dir=tmp_path / "tr", **opts),
                       Out(json_mode=False, stream=stream, verbose=verbose), Redactor(secrets))
    return res, stream.getvalue()


def finding_ids(doc: dict[str, Any], status: str = "alert") -> dict[str, str]:
    return {f["id"]: f["severity"] for f in doc.get("checks", doc.get("findings", [])) if f["status"] == status}
