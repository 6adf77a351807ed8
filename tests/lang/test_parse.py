"""The parser: every new key, include and vars files; errors name file:line:key."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbooks.errors import PlaybookError
from runbooks.lang.parse import load_playbook

HEAD = "name: x\nsteps:\n"
SH = "  - name: a\n    kind: shell\n    params: {command: 'true'}\n"


def _load(tmp_path: Path, body: str, name: str = "p.yml") -> object:
    p = tmp_path / name
    p.write_text(body)
    return load_playbook(p)


@pytest.mark.parametrize(("body", "expected"), [
    (HEAD + SH + "    loop: 3\n", ":6: steps.a.loop: must be a list or an expression"),
    (HEAD + SH + "    loop: 'a +'\n", ":6: steps.a.loop: invalid expression"),
    (HEAD + SH + "    loop_var: x\n", ":6: steps.a.loop_var: needs `loop:`"),
    (HEAD + SH + "    loop: [1]\n    loop_var: 'not ok'\n", ":7: steps.a.loop_var: must be a variable name"),
    (HEAD + SH + "    until: 'a =='\n", ":6: steps.a.until: invalid expression"),
    (HEAD + SH + "    until: 'true'\n    retries: -1\n", ":7: steps.a.retries: must be a whole number"),
    (HEAD + SH + "    until: 'true'\n    delay: -2\n", ":7: steps.a.delay: must be a number of seconds"),
    (HEAD + SH + "    delay: 1\n", ":6: steps.a.delay: needs `until:`"),
    (HEAD + SH + "    confirm: {text: hi, typed: maybe}\n", ":6: steps.a.confirm.typed: must be true or false"),
    (HEAD + SH + "    confirm: {txt: hi}\n", ":6: steps.a.confirm: unknown key 'txt'"),
    (HEAD + SH + "    confirm: 'Delete {{ x }'\n", ":6: steps.a.confirm: invalid template"),
    (HEAD + SH + "    tags: [1]\n", ":6: steps.a.tags: must be a list of strings"),
    (HEAD + SH + "    description: '{{ x.__class__ }}'\n", ":6: steps.a.description: access to '__class__'"),
    (HEAD + SH + "    vars: {steps: 1}\n", ":6: steps.a.vars.steps: reserved"),
    (HEAD + SH + "    register: 'not ok'\n", ":6: steps.a.register: must be a variable name"),
    (HEAD + SH + "    register: r\n  - {name: b, kind: shell, register: r, params: {command: 'true'}}\n",
     "steps.b.register: 'r' is already the register of step a"),
    (HEAD + SH + "    vars: [1]\n", ":6: steps.a.vars: must be a mapping"),
    (HEAD + SH + "    when: \"x | regex('\\\\d')\"\n", "invalid escape"),
    (HEAD + SH + "    when: 'steps.b.exit_code == 0'\n  - name: b\n    kind: shell\n    params: {command: 'true'}\n",
     ":3: steps.a.when: reads steps.b: a later step"),
    (HEAD + SH + "    when: 'steps.nope.stdout'\n", "steps.a.when: reads steps.nope: no such step"),
    (HEAD + SH + "    when: 'steps.a.stdout'\n", "steps.a.when: reads steps.a: the step itself"),
    (HEAD + "  - name: a\n    kind: prompt\n    params: {text: q, choices: [y, n], default: maybe}\n",
     ":5: steps.a.params.default: 'maybe' is not one of the choices"),
    (HEAD + "  - name: a\n    kind: prompt\n    params: {}\n", "steps.a.params.text: required"),
    (HEAD + "  - name: a\n    kind: check\n    params:\n      id: a\n      title: t\n      value: '1'\n      threshold: 1\n",
     ":5: steps.a.params.severity: required"),
    (HEAD + "  - name: a\n    kind: shell\n    params: {command: 'true', parse: yaml}\n", "steps.a.params.parse: must be json"),
    ("name: x\nserial: 2\n" + "steps:\n" + SH, ":2: serial: only 1"),
    ("name: x\nvars_files: [nope.yml]\n" + "steps:\n" + SH, ":2: vars_files[0]: no such file"),
    (HEAD + "  - include: nope\n", ":3: steps[0].include: playbook 'nope' not found"),
    (HEAD + "  - include: doctor\n    kind: shell\n", ":4: steps[0]: unknown key 'kind' in an include"),
])
def test_errors_name_file_line_and_key(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(PlaybookError) as err:
        _load(tmp_path, body)
    assert str(tmp_path / "p.yml") in err.value.message
    assert expected in err.value.message


def test_every_new_key_parses(tmp_path: Path) -> None:
    pb = _load(tmp_path, HEAD + """\
  - name: each
    kind: shell
    description: "copy {{ item }}"
    loop: "names"
    loop_var: name
    params: {command: "echo {{ name }}"}
    vars: {names: [a, b]}
    tags: measure
  - name: wait
    kind: shell
    params: {command: "true"}
    until: "steps.wait.exit_code == 0"
    retries: "n | number"
    delay: 0
    confirm: "Wait for {{ target }}?"
  - name: typed
    kind: shell
    mutates: true
    params: {command: "true"}
    confirm: {text: "Really?", typed: true}
""")
    each, wait, typed = pb.steps  # type: ignore[attr-defined]
    assert (each.loop, each.loop_var, each.vars, each.tags) == ("names", "name", {"names": ["a", "b"]}, ("measure",))
    assert (wait.until, wait.retries, wait.delay, wait.confirm, wait.confirm_text) == (
        "steps.wait.exit_code == 0", "n | number", 0.0, True, "Wait for {{ target }}?")
    assert (typed.confirm, typed.confirm_text) == ("typed", "Really?")
    assert each.retries is None


def test_plain_text_naming_a_file_is_not_a_step_reference(tmp_path: Path) -> None:
    pb = _load(tmp_path, HEAD + "  - {name: a, kind: shell, params: {command: 'cat /tmp/steps.log; echo {{ x }}'}}\n")
    assert pb.steps[0].name == "a"  # type: ignore[attr-defined]
    with pytest.raises(PlaybookError, match="reads steps.nope: no such step"):
        _load(tmp_path, HEAD + "  - {name: a, kind: shell, params: {command: 'cat steps.log {{ steps.nope.stdout }}'}}\n")


def test_a_kind_that_changes_the_host_needs_mutates(tmp_path: Path) -> None:
    from runbooks.steps.base import step_kind

    @step_kind("test.changer", mutates=lambda p: "test.changer write" if p.get("write") else None)
    def _changer(step, ctx):  # type: ignore[no-untyped-def]
        yield from ()

    _load(tmp_path, HEAD + "  - {name: a, kind: test.changer, params: {write: false}}\n")
    with pytest.raises(PlaybookError, match=r":3: steps.a.mutates: test.changer write changes the host"):
        _load(tmp_path, HEAD + "  - {name: a, kind: test.changer, params: {write: true}}\n")
    _load(tmp_path, HEAD + "  - {name: a, kind: test.changer, mutates: true, params: {write: true}}\n")


def test_loop_in_ansible_spelling(tmp_path: Path) -> None:
    pb = _load(tmp_path, HEAD + SH + "    loop: '{{ names }}'\n")
    assert pb.steps[0].loop == "names"  # type: ignore[attr-defined]


def test_include_and_vars_files(tmp_path: Path) -> None:
    (tmp_path / "vars").mkdir()
    (tmp_path / "vars" / "prod.yml").write_text("limit: 90\nregion: eu\n")
    (tmp_path / "inner.yml").write_text("name: inner\nvars: {depth: 1, limit: 50}\nsteps:\n"
                                        "  - {name: probe, kind: shell, params: {command: 'true'}, tags: [a]}\n"
                                        "  - {name: gate, kind: shell, params: {command: 'true'}, when: 'steps.probe.exit_code == 0'}\n")
    pb = _load(tmp_path, "name: outer\nvars: {limit: 10, mine: 1}\nvars_files: [vars/prod.yml]\nsteps:\n" + SH
               + "  - include: inner.yml\n    vars: {depth: 2}\n    when: 'not dry_run'\n    tags: [inc]\n")
    assert pb.vars == {"limit": 90, "mine": 1, "region": "eu"}  # type: ignore[attr-defined]  # vars files over vars
    names = [s.name for s in pb.steps]  # type: ignore[attr-defined]
    assert names == ["a", "probe", "gate"]
    probe, gate = pb.steps[1], pb.steps[2]  # type: ignore[attr-defined]
    assert probe.when == "not dry_run" and probe.tags == ("a", "inc") and probe.vars == {"depth": 2, "limit": 50}
    assert gate.when == "(not dry_run) and (steps.probe.exit_code == 0)"
    assert probe.source.startswith(str(tmp_path / "inner.yml"))
    assert pb.includes == (str(tmp_path / "inner.yml"),)  # type: ignore[attr-defined]


def test_include_always_sets_or_clears_the_included_steps_always(tmp_path: Path) -> None:
    (tmp_path / "inner.yml").write_text("name: inner\nsteps:\n"
                                        "  - {name: probe, kind: shell, params: {command: 'true'}}\n"
                                        "  - {name: report, kind: shell, always: true, params: {command: 'true'}}\n")
    kept = _load(tmp_path, HEAD + "  - include: inner.yml\n")
    assert [s.always for s in kept.steps] == [False, True]  # type: ignore[attr-defined]
    cleared = _load(tmp_path, HEAD + "  - include: inner.yml\n    always: false\n")
    assert [s.always for s in cleared.steps] == [False, False]  # type: ignore[attr-defined]
    forced = _load(tmp_path, HEAD + "  - include: inner.yml\n    always: true\n")
    assert [s.always for s in forced.steps] == [True, True]  # type: ignore[attr-defined]
    with pytest.raises(PlaybookError, match=r":4: steps\[0\].always: must be true or false"):
        _load(tmp_path, HEAD + "  - include: inner.yml\n    always: 'no'\n")


def test_include_errors_name_the_included_file(tmp_path: Path) -> None:
    (tmp_path / "inner.yml").write_text("name: inner\nsteps:\n  - {name: a, kind: shell, params: {command: 'true'}}\n"
                                        "  - {name: b, kind: nope}\n")
    with pytest.raises(PlaybookError, match=rf"{tmp_path / 'inner.yml'}:4: steps.b.kind: unknown kind"):
        _load(tmp_path, HEAD + "  - include: inner.yml\n")
    (tmp_path / "inner.yml").write_text("name: inner\nsteps:\n  - {name: a, kind: shell, params: {command: 'true'}}\n")
    with pytest.raises(PlaybookError, match="duplicate step name 'a'"):
        _load(tmp_path, HEAD + SH + "  - include: inner.yml\n")
    (tmp_path / "loop.yml").write_text("name: l\nsteps:\n  - include: p.yml\n")
    with pytest.raises(PlaybookError, match="includes itself"):
        _load(tmp_path, HEAD + SH + "  - include: loop.yml\n")


def test_a_bad_vars_file_names_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "v.yml").write_text("ok: 1\n'bad name': 2\n")
    with pytest.raises(PlaybookError, match=rf"{tmp_path / 'v.yml'}:2: vars.bad name: a variable name must be an identifier"):
        _load(tmp_path, "name: x\nvars_files: v.yml\nsteps:\n" + SH)


def test_monitor_evaluate_refuses_the_record_param_it_no_longer_reads(tmp_path: Path) -> None:
    """`record: false` once kept a run out of the baseline history; silently ignored, such a
    playbook would now record it: refused on load, naming the variable that replaced it."""
    ev = "  - {name: evaluate, kind: monitor.evaluate, params: {record: false}}\n"
    with pytest.raises(PlaybookError, match=r"params.record: is now the run variable record_baseline"):
        _load(tmp_path, HEAD + ev)
    with pytest.raises(PlaybookError, match=r"params.stray: unknown parameter"):
        _load(tmp_path, HEAD + ev.replace("record: false", "stray: 1"))
    assert _load(tmp_path, HEAD + "  - {name: evaluate, kind: monitor.evaluate}\n").steps[0].kind == "monitor.evaluate"  # type: ignore[attr-defined]
