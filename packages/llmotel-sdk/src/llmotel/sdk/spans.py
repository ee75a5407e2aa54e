"""Fast, read-only access to a finished span's attributes: the one place llmotel reads an SDK private.

Span processors that run on the application thread for every span (llmotel-metrics' token/cost
processor, llmotel-sampling's tail policies) read a dozen attribute keys per span.
``ReadableSpan.attributes`` is a ``MappingProxyType`` over the SDK's ``BoundedAttributes``, whose
``get`` goes three Python calls deep (the ``Mapping`` mixin, ``__getitem__``, the lock-free dict
read): about 0.4 µs a key, more for a missing one. Once a span has ended its ``BoundedAttributes``
is immutable, so its inner dict can be read directly, never written.

:func:`finished_attributes` does exactly that when the span is the SDK's own, ended and the
structure is the one it was written against (``BoundedAttributes`` with an ``_immutable`` flag set
and a plain ``dict`` in ``_dict``: SDK 1.40 to 1.x, tested on the oldest and newest supported
versions). For anything else — another ``ReadableSpan`` implementation, a span still recording, an
SDK whose internals moved — it returns the public ``span.attributes``, so a change in the SDK costs
speed, never correctness.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["finished_attributes"]


def finished_attributes(span: ReadableSpan) -> Mapping[str, Any] | None:
    """The attributes of an ended span, as the cheapest mapping to read (never to be mutated)."""
    bounded = getattr(span, "_attributes", None)
    if type(bounded) is BoundedAttributes and getattr(bounded, "_immutable", False):
        inner = getattr(bounded, "_dict", None)
        if type(inner) is dict:
            return inner
    return span.attributes
