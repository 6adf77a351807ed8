"""The engine: performs what steps ask for, records it, and decides the verdict.

    options   RunOptions: what the caller asked for (dry-run, --yes, --start-at, ...)
    plan      what runs and whether it may start (the steps in order, the run's variables)
    verdict   the one verdict/exit-code table and `judge()`

Nothing is imported here: `runbooks.model` imports `engine.verdict`, and the run loop
imports the model, so importing a submodule must not pull in the others.
"""
