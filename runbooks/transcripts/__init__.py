"""Tools over recorded runs (the folders written by `runbooks.record.transcript.Transcript`).

    verify    the hash chain of events.jsonl: intact / modified / truncated
    timeline  many runs merged into one UTC timeline (a postmortem's "Timeline" section)
    cast      transcript.cast: the run's terminal output as an asciicast v2 recording
    runs      finding run folders and reading their events

Not to be confused with `runbooks/record/transcript.py`, the event sink that writes a run.
"""
