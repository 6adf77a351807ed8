"""The operator policy: who answers a confirmation or a prompt, and how it is recorded.

  * --dry-run: nothing is asked; a confirmation is recorded as "not asked (dry-run)";
  * --yes: answers for the operator, recorded as such ("--yes on behalf of alice"); a
    prompt is answered by --yes only when it has a default;
  * otherwise the operator at the terminal answers; a typed confirmation (target or step
    `confirm: typed`) wants the target's name; no terminal: InputError (exit 3), never a
    hang; a declined confirmation, an abort answer or a closed stdin: Aborted (exit 4).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runbooks.errors import Aborted, InputError, Terminated
from runbooks.model import Prompt

if TYPE_CHECKING:
    from runbooks.config import Target
    from runbooks.engine.events import EventStream
    from runbooks.engine.options import RunOptions
    from runbooks.steps.base import Step

SHOWN_ITEMS = 50  # a confirmation covering a loop lists at most this many items on the console
Ask = Callable[..., str]  # Out.ask(question, timeout=None): one line from the terminal


class Operator:
    def __init__(self, target: Target, options: RunOptions, events: EventStream, ask: Ask) -> None:
        self.target = target
        self.options = options
        self.events = events
        self.ask = ask

    def confirm(self, step: Step, prompt: str, commands: list[str], typed: bool | None, covers: str = "") -> bool:
        """True, or Aborted: a declined confirmation stops the run. `covers` ("3 item(s)"):
        one answer for a whole loop/until step; `commands` are then its items' lines, each
        shown (a long list: its first SHOWN_ITEMS) and every one recorded."""
        ev, opts, tgt = self.events, self.options, self.target
        extra: dict[str, Any] = {"covers": covers} if covers else {}
        need_typed = typed if typed is not None else (tgt.confirm == "typed" or step.confirm == "typed")
        expected = tgt.name if need_typed else None
        if opts.dry_run:
            ev("confirm", step=step.name, prompt=prompt, commands=commands, answer="not asked (dry-run)", by="dry-run",
               **extra)
            return True
        if opts.yes:
            ev("confirm", step=step.name, prompt=prompt, commands=commands, answer="yes",
               by=f"--yes on behalf of {getpass.getuser()}", **extra)
            return True
        if not opts.is_interactive():
            raise InputError("a confirmation is needed but stdin is not a terminal (use --yes)")
        ev.line(f"  CONFIRM on {tgt.name} ({tgt.address}, role {tgt.role}): {prompt}", "bold yellow")
        shown = commands[:SHOWN_ITEMS] if covers else commands
        for c in shown:
            ev.line(f"    {c}" if covers else f"    $ {c}", "magenta")
        if len(shown) < len(commands):
            ev.line(f"    ... and {len(commands) - len(shown)} more (every one is in the transcript)", "magenta")
        if need_typed:
            question = f"  Type the target name '{tgt.name}' to proceed (anything else aborts): "
        else:
            question = "  Proceed? [y/N] "
        try:
            answer = self.ask(question)
        except Terminated:
            raise  # SIGTERM at a prompt is an interruption, not an answer
        except (EOFError, KeyboardInterrupt):
            answer = "<EOF>"
        ok = answer.strip() == expected if need_typed else answer.strip().lower() in ("y", "yes")
        ev("confirm", step=step.name, prompt=prompt, commands=commands, answer=answer,
           by=f"operator {getpass.getuser()} (typed)" if need_typed else f"operator {getpass.getuser()}",
           expected=expected, granted=ok, **extra)
        if not ok:
            raise Aborted(f"operator declined at step {step.name}"
                          + (f" (typed {answer!r}, expected {expected!r})" if need_typed else "")
                          + (f"; none of its {covers} ran" if covers else ""))
        return True

    def prompt(self, step: Step, req: Prompt) -> str | None:
        """Operator input (see model.Prompt): the line, None on timeout, Aborted on `abort_on`."""
        ev, opts = self.events, self.options
        if opts.dry_run or (opts.yes and req.default is not None):
            by = "dry-run" if opts.dry_run else f"--yes on behalf of {getpass.getuser()}"
            ev("prompt", step=step.name, prompt=req.text, answer=req.default or "", by=by)
            return req.default or ""
        if not opts.is_interactive():
            raise InputError(f"step {step.name} waits for the operator ({req.text}) but stdin is not a terminal")
        try:
            answer: str | None = self.ask(f"  {req.text} ", timeout=req.timeout)
        except TimeoutError:
            answer = None
        except EOFError:
            ev("prompt", step=step.name, prompt=req.text, answer="<EOF>", by=f"operator {getpass.getuser()}")
            raise Aborted(f"stdin closed while step {step.name} waited for the operator") from None
        shown = "<timeout>" if answer is None else answer
        ev("prompt", step=step.name, prompt=req.text, answer=shown, timeout=req.timeout,
           by="nobody (timed out)" if answer is None else f"operator {getpass.getuser()}")
        if answer is not None and answer.strip().lower() in {a.lower() for a in req.abort_on}:
            raise Aborted(f"operator aborted at step {step.name} (answered {answer.strip()!r})")
        return None if answer is None else answer.strip()
