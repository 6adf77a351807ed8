"""Generic building blocks: step kinds a playbook uses from YAML alone, and the command
builders and parsers the built-in playbooks are made of.

    logs.scan     logscan.py (filter, command, parser) + logs_scan.py (the step)
    django.query  djshell.py (the ONE Django shell call and result line) + django_query.py
    http.check    http_check.py
    compose       compose.py
    git           git.py
    lock          lock.py
    check         check.py (a finding from earlier steps' outputs)
    prompt        prompt.py (the runbook's own question and choices)

Each step kind yields the engine's requests (runbooks/model.py) and returns facts a later
step can use; every value reaching the host goes through runbooks/commands.py (quoted).
"""
