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
