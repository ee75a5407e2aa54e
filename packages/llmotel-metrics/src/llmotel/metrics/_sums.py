"""Monotonic sums kept in a dict and reported through an ObservableCounter.

``Counter.add`` in the OpenTelemetry SDK validates and hashes the attributes of every measurement
(~10 µs each); a span adds up to five cost series. Adding to a dict under a lock costs well under a
microsecond, and the SDK reads the sums once per collection through the counter's callback, where
Views (attribute filter, cardinality limit) and temporality conversion apply as for any counter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Final

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.util.types import AttributeValue

__all__ = ["AttributeKey", "Sums"]

_Key = tuple[tuple[str, AttributeValue], ...]
#: An attribute set as ``tuple(mapping.items())``: hashable, built once per span.
AttributeKey = _Key
#: Where sums go once ``limit`` attribute sets exist (same attribute as the SDK's own overflow).
_OVERFLOW: Final[_Key] = (("otel.metric.overflow", True),)


class Sums:
    """A cumulative sum per attribute set, observed by an ``ObservableCounter`` on ``meter``.

    At most ``limit`` distinct attribute sets are kept; later ones are added to one overflow set
    (``otel.metric.overflow=true``) so memory stays bounded and totals stay right.
    """

    def __init__(
        self, meter: Meter, name: str, *, unit: str, description: str, limit: int = 2000
    ) -> None:
        self._sums: dict[_Key, float] = {}
        self._lock = threading.Lock()
        self._limit = limit
        meter.create_observable_counter(
            name, callbacks=[self._observe], unit=unit, description=description
        )

    def add(self, value: float, attributes: Mapping[str, AttributeValue]) -> None:
        """Add ``value`` to the sum of ``attributes`` (keys in a stable order, hashable values)."""
        key = tuple(attributes.items())
        sums = self._sums
        with self._lock:
            if key not in sums and len(sums) >= self._limit:
                key = _OVERFLOW
            sums[key] = sums.get(key, 0) + value

    def add_parts(
        self, attributes: _Key, label: str, parts: Iterable[tuple[AttributeValue, float]]
    ) -> None:
        """Add each ``(value of label, amount)`` of ``parts`` to the set ``attributes`` + label.

        ``attributes`` is ``tuple(mapping.items())``, built once for all parts; one lock for all.
        """
        sums = self._sums
        limit = self._limit
        with self._lock:
            for part, value in parts:
                key = (*attributes, (label, part))
                if key not in sums and len(sums) >= limit:
                    key = _OVERFLOW
                sums[key] = sums.get(key, 0) + value

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._sums.items())
        return [Observation(value, dict(key)) for key, value in items]
