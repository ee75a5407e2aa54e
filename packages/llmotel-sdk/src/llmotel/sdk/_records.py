"""Mutable copies of finished spans and log records, and the new records built from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status
from opentelemetry.util.types import AnyValue, Attributes

from llmotel.sdk.spans import SpanCopy, finished_attributes

__all__ = ["MutableEvent", "MutableLink", "MutableLogRecord", "MutableSpan"]


def _copy(attributes: Mapping[str, AnyValue] | None) -> dict[str, AnyValue]:
    """A new dict of ``attributes``; fast for the SDK's ``BoundedAttributes`` (its ``copy()``)."""
    if not attributes:
        return {}
    copy = getattr(attributes, "copy", None)
    if copy is not None:
        result = copy()
        if type(result) is dict:
            return result
    return dict(attributes)


class MutableEvent:
    """A span event a stage may edit: ``name``, ``timestamp`` (ns) and ``attributes``."""

    __slots__ = ("attributes", "name", "timestamp")

    def __init__(self, name: str, timestamp: int, attributes: dict[str, AnyValue]) -> None:
        self.name = name
        self.timestamp = timestamp
        self.attributes = attributes

    def __repr__(self) -> str:
        return f"MutableEvent({self.name!r}, {self.timestamp!r}, {self.attributes!r})"


class MutableLink:
    """A span link a stage may edit: ``attributes`` (the linked ``context`` is read-only)."""

    __slots__ = ("_context", "attributes")

    def __init__(self, context: SpanContext, attributes: dict[str, AnyValue]) -> None:
        self._context = context
        self.attributes = attributes

    @property
    def context(self) -> SpanContext:
        """The context of the linked span."""
        return self._context

    def __repr__(self) -> str:
        return f"MutableLink({self._context!r}, {self.attributes!r})"


class MutableSpan:
    """A finished span as pipeline stages see it.

    Stages may change ``name``, ``attributes``, ``events``, ``links``, ``status`` and ``resource``
    in place (or replace them). Everything else is read-only; ``source`` is the span the record was made
    from: the span as the SDK finished it, which the pipeline never changes, or the tail sampler's copy the
    record edits (:meth:`editing`). Attribute values may be primitives, sequences or, as SDK 1.45
    accepts, structured (mappings/lists of mappings); a stage must not assume one shape.
    """

    __slots__ = (
        "_edits_source",
        "_events",
        "_links",
        "_source",
        "attributes",
        "name",
        "resource",
        "status",
    )

    def __init__(
        self,
        source: ReadableSpan,
        name: str,
        attributes: dict[str, AnyValue],
        events: list[MutableEvent] | None = None,
        links: list[MutableLink] | None = None,
        status: Status | None = None,
    ) -> None:
        self._source = source
        self._edits_source = False
        self.name = name
        self.attributes = attributes
        # Events and links are copied on first access: most stages never look at them, and the
        # source's own immutable Event/Link objects can then be handed on as they are.
        self._events = events
        self._links = links
        self.status = source.status if status is None else status
        self.resource: Resource = source.resource

    @classmethod
    def from_span(cls, span: ReadableSpan) -> MutableSpan:
        """Copy ``span``'s editable parts (dicts and lists are new; values are shared)."""
        return cls(span, span.name, dict(finished_attributes(span)))

    @classmethod
    def editing(cls, span: SpanCopy) -> MutableSpan:
        """A record that edits ``span`` itself: a copy its caller owns (see ``SpanCopy.claim``).

        Its attribute dict is the copy's own, and :meth:`to_span` puts the edits back into the copy
        and returns it, so the span is copied once on its way to the exporter (by whoever made the
        ``SpanCopy``). Unlike a :meth:`from_span` record, ``source`` is then edited too.
        """
        record = cls(span, span.name, span.own_attributes)
        record._edits_source = True
        return record

    @property
    def events(self) -> list[MutableEvent]:
        """The span's events, in order; edit them in place or assign a new list."""
        events = self._events
        if events is None:
            events = self._events = [
                MutableEvent(e.name, e.timestamp, _copy(e.attributes)) for e in self._source.events
            ]
        return events

    @events.setter
    def events(self, events: list[MutableEvent]) -> None:
        self._events = events

    @property
    def links(self) -> list[MutableLink]:
        """The span's links; edit their attributes in place or assign a new list."""
        links = self._links
        if links is None:
            links = self._links = [
                MutableLink(k.context, _copy(k.attributes)) for k in self._source.links
            ]
        return links

    @links.setter
    def links(self, links: list[MutableLink]) -> None:
        self._links = links

    @property
    def source(self) -> ReadableSpan:
        """The finished span this record was copied from (never modified), or the copy it edits."""
        return self._source

    @property
    def context(self) -> SpanContext | None:
        return cast("SpanContext | None", self._source.context)

    @property
    def parent(self) -> SpanContext | None:
        return self._source.parent

    @property
    def kind(self) -> SpanKind:
        return self._source.kind

    @property
    def instrumentation_scope(self) -> InstrumentationScope | None:
        return self._source.instrumentation_scope

    @property
    def start_time(self) -> int | None:
        return self._source.start_time

    @property
    def end_time(self) -> int | None:
        return self._source.end_time

    def to_span(self) -> ReadableSpan:
        """A ``ReadableSpan`` with this record's values (dropped counts carried over): a new one, or
        for an :meth:`editing` record the copy it edits."""
        src = self._source
        if self._edits_source:
            return cast("SpanCopy", src).update(
                name=self.name,
                attributes=self.attributes,
                events=src.events if self._events is None else _events(self._events),
                links=src.links if self._links is None else _links(self._links),
                status=self.status,
                resource=self.resource,
            )
        return _PipelineSpan(
            src,
            name=self.name,
            context=src.context,
            parent=src.parent,
            resource=self.resource,
            attributes=cast("Attributes", self.attributes),
            events=src.events if self._events is None else _events(self._events),
            links=src.links if self._links is None else _links(self._links),
            kind=src.kind,
            status=self.status,
            start_time=src.start_time,
            end_time=src.end_time,
            instrumentation_scope=src.instrumentation_scope,
        )

    def _snapshot(self) -> tuple[Any, ...]:
        events = self._events
        links = self._links
        return (
            self.name,
            self.attributes.copy(),
            None
            if events is None
            else [(e, e.name, e.timestamp, e.attributes.copy()) for e in events],
            None if links is None else [(k, k.attributes.copy()) for k in links],
            self.status,
            self.resource,
        )

    def _restore(self, snapshot: tuple[Any, ...]) -> None:
        self.name, self.attributes, events, links, self.status, self.resource = snapshot
        if events is None:
            self._events = None
        else:
            self._events = []
            for event, name, timestamp, attributes in events:
                event.name, event.timestamp, event.attributes = name, timestamp, attributes
                self._events.append(event)
        if links is None:
            self._links = None
        else:
            self._links = []
            for link, attributes in links:
                link.attributes = attributes
                self._links.append(link)

    def __repr__(self) -> str:
        return f"MutableSpan(name={self.name!r}, attributes={self.attributes!r})"


def _events(events: list[MutableEvent]) -> list[Event]:
    return [Event(e.name, cast("Attributes", e.attributes), e.timestamp) for e in events]


def _links(links: list[MutableLink]) -> list[Link]:
    return [Link(k.context, cast("Attributes", k.attributes)) for k in links]


class _PipelineSpan(ReadableSpan):
    """A ``ReadableSpan`` that reports the dropped counts of the span it was rebuilt from."""

    __slots__ = ("_llmotel_source",)

    def __init__(self, source: ReadableSpan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._llmotel_source = source

    @property
    def dropped_attributes(self) -> int:
        return self._llmotel_source.dropped_attributes

    @property
    def dropped_events(self) -> int:
        return self._llmotel_source.dropped_events

    @property
    def dropped_links(self) -> int:
        return self._llmotel_source.dropped_links


class MutableLogRecord:
    """A finished log record (or GenAI event) as pipeline stages see it.

    Stages may change ``body``, ``attributes``, ``event_name``, ``severity_text``,
    ``severity_number``, ``timestamp``, ``observed_timestamp`` and ``resource``. The scope and trace
    correlation (``trace_id``, ``span_id``, ``trace_flags``) are read-only; ``source`` is the record
    as the SDK produced it.
    """

    __slots__ = (
        "_source",
        "attributes",
        "body",
        "event_name",
        "observed_timestamp",
        "resource",
        "severity_number",
        "severity_text",
        "timestamp",
    )

    def __init__(
        self,
        source: ReadableLogRecord,
        *,
        body: AnyValue,
        attributes: dict[str, AnyValue],
        event_name: str | None,
        severity_text: str | None,
        severity_number: SeverityNumber | None,
        timestamp: int | None,
        observed_timestamp: int | None,
    ) -> None:
        self._source = source
        self.body = body
        self.attributes = attributes
        self.event_name = event_name
        self.severity_text = severity_text
        self.severity_number = severity_number
        self.timestamp = timestamp
        self.observed_timestamp = observed_timestamp
        self.resource: Resource = source.resource

    @classmethod
    def from_log_record(cls, record: ReadableLogRecord) -> MutableLogRecord:
        """Copy ``record``'s editable parts (the attribute dict is new; values are shared)."""
        log = record.log_record
        return cls(
            record,
            body=log.body,
            attributes=_copy(log.attributes),
            event_name=log.event_name,
            severity_text=log.severity_text,
            severity_number=log.severity_number,
            timestamp=log.timestamp,
            observed_timestamp=log.observed_timestamp,
        )

    @property
    def source(self) -> ReadableLogRecord:
        """The record this copy was made from (never modified)."""
        return self._source

    @property
    def instrumentation_scope(self) -> InstrumentationScope | None:
        return self._source.instrumentation_scope

    @property
    def trace_id(self) -> int | None:
        return self._source.log_record.trace_id

    @property
    def span_id(self) -> int | None:
        return self._source.log_record.span_id

    @property
    def trace_flags(self) -> TraceFlags | None:
        return self._source.log_record.trace_flags

    def to_log_record(self, *, keep_exception: bool = True) -> ReadableLogRecord:
        """A new ``ReadableLogRecord`` with this record's current values."""
        src = self._source
        old = src.log_record
        context = old.context if isinstance(old.context, Context) else Context()
        # SDK 1.40's LogRecord has no ``exception`` argument: pass it only when there is one.
        exception = getattr(old, "exception", None) if keep_exception else None
        extra: dict[str, Any] = {} if exception is None else {"exception": exception}
        new = LogRecord(
            timestamp=self.timestamp,
            observed_timestamp=self.observed_timestamp,
            context=context,
            severity_text=self.severity_text,
            severity_number=self.severity_number,
            body=self.body,
            attributes=cast("Attributes", self.attributes),
            event_name=self.event_name,
            **extra,
        )
        # The correlation ids are the source's, whatever context it was created with.
        new.trace_id = old.trace_id
        new.span_id = old.span_id
        new.trace_flags = old.trace_flags
        return _PipelineLogRecord(
            log_record=new,
            resource=self.resource,
            instrumentation_scope=src.instrumentation_scope,
            limits=src.limits,
            _llmotel_dropped=src.dropped_attributes,
        )

    def _snapshot(self) -> tuple[Any, ...]:
        return (
            self.body,
            self.attributes.copy(),
            self.event_name,
            self.severity_text,
            self.severity_number,
            self.timestamp,
            self.observed_timestamp,
            self.resource,
        )

    def _restore(self, snapshot: tuple[Any, ...]) -> None:
        (
            self.body,
            self.attributes,
            self.event_name,
            self.severity_text,
            self.severity_number,
            self.timestamp,
            self.observed_timestamp,
            self.resource,
        ) = snapshot

    def __repr__(self) -> str:
        return f"MutableLogRecord(event_name={self.event_name!r}, body={self.body!r})"


class _PipelineLogRecord(ReadableLogRecord):
    """A ``ReadableLogRecord`` that reports the dropped-attribute count of its source."""

    def __init__(self, *, _llmotel_dropped: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        object.__setattr__(self, "_llmotel_dropped", _llmotel_dropped)

    @property
    def dropped_attributes(self) -> int:
        return cast("int", self.__dict__["_llmotel_dropped"])
