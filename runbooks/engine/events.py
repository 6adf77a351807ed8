"""The run's ONE event stream: `emit(event)` hands each event to every consumer.

The transcript (record/transcript.py), the console view (record/console.py RunView) and
the cast (record/cast.py CastRecorder) implement one callback, `on_event(event)`
(model.EventConsumer), the way pyinfra's outputs implement its state callbacks. The
engine says what happened once; each output decides what it writes.

The record comes first and always: a consumer that fails (a closed terminal) cannot lose
the transcript's event, nor keep the event from the other consumers; its error is raised
once every consumer has had the event, as a direct write would have raised it.
"""

from __future__ import annotations

from typing import Any

from runbooks.model import Event, EventConsumer

__all__ = ["Event", "EventConsumer", "EventStream"]


class EventStream:
    def __init__(self, record: EventConsumer | None = None, consumers: list[EventConsumer] | None = None) -> None:
        self.record = record
        self.consumers: list[EventConsumer] = list(consumers or [])

    def add(self, consumer: EventConsumer) -> None:
        self.consumers.append(consumer)

    def remove(self, consumer: EventConsumer) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def emit(self, event: Event) -> dict[str, Any] | None:
        """Every consumer gets `event`; returns the transcript's recorded event (its `seq`)."""
        recorded = self.record.on_event(event) if (self.record is not None and event.record) else None
        failure: Exception | None = None
        for consumer in list(self.consumers):
            try:
                consumer.on_event(event)
            except Exception as exc:  # noqa: BLE001 - the others still get the event
                failure = failure or exc
        if failure is not None:
            raise failure
        return recorded

    def __call__(self, type_: str, *, record: bool = True, show: bool = True, result: Any = None,
                 **data: Any) -> dict[str, Any] | None:
        """`emit(Event(type_, data, ...))`."""
        return self.emit(Event(type_, data, record=record, show=show, result=result))

    def line(self, text: str, style: str | None = None) -> None:
        """A console line the record keeps in another form (or not at all)."""
        self.emit(Event("line", {"text": text, "style": style}, record=False))

    def note(self, text: str, level: str = "info", *, record: bool = False, step: str | None = None) -> None:
        """A note for the operator; `record=True` also keeps it in the transcript."""
        data: dict[str, Any] = {"step": step, "text": text, "level": level} if record else {"text": text, "level": level}
        self.emit(Event("note", data, record=record))
