"""`inv rollback --commit <sha>`: the checklist's Rollback Plan, corrected by eatfit24.md.

Modules: `inputs` (flag validation before anything connects), `lock` (the host-side
lock), `cmds` (every command the rollback can send, built in one place so the plan shows
exactly what the steps run), `djshell` (Django-shell scripts from templates/rollback_*.j2
and their tagged result line), `plan` (the plan text), `steps` (the step kinds).
"""
