"""Alerts over time: one alert per problem, across runs of the same target.

    identity   a run's alerting findings -> problems as observed (stable keys)
    lifecycle  new / ongoing / resolved, acknowledgements, what changed since last told,
               over the tables of the history DB (schema + migrations: monitor/history.py)
    transport  an HTTP POST with a hard total timeout (a protocol: tests use a real server)
    notify     Telegram and webhook messages for changes, rate-limited per target
    hook       the monitor tasks' `after` hook: lifecycle + notify + console/JSON/transcript
    cli        `inv alerts.ack` and `inv alerts.list`
"""
