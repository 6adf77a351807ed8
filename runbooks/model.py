"""Typed values shared by the engine, the steps and the renderers.

Steps never perform I/O themselves: they *yield* requests (a `Command` to run on the
target, an `HttpRequest`, a `Confirm` for the operator, a `Note` for the record) and
receive the answer. The engine owns every side effect, so dry-run, confirmations,
transcripts and redaction live in exactly one place (the pyinfra model: operations
yield commands, connectors execute them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from runbooks.engine.verdict import Verdict

Severity = Literal["P0", "P1", "P2"]
StepStatus = Literal["ok", "failed", "skipped", "timeout", "aborted"]


@dataclass(frozen=True)
class Result:
    """What one command did on the target."""

    command: str  # the display form (secrets masked)
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    dry_run: bool = False  # True: not executed (mutating command under --dry-run)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class Batch:
    """Independent read-only commands to run CONCURRENTLY on the run's one connection
    (one channel each). The step receives their Results, in the order given. Fact
    gathering uses it so a log scan does not wait for a Django boot."""

    commands: tuple[Any, ...]  # Command values (runbooks.commands.Command)


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP call made from the operator's machine (API spot checks)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)  # may hold ${ENV} refs: resolved by the runner
    body: Any = None  # JSON-serialisable
    timeout: float = 15.0
    # multipart/form-data instead of a JSON body (a phone's photo upload): text fields and files
    form: dict[str, str] | None = None
    files: tuple["FilePart", ...] = ()


@dataclass(frozen=True)
class FilePart:
    """One file of a multipart upload (its bytes are never written to a transcript)."""

    field: str
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    duration_s: float
    error: str | None = None  # transport error (refused, TLS, timeout): status is 0

    def json(self) -> Any:
        import json

        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Confirm:
    """Ask the operator before something mutating. The runner answers it (or --yes does)."""

    prompt: str
    commands: tuple[str, ...] = ()  # display forms of what will run
    typed: bool | None = None  # None: as the target's `confirm:` setting says


@dataclass(frozen=True)
class Prompt:
    """Wait for the operator to type a line (e.g. "press Enter when the UI steps are done").

    The step receives the line typed (stripped), or None when `timeout` seconds passed
    without an answer. An answer in `abort_on` (case-insensitive) raises `Aborted` inside
    the runner (exit 4), so steps need no "operator quit" branch. Without a terminal the
    run cannot wait for anyone: `--yes` answers `default` when one is set (recorded as
    such); otherwise the runner raises InputError (exit 3). Tasks that always prompt
    should refuse non-terminal runs up front (TaskSpec.validate), like `confirm:` steps.
    """

    text: str
    timeout: float | None = None
    abort_on: tuple[str, ...] = ("q",)
    default: str | None = None


@dataclass(frozen=True)
class Note:
    """A line for the operator and the transcript (no side effect)."""

    text: str
    level: Literal["info", "warn", "error"] = "info"
    # True: the run's verdict must say this too (e.g. "WORKER STOPPED ..."), recorded as soon
    # as it is said, so a Ctrl-C that follows cannot lose it; a step's later verdict note
    # replaces its earlier one
    verdict: bool = False


@dataclass
class Finding:
    """A rule's conclusion. status 'alert' counts toward the verdict; 'skipped' says why not evaluated."""

    id: str
    severity: Severity
    title: str
    count: int = 0
    evidence: list[dict[str, Any]] = field(default_factory=list)
    action: str = ""
    status: Literal["alert", "ok", "skipped", "no_baseline", "error", "not_configured"] = "alert"
    reason: str = ""
    threshold: str = ""
    check: str = ""  # which checklist section / task produced it
    value: Any = None  # a playbook `check`'s measured value (compared with `threshold`)
    # Alert lifecycle (runbooks/alerts), set after the run: {"key", "state": "new|ongoing",
    # "first_seen", "last_seen", "seen", "acked"?}. Absent from to_dict() when unset.
    alert: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d.get("alert") is None:
            d.pop("alert", None)
        if d.get("value") is None:
            d.pop("value", None)
        return d


@dataclass
class StepOutcome:
    """What a step returns when its generator finishes."""

    status: StepStatus = "ok"
    message: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    # True: the step found the host unable to run the playbook (missing tool, container,
    # credentials): the run's verdict becomes "error", exit 3, not a P0.
    cannot_run: bool = False
    # What each fact source really covered (monitor): source -> {status, requested_from,
    # from, reason}; becomes the run's `coverage` in --json.
    coverage: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "7/7 P0 checks ran" or "5/7 ran: db failed: ...": part of the verdict line.
    ran: str = ""


@dataclass
class StepResult:
    name: str
    kind: str
    status: StepStatus
    duration_s: float
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "status": self.status,
                "duration_s": round(self.duration_s, 3), "message": self.message}


@dataclass
class RunResult:
    playbook: str
    target: str
    started_at: str
    finished_at: str
    verdict: Verdict
    exit_code: int
    findings: list[Finding] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    transcript: str = ""
    message: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    resume: str | None = None  # the exact command to resume after a failed/aborted step
    coverage: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Alert lifecycle of the run (runbooks/alerts/hook.py): {"resolved": [...],
    # "notifications": [...], "alerts": {...}}; merged into to_dict() when set.
    alerts: dict[str, Any] | None = None
    simulated: bool = False  # the target is the built-in sandbox, not a real host
    verdict_notes: list[str] = field(default_factory=list)  # what steps said the verdict must name

    def to_dict(self) -> dict[str, Any]:
        return {**self._dict(), **(self.alerts or {})}

    def _dict(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "target": self.target,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "simulated": self.simulated,
            "message": self.message,
            "findings": [f.to_dict() for f in self.findings if f.status in ("alert", "skipped")],
            "checks": [f.to_dict() for f in self.findings],
            "coverage": self.coverage,
            "metrics": self.metrics,
            "steps": [s.to_dict() for s in self.steps],
            "transcript": self.transcript,
            "resume": self.resume,
        }


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run, as the engine emits it (engine/events.py) to every
    consumer: the transcript records it, the console shows it, the cast marks it.

    `data` are the fields the transcript records (every consumer masks what it writes).
    `record=False`: for the screen only (a console line the record keeps in another form);
    `show=False`: for the record only. `result` is the full value behind a `*_finished`
    event (Result, StepResult) for the console, which shows more than the record keeps."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    record: bool = True
    show: bool = True
    result: Any = None


class EventConsumer(Protocol):
    """What every output of a run implements (pyinfra's state-callback model): one call
    per event. The transcript's answer is its recorded event (with its `seq`)."""

    def on_event(self, event: Event) -> Any: ...
