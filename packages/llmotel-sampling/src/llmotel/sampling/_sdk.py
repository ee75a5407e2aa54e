"""The one place that reads OpenTelemetry SDK internals: fast reads of a finished span's contents.

The public ``ReadableSpan`` properties copy on every access (``attributes`` wraps the SDK's
``BoundedAttributes`` in a new proxy whose every read is a Python-level call, ``events`` and
``links`` build a tuple under a lock): on the tail sampler's hot path that is several times the
cost of reading the containers the SDK already holds (``benchmarks/bench_sampling.py`` measures
both). So, for spans the SDK built, these functions read ``BoundedAttributes._dict`` and
``BoundedList._dq``; any other span, or an SDK whose containers look different, goes through the
public properties. Tested on the oldest and newest SDK the package allows (``tests-sampling-oldest``
and the pinned upper bound in ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link
from opentelemetry.util.types import AttributeValue

_EMPTY: Mapping[str, AttributeValue] = MappingProxyType({})

# Size estimate, calibrated with tracemalloc against SDK spans (checked on the oldest and newest
# SDK by tests/test_tail.py): a finished span with its context, BoundedAttributes and lock is ~3 KB
# before attribute values.
SPAN_BYTES = 3000
_ATTRIBUTE_BYTES = 64  # dict slot + value object; a string also counts its characters
_EVENT_BYTES = 700
_LINK_BYTES = 300


def attributes_of(span: ReadableSpan) -> Mapping[str, AttributeValue]:
    """The span's attributes (read-only by convention), without the per-access proxy and copies."""
    attributes = span._attributes
    if type(attributes) is BoundedAttributes:
        inner = getattr(attributes, "_dict", None)
        if type(inner) is dict:
            return inner
    elif type(attributes) is dict:  # a span built with ReadableSpan(attributes={...})
        return attributes
    if attributes is None:
        return _EMPTY
    return span.attributes or _EMPTY


def events_of(span: ReadableSpan) -> Collection[Event]:
    """The span's events; a finished span's no longer change."""
    events = span._events
    if type(events) is BoundedList:
        inner = getattr(events, "_dq", None)
        if inner is not None:
            return inner  # type: ignore[no-any-return]
    return span.events


def links_of(span: ReadableSpan) -> Collection[Link]:
    """The span's links; a finished span's no longer change."""
    links = span._links
    if type(links) is BoundedList:
        inner = getattr(links, "_dq", None)
        if inner is not None:
            return inner  # type: ignore[no-any-return]
    return span.links


def estimate_bytes(span: ReadableSpan) -> int:
    """A cheap upper estimate of the memory a finished SDK span holds on to.

    Runs for every buffered span on the application thread: the reads above are inlined.
    """
    size = SPAN_BYTES
    attributes: Mapping[str, AttributeValue] | None = span._attributes
    if type(attributes) is BoundedAttributes:
        inner = getattr(attributes, "_dict", None)
        if type(inner) is dict:
            attributes = inner
    elif type(attributes) is not dict:
        attributes = attributes_of(span)
    if attributes:
        size += len(attributes) * _ATTRIBUTE_BYTES
        for value in attributes.values():
            if type(value) is str:
                size += len(value)
    events = span._events
    events = getattr(events, "_dq", events) if type(events) is BoundedList else events_of(span)
    if events:
        for event in events:
            size += _EVENT_BYTES
            event_attributes = event.attributes
            if event_attributes:
                size += len(event_attributes) * _ATTRIBUTE_BYTES
                for value in event_attributes.values():
                    if type(value) is str:
                        size += len(value)
    links = span._links
    links = getattr(links, "_dq", links) if type(links) is BoundedList else links_of(span)
    return size + len(links) * _LINK_BYTES if links else size
