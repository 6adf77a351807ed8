"""The scope a step sees: precedence of variables, outputs of steps that did not run."""

from __future__ import annotations

from runbooks.lang.model import Step
from runbooks.lang.outputs import step_output
from runbooks.lang.scope import RunScope
from runbooks.model import StepOutcome


def test_precedence_and_outputs() -> None:
    step = Step(name="use", kind="shell", vars={"a": "step", "c": "step"},
                when="steps.ask.answer | default('keep') == 'delete'", description="a={{ a }} {{ steps.probe.status }}")
    rs = RunScope({"a": "playbook", "b": "playbook", "c": "cli"}, {"c": "cli"},
                  [Step(name="probe", kind="shell", register="probe_out"), Step(name="ask", kind="prompt"), step])
    scope = rs.for_step(step)
    assert scope["probe_out"]["status"] == "not_run"
    assert (scope["a"], scope["b"], scope["c"]) == ("step", "playbook", "cli")
    assert rs.runs(step, scope) is False  # ask did not run: its answer defaults
    assert RunScope.describe(step, scope) == "a=step not_run"
    rs.record("ask", step_output("ask", StepOutcome(facts={"answer": "delete"})))
    assert rs.runs(step, rs.for_step(step)) is True


def test_a_description_that_cannot_render_is_shown_as_written() -> None:
    step = Step(name="x", kind="shell", description="{{ nope.deeper }}")
    assert RunScope.describe(step, RunScope({}, {}, [step]).for_step(step)) == "{{ nope.deeper }}"
