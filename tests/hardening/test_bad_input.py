"""Item 7: bad input is one line naming the file (file:line: key) or the flag, exit 3 —
never a traceback, exit 1 or 2 — and `--json` still prints exactly one JSON document."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.hardening.common import inv, local_config, one_json_doc, one_line_error

TARGET = {"transport": "local", "project_dir": "/tmp", "role": "dev", "confirm": "yes",
          "containers": {"backend": "b", "worker": "w"}}


def _config_text(tmp_path: Path, text: str | bytes) -> Path:
    p = tmp_path / "runbooks.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def _target_yaml(extra: str) -> str:
    return ("targets:\n  loc:\n    transport: local\n    project_dir: /tmp\n    containers: {backend: b, worker: w}\n"
            + extra)


def _check(r, json_flag: bool, *expect: str) -> str:  # noqa: ANN001 - CompletedProcess
    assert r.returncode == 3, r.stdout + r.stderr
    line = one_line_error(r.stderr)
    for e in expect:
        assert e in line, line
    if json_flag:
        doc = one_json_doc(r.stdout)
        assert doc["exit_code"] == 3 and doc["verdict"] == "error" and e in doc["message"]
    else:
        assert r.stdout == ""
    return line


CONFIGS = {
    "non_utf8": (b"targets:\n  loc:\n    transport: local\n    description: caf\xe9\n", [":4:", "not UTF-8"]),
    "complex_key": ("targets:\n  ? [a, b]\n  : 1\n", [":2:", "mapping key"]),
    "api_timeout_abc": (_target_yaml("    api:\n      base_url: https://x.example\n      timeout: abc\n"),
                        [":8:", "targets.loc.api.timeout"]),
    "api_timeout_inf": (_target_yaml("    api:\n      base_url: https://x.example\n      timeout: .inf\n"),
                        [":8:", "targets.loc.api.timeout"]),
    "base_url_crlf": (_target_yaml('    api:\n      base_url: "https://x.example/\\r\\nX-Evil: 1"\n'),
                      [":7:", "targets.loc.api.base_url", "CR/LF"]),
    "header_crlf": (_target_yaml('    api:\n      base_url: https://x.example\n      headers: {X-A: "v\\r\\nX-Evil: 1"}\n'),
                    [":8:", "targets.loc.api.headers.X-A"]),
    "monitor_threshold": (_target_yaml("    monitor:\n      thresholds:\n        failed_ratio: 0.1\n        stuck_seconds: abc\n"),
                          [":9:", "targets.loc.monitor.thresholds.stuck_seconds"]),
    "monitor_rule": (_target_yaml("    monitor:\n      rules:\n        - id: my_rule\n          severity: P1\n          when: 'x >'\n"),
                     [":10:", "targets.loc.monitor.rules[0].when"]),
    "monitor_timezone": (_target_yaml("    monitor:\n      app_timezone: Mars/Olympus\n"),
                         [":7:", "targets.loc.monitor.app_timezone"]),
}


@pytest.mark.parametrize("json_flag", [False, True])
@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_bad_config_is_one_line(tmp_path: Path, case: str, json_flag: bool) -> None:
    text, expect = CONFIGS[case]
    cfg = _config_text(tmp_path, text)
    r = inv(tmp_path, ["doctor", "--target", "loc", *(["--json"] if json_flag else [])], cfg)
    _check(r, json_flag, str(cfg), *expect)


def test_monitor_config_error_is_found_before_connecting(tmp_path: Path) -> None:
    """An unreachable SSH target: the monitor settings error wins over 'cannot reach'."""
    cfg = _config_text(tmp_path, "targets:\n  prod:\n    host: 127.0.0.1\n    port: 1\n    project_dir: /srv\n"
                                 "    containers: {backend: b, worker: w}\n    monitor:\n      severity: {no_such_rule: P1}\n")
    r = inv(tmp_path, ["monitor.p0", "--target", "prod", "--json"], cfg)
    line = _check(r, True, f"{cfg}:8:", "targets.prod.monitor.severity.no_such_rule")
    assert "cannot reach" not in line
    assert not (tmp_path / "transcripts").exists() or not any((tmp_path / "transcripts").iterdir())


PLAYBOOKS: dict[str, tuple[str | bytes, list[str]]] = {
    "non_utf8": (b"name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: \"echo \xff\"}\n", [":5:", "not UTF-8"]),
    "complex_key": ("name: x\nsteps:\n  - name: a\n    kind: shell\n    ? {a: 1}\n    : 2\n", [":5:", "mapping key"]),
    "timeout_inf": ("name: x\nsteps:\n  - name: a\n    kind: shell\n    timeout: .inf\n    params: {command: echo}\n",
                    [":5:", "steps.a.timeout"]),
    "timeout_nan": ("name: x\nsteps:\n  - name: a\n    kind: shell\n    timeout: .nan\n    params: {command: echo}\n",
                    [":5:", "steps.a.timeout"]),
    "vars_5": ("name: x\nvars: 5\nsteps:\n  - name: a\n    kind: shell\n    params: {command: echo}\n", [":2:", "vars"]),
    "step_vars_5": ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: echo, vars: 5}\n",
                    [":5:", "steps.a.params.vars"]),
    "jinja_syntax": ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: 'echo {{ x '}\n",
                     [":5:", "steps.a.params.command", "Jinja syntax error"]),
    "jinja_block": ("name: x\nsteps:\n  - name: a\n    kind: shell\n    params: {command: 'echo {% if x %}y'}\n",
                    [":5:", "steps.a.params.command"]),
    "when_syntax": ("name: x\nsteps:\n  - name: a\n    kind: shell\n    when: 'x >'\n    params: {command: echo}\n",
                    [":5:", "steps.a.when"]),
}


@pytest.mark.parametrize("json_flag", [False, True])
@pytest.mark.parametrize("case", sorted(PLAYBOOKS))
def test_bad_playbook_is_one_line_and_nothing_runs(tmp_path: Path, case: str, json_flag: bool) -> None:
    text, expect = PLAYBOOKS[case]
    pb = tmp_path / "pb.yml"
    pb.write_bytes(text if isinstance(text, bytes) else text.encode())
    cfg = local_config(tmp_path)
    r = inv(tmp_path, ["play", "--playbook", str(pb), *(["--json"] if json_flag else [])], cfg)
    _check(r, json_flag, str(pb), *expect)
    assert not (tmp_path / "transcripts").exists()  # refused before any run started


@pytest.mark.parametrize("args,flag", [
    (["monitor.watch", "--tail", "abc"], "--tail"),
    (["monitor.watch", "--tail", "-3"], "--tail"),
    (["monitor.watch", "--duration", "abc"], "--duration"),
    (["monitor.watch", "--duration", "inf"], "--duration"),
    (["monitor.p0", "--tail", "abc"], "--tail"),
    (["monitor.p0", "--since", "abc"], "--since"),
    (["monitor.p0", "--every", "abc"], "--every"),
    (["play", "--playbook", "doctor", "--var", "1x=2"], "--var"),
])
def test_bad_flags_are_one_line(tmp_path: Path, args: list[str], flag: str) -> None:
    cfg = local_config(tmp_path)
    r = inv(tmp_path, args, cfg)
    _check(r, False, flag)
    if args[0] != "monitor.watch":
        _check(inv(tmp_path, [*args, "--json"], cfg), True, flag)


MALFORMED = {
    "not_an_object": b"5\n",
    "ts_not_a_time": b'{"seq": 2, "ts": 5, "type": "note"}\n',
    "not_json": b"{bad json\n",
    "not_utf8": b"\xff\xfe\n",
    "seq_not_int": b'{"seq": "x", "ts": "2026-11-30T00:00:01Z", "type": "note"}\n',
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_event_in_timeline_is_one_line(tmp_path: Path, case: str) -> None:
    run = tmp_path / "tr" / "20261130T000000Z-monitor.p0-prod"
    run.mkdir(parents=True)
    first = b'{"seq": 1, "ts": "2026-11-30T00:00:00Z", "type": "run_started", "target": "prod"}\n'
    last = b'{"seq": 3, "ts": "2026-11-30T00:00:02Z", "type": "run_finished", "verdict": "ok", "exit_code": 0}\n'
    (run / "events.jsonl").write_bytes(first + MALFORMED[case] + last)
    r = inv(tmp_path, ["transcripts.timeline", "--transcript-dir", str(tmp_path / "tr")], None)
    _check(r, False, f"{run / 'events.jsonl'}:2:", "malformed event")


def test_timeline_still_reads_a_run_cut_mid_write(tmp_path: Path) -> None:
    """The healthy look-alike: a crash leaves a partial LAST line; that is not malformed."""
    run = tmp_path / "tr" / "20261130T000000Z-monitor.p0-prod"
    run.mkdir(parents=True)
    (run / "events.jsonl").write_bytes(b'{"seq": 1, "ts": "2026-11-30T00:00:00Z", "type": "run_started", '
                                       b'"target": "prod", "playbook": "monitor.p0"}\n{"seq": 2, "ts": "2026-')
    r = inv(tmp_path, ["transcripts.timeline", "--transcript-dir", str(tmp_path / "tr")], None)
    assert r.returncode == 0, r.stderr
    assert "run record ends here without run_finished" in r.stdout


def test_verify_without_a_run_prints_one_json_document(tmp_path: Path) -> None:
    r = inv(tmp_path, ["transcripts.verify", str(tmp_path / "nothing"), "--json"], None)
    _check(r, True, "no run folder")


def test_valid_config_and_playbook_still_run(tmp_path: Path) -> None:
    """The healthy look-alike of every case above."""
    cfg = _config_text(tmp_path, yaml.safe_dump({"targets": {"loc": {
        **TARGET, "project_dir": str(tmp_path), "api": {"base_url": "https://x.example", "timeout": 2.5,
                                                        "headers": {"X-A": "v 1"}},
        "monitor": {"thresholds": {"stuck_seconds": 90}, "app_timezone": "Europe/Moscow",
                    "rules": [{"id": "my_rule", "severity": "P2", "when": "x > 1"}]}}}}))
    pb = tmp_path / "pb.yml"
    pb.write_text("name: x\nvars: {greeting: hi}\nsteps:\n  - name: a\n    kind: shell\n    timeout: 30\n"
                  "    when: 'greeting == \"hi\"'\n    params: {command: 'echo {{ greeting }} {% if x is defined %}x{% endif %}',"
                  " vars: {y: 1}}\n")
    r = inv(tmp_path, ["play", "--playbook", str(pb), "--target", "loc", "--json"], cfg)
    assert r.returncode == 0, r.stderr
    assert one_json_doc(r.stdout)["verdict"] == "ok"
