"""The one confirmation of a loop/until step as pure logic (over sshd: test_loop_confirm_ssh.py)."""

from __future__ import annotations

from runbooks.lang.covering import covering
from runbooks.lang.model import Step
from runbooks.record.redact import Redactor


def test_each_item_is_its_rendered_masked_command() -> None:
    step = Step(name="rm", kind="shell", mutates=True, confirm=True, loop="paths",
                params={"command": "rm -rf {{ item }} --token {{ tok }}"})
    cover = covering(step, {"paths": ["/a b", "/c"], "tok": "s3cret-x"}, "web1", Redactor(["s3cret-x"]))
    assert cover is not None
    assert cover.lines == ("$ rm -rf '/a b' --token ***", "$ rm -rf /c --token ***")
    assert cover.question == "Run step rm on web1 [2 item(s)]" and cover.covers == "2 item(s)"


def test_an_item_that_cannot_be_rendered_is_named_and_other_kinds_show_their_description() -> None:
    step = Step(name="x", kind="shell", confirm=True, loop=[1, 2], params={"command": "echo {{ missing }}"})
    cover = covering(step, {}, "t", Redactor())
    assert cover is not None and cover.lines[0].startswith("item=1: the command cannot be rendered")
    step = Step(name="y", kind="check", confirm=True, loop=["a"], description="look at {{ item }}")
    cover = covering(step, {}, "t", Redactor())
    assert cover is not None and cover.lines == ("look at a (item='a')",)


def test_until_says_how_many_attempts_and_nothing_to_cover_is_none() -> None:
    step = Step(name="re", kind="shell", mutates=True, confirm="typed", confirm_text="Restart {{ unit }}?",
                until="steps.re.exit_code == 0", retries="n | number", params={"command": "systemctl restart {{ unit }}"})
    cover = covering(step, {"n": "4", "unit": "app"}, "t", Redactor())
    assert cover is not None and cover.lines == ("$ systemctl restart app",)
    assert cover.question == "Restart app? [up to 5 attempt(s), until steps.re.exit_code == 0]"
    assert covering(Step(name="a", kind="shell", loop=[1], params={"command": "x"}), {}, "t", Redactor()) is None
    assert covering(Step(name="a", kind="shell", confirm=True, loop=[], params={"command": "x"}), {}, "t", Redactor()) is None
    # a loop list it cannot compute: the step fails with why (run_controlled), nothing asked
    assert covering(Step(name="a", kind="shell", confirm=True, loop="n", params={"command": "x"}), {"n": 3}, "t",
                    Redactor()) is None
