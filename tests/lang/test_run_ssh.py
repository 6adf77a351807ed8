"""Each language feature over a real sshd on 127.0.0.1: step outputs in templates and
`when:`, output on the console, loop, until, include, vars files, templated descriptions."""

from __future__ import annotations

from pathlib import Path

from runbooks.sshd import SshServer
from tests.helpers import events
from tests.lang.common import run_in_process


def test_outputs_reach_later_templates_and_when(tmp_path: Path, sshd: SshServer) -> None:
    out = tmp_path / "out.txt"
    res, console = run_in_process(sshd, tmp_path, f"""
name: outputs
steps:
  - name: info
    kind: shell
    register: info_out
    params: {{command: "echo '{{\\"n\\": 3, \\"name\\": \\"x y; rm -rf /\\"}}'", parse: json}}
  - name: use
    kind: shell
    description: "n is {{{{ steps.info.parsed.n }}}}"
    when: "steps.info.exit_code == 0 and steps.info.parsed.n == 3"
    params: {{command: "echo {{{{ info_out.parsed.name }}}} {{{{ steps.info.stdout | from_json | json_path('n') }}}} > {out}"}}
  - name: never
    kind: shell
    when: "steps.use.status != 'ok'"
    params: {{command: "touch {tmp_path}/never"}}
  - name: after-skip
    kind: shell
    when: "steps.never.status == 'skipped' and steps.never.exit_code is none"
    params: {{command: "echo skipped-seen >> {out}"}}
""")
    assert res.exit_code == 0, res.message
    assert out.read_text().splitlines() == ["x y; rm -rf / 3", "skipped-seen"]  # quoted: the rm never ran
    assert not (tmp_path / "never").exists()
    assert "n is 3" in console  # templated description


def test_shell_output_is_shown_on_the_console(tmp_path: Path, sshd: SshServer) -> None:
    res, console = run_in_process(sshd, tmp_path, """
name: show
steps:
  - {name: df, kind: shell, params: {command: "printf 'line-%s\\\\n' 1 2 3 4 5 6 7 8 9 10 11 12"}}
""")
    assert res.exit_code == 0
    assert "| line-12" in console and "| line-5" in console
    assert "| line-1\\n" not in console and "more line(s) in the transcript" in console


def test_loop_runs_once_per_item_on_the_host(tmp_path: Path, sshd: SshServer) -> None:
    d = tmp_path / "loop"
    d.mkdir()
    res, _ = run_in_process(sshd, tmp_path, f"""
name: loop
vars: {{names: [alpha, "b c"]}}
steps:
  - {{name: each, kind: shell, loop: names, loop_var: n, params: {{command: "echo {{{{ n }}}} > {d}/{{{{ n }}}}; echo {{{{ n }}}}"}}}}
  - {{name: count, kind: shell, params: {{command: "echo {{{{ steps.each.results | length }}}} {{{{ steps.each.results[1].stdout | trim }}}} > {d}/count"}}}}
""")
    assert res.exit_code == 0, res.message
    assert (d / "alpha").read_text() == "alpha\n" and (d / "b c").read_text() == "b c\n"
    assert (d / "count").read_text() == "2 b c\n"
    ev = events(Path(res.transcript).parent)
    assert sum(1 for e in ev if e["type"] == "command" and e["step"] == "each") == 2


def test_until_reruns_until_true_with_a_real_wait(tmp_path: Path, sshd: SshServer) -> None:
    counter = tmp_path / "n"
    res, _ = run_in_process(sshd, tmp_path, f"""
name: until
steps:
  - name: poll
    kind: shell
    params: {{command: "echo x >> {counter}; wc -l < {counter}"}}
    until: "steps.poll.stdout | number >= 3"
    retries: 5
    delay: 0.01
  - {{name: after, kind: shell, params: {{command: "echo {{{{ steps.poll.attempts }}}} > {tmp_path}/attempts"}}}}
""")
    assert res.exit_code == 0, res.message
    assert len(counter.read_text().splitlines()) == 3  # stopped at the first true
    assert (tmp_path / "attempts").read_text() == "3\n"


def test_dry_run_does_not_wait_for_until(tmp_path: Path, sshd: SshServer) -> None:
    counter = tmp_path / "n"
    res, console = run_in_process(sshd, tmp_path, f"""
name: until-dry
steps:
  - name: poll
    kind: shell
    params: {{command: "echo x >> {counter}; echo 503"}}
    until: "steps.poll.stdout | trim == '200'"
    retries: 5
    delay: 30
""", dry_run=True)
    assert res.exit_code == 0, res.message
    assert len(counter.read_text().splitlines()) == 1  # read-only: ran once, for real; no 30 s waits
    assert "until:` not waited for" in res.steps[0].message


def test_a_cancel_ends_the_wait_between_attempts_at_once(tmp_path: Path, sshd: SshServer) -> None:
    import threading
    import time

    counter = tmp_path / "n"
    cancel = threading.Event()

    def trip() -> None:  # the operator's Ctrl-C once the first attempt ran
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (counter.exists() and counter.read_text()):
            time.sleep(0.05)
        cancel.set()

    threading.Thread(target=trip, daemon=True).start()
    started = time.monotonic()
    res, _ = run_in_process(sshd, tmp_path, f"""
name: until-cancel
steps:
  - name: poll
    kind: shell
    params: {{command: "echo x >> {counter}; echo 503"}}
    until: "steps.poll.stdout | trim == '200'"
    retries: 5
    delay: 60
""", cancel=cancel)
    assert (res.verdict, res.exit_code) == ("aborted", 4)
    assert time.monotonic() - started < 30  # not the 60 s delay: the wait ended with the cancel
    assert len(counter.read_text().splitlines()) == 1
    assert [(s.name, s.status) for s in res.steps] == [("poll", "aborted")]


def test_until_exhausted_fails_the_run(tmp_path: Path, sshd: SshServer) -> None:
    res, _ = run_in_process(sshd, tmp_path, f"""
name: until-fail
steps:
  - name: poll
    kind: shell
    params: {{command: "echo x >> {tmp_path}/n; echo 503"}}
    until: "steps.poll.stdout | trim == '200'"
    retries: 2
    delay: 0
  - {{name: after, kind: shell, params: {{command: "touch {tmp_path}/after"}}}}
""")
    assert (res.verdict, res.exit_code) == ("failed", 2)
    assert "still false after 3 attempt(s)" in res.message
    assert len((tmp_path / "n").read_text().splitlines()) == 3 and not (tmp_path / "after").exists()


def test_include_and_vars_files_run_on_the_host(tmp_path: Path, sshd: SshServer) -> None:
    (tmp_path / "vars.yml").write_text("greeting: from-vars-file\n")
    (tmp_path / "inner.yml").write_text(f"""
name: inner
vars: {{who: inner-default}}
steps:
  - {{name: hello, kind: shell, params: {{command: "echo {{{{ greeting }}}} {{{{ who }}}} >> {tmp_path}/log"}}}}
""")
    (tmp_path / "outer.yml").write_text(f"""
name: outer
vars_files: [vars.yml]
steps:
  - include: inner.yml
    vars: {{who: from-include}}
  - {{name: after, kind: shell, params: {{command: "echo {{{{ steps.hello.exit_code }}}} >> {tmp_path}/log"}}}}
""")
    from runbooks.lang.parse import load_playbook

    pb = load_playbook(tmp_path / "outer.yml")
    res, _ = run_in_process(sshd, tmp_path, pb)
    assert res.exit_code == 0, res.message
    assert (tmp_path / "log").read_text().splitlines() == ["from-vars-file from-include", "0"]
