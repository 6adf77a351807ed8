"""`inv predeploy`: the checklist's staging scenarios A, B and C, guided (operator clicks
through the UI while the run waits) or driven (the run performs the UI steps through a
driver), then verified with evidence from the worker log, the database and the diary API.

Modules, one concern each:
  scenarios  what each scenario is: the checklist's steps and expectations (data)
  clock      the host's clock (scenario start times come from the host, not the laptop)
  remote     the remote commands (log scan, one Django shell) and parsing their tagged output
  pick       which meal is the one under test (never guessed)
  verify     expected vs observed, with evidence (pure functions)
  poll       the backoff schedule for "wait until" checks
  driver     the UI steps as HTTP requests (sandbox driver protocol)
  steps      the step kinds the playbook uses
  summary    the PASS/FAIL table printed after the run
"""
