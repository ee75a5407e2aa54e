"""Fast read access to finished spans for the hot path."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.util.types import AttributeValue

_EMPTY: Mapping[str, AttributeValue] = MappingProxyType({})


def attributes_of(span: ReadableSpan) -> Mapping[str, AttributeValue]:
    """The span's attributes, read-only by convention, without the SDK's per-access copies.

    ``ReadableSpan.attributes`` wraps them in a new proxy each time and ``BoundedAttributes``
    answers ``get``/``values`` through the generic ``Mapping`` mixins (a raised ``KeyError`` per
    missing key): its plain inner dict is several times cheaper to read.
    """
    attributes = span._attributes
    if attributes is None:
        return _EMPTY
    inner = getattr(attributes, "_dict", None)
    if type(inner) is dict:
        return inner
    return attributes
