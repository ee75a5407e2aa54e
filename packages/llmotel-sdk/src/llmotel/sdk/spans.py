"""The one place llmotel reads OpenTelemetry SDK internals: fast reads of a finished span's contents.

The public ``ReadableSpan`` properties copy on every access (``attributes`` wraps the SDK's
``BoundedAttributes`` in a new proxy whose every read is a Python-level call, ``events`` and
``links`` build a tuple under a lock): on the tail sampler's hot path that is several times the
cost of reading the containers the SDK already holds (``benchmarks/bench_sampling.py`` measures
both). The span processors that run on the application thread for every span — llmotel-sampling's
tail sampler and policies, llmotel-metrics' token/cost processor, the export queue's size estimate —
read spans through here; :class:`SpanCopy` is the one copy of a span the tail sampler forwards and
the export pipeline edits and exports. For
spans the SDK built, these functions read ``BoundedAttributes._dict``, ``BoundedList._dq`` and the
``ReadableSpan`` fields; any other span, or an SDK whose containers look different, goes through
the public properties, so an SDK change costs speed, never correctness. Tested on the oldest and
newest SDK llmotel-sdk allows (``tests-sdk-oldest``, ``tests-sampling-oldest`` and the upper bound
pinned in llmotel-sdk's ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AttributeValue

__all__ = ["SPAN_BYTES", "SpanCopy", "estimate_bytes", "finished_attributes"]

_EMPTY: Mapping[str, AttributeValue] = MappingProxyType({})
_MISSING: Any = object()

# Size estimate, calibrated with tracemalloc against SDK spans (checked on the oldest and newest
# SDK by tests/test_tail.py): a finished span with its context, BoundedAttributes and lock is ~3 KB
# before attribute values.
SPAN_BYTES = 3000
_ATTRIBUTE_BYTES = 64  # dict slot + value object; a string also counts its characters
_EVENT_BYTES = 700
_LINK_BYTES = 300


def finished_attributes(span: ReadableSpan) -> Mapping[str, AttributeValue]:
    """A finished span's attributes, without the per-access proxy and copies (never to be mutated)."""
    attributes = getattr(span, "_attributes", _MISSING)
    if type(attributes) is BoundedAttributes:
        inner = getattr(attributes, "_dict", None)
        if isinstance(inner, dict):  # an OrderedDict once the SDK dropped some (1.40)
            return inner
    elif type(attributes) is dict:  # a span built with ReadableSpan(attributes={...})
        return attributes
    if attributes is None:
        return _EMPTY
    # Anything else with span-like attributes, e.g. a pipeline MutableSpan.
    return span.attributes or _EMPTY


def estimate_bytes(span: ReadableSpan) -> int:
    """A cheap upper estimate of the memory a finished SDK span holds on to.

    The one span-size estimate: the tail sampler's ``max_bytes`` and the export queue's
    ``max_queue_bytes`` both count spans with it. Runs for every buffered or queued span on the
    application thread: the reads above are inlined. A
    container without the SDK's inner one is read as it is (every one is a mapping or sequence).
    """
    size = SPAN_BYTES
    attributes = span._attributes
    if attributes is not None:
        inner = getattr(attributes, "_dict", None)
        if isinstance(inner, dict):  # an OrderedDict once the SDK dropped some (1.40)
            attributes = inner
        if attributes:
            size += len(attributes) * _ATTRIBUTE_BYTES
            for value in attributes.values():
                if type(value) is str:
                    size += len(value)
    events = getattr(span._events, "_dq", span._events)
    if events:
        for event in events:
            size += _EVENT_BYTES
            event_attributes = event.attributes
            if event_attributes:
                size += len(event_attributes) * _ATTRIBUTE_BYTES
                for value in event_attributes.values():
                    if type(value) is str:
                        size += len(value)
    links = getattr(span._links, "_dq", span._links)
    return size + len(links) * _LINK_BYTES if links else size


class SpanCopy(ReadableSpan):
    """A finished span rebuilt with ``ReadableSpan``'s public constructor, attributes of its own.

    Shares the context, status, resource, scope, events and links with the original (tuples of
    them: no lock, no bounded containers) and carries its dropped counts. An SDK span's fields are
    read directly (the properties cost half the copy); any other span through the properties.

    Whoever makes a copy for exactly one processor can :meth:`hand_to` it: that processor owns the
    copy and may edit it in place (the export pipeline then uses it as its record and as the span it
    exports: one copy of the span on its way to the exporter). A copy nobody owns, or owned by
    another, is read only: a processor that edits it copies it first.
    """

    own_attributes: dict[str, AttributeValue]
    """The copy's attributes: the processor adds its marks here before forwarding the copy."""
    _dropped_counts: tuple[int, int, int]
    _owner: object = None

    def __init__(self, span: ReadableSpan) -> None:
        # What the SDK hands to on_end (a ReadableSpan sharing the span's containers), or a span.
        if type(span) is not ReadableSpan and not isinstance(span, Span):
            self._copy_public(span)
            return
        try:
            attributes: Any = span._attributes  # BoundedAttributes
            events: Any = span._events  # BoundedList
            links: Any = span._links  # BoundedList
            event_list = events._dq
            link_list = links._dq
            own = dict(attributes._dict)
            dropped = (int(attributes.dropped), int(events.dropped), int(links.dropped))
        except AttributeError:
            self._copy_public(span)
            return
        self.own_attributes = own
        self._dropped_counts = dropped
        super().__init__(
            name=span._name,
            context=span._context,
            parent=span._parent,
            resource=span._resource,
            attributes=own,
            events=tuple(event_list) if event_list else (),
            links=tuple(link_list) if link_list else (),
            kind=span._kind,
            status=span._status,
            start_time=span._start_time,
            end_time=span._end_time,
            instrumentation_scope=span._instrumentation_scope,
        )

    def _copy_public(self, span: ReadableSpan) -> None:
        self.own_attributes = dict(span.attributes or {})
        self._dropped_counts = (span.dropped_attributes, span.dropped_events, span.dropped_links)
        super().__init__(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self.own_attributes,
            events=tuple(span.events),
            links=tuple(span.links),
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def hand_to(self, owner: object) -> SpanCopy:
        """Make ``owner`` (the one processor this copy goes to) its owner; returns the copy."""
        self._owner = owner
        return self

    def owned_by(self, owner: object) -> bool:
        """Whether the copy was handed to ``owner``."""
        return self._owner is owner

    def update(
        self,
        *,
        name: str,
        attributes: dict[str, AttributeValue],
        events: Sequence[Event],
        links: Sequence[Link],
        status: Status,
        resource: Resource,
    ) -> SpanCopy:
        """Give the copy these contents (its owner's edits) and return it; context, times and scope stay."""
        self.own_attributes = attributes
        self._name = name
        self._attributes = attributes
        self._events = events
        self._links = links
        self._status = status
        self._resource = resource
        return self

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_counts[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped_counts[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped_counts[2]
