"""The engine: performs what steps ask for, records it, and decides the verdict.

    options   RunOptions: what the caller asked for (dry-run, --yes, --start-at, ...)
    plan      what runs and whether it may start (the steps in order, the run's variables)
    events    the run's ONE event stream: transcript, console and cast consume each event
    operator  the confirm/prompt policy (--yes, typed confirms, no terminal: refuse)
    handlers  one handler per request type a step yields (Command, Batch, HttpRequest, ...)
    verdict   the one verdict/exit-code table and `judge()`
    run       the run loop: lifecycle, driving each step's generator
    recovery  when a run does not go to the end: interruption, always-steps, reconnect

Nothing is imported here: `runbooks.model` imports `engine.verdict`, and the run loop
imports the model, so importing a submodule must not pull in the others.
"""
