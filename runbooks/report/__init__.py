"""`inv report`: the checklist's "Success Criteria (After 24 Hours)" decided from one fresh
monitor run plus the monitor history of the window, written as Markdown (report.md.j2).

    criteria  the criteria, and PASS/FAIL/UNKNOWN from findings (pure, unit-testable)
    sources   earlier runs (transcripts) and history rows in the window
    run       the task body: fresh run, evaluation, rendering, exit code
"""
