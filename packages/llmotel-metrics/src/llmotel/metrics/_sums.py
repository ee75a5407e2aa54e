"""Monotonic sums kept in a dict and reported through an ObservableCounter.

``Counter.add`` in the OpenTelemetry SDK validates and hashes the attributes of every measurement
(~10 µs each); a span adds up to five cost series. Adding to a dict under a lock costs well under a
microsecond, and the SDK reads the sums once per collection through the counter's callback, where
Views (attribute filter, cardinality limit) and temporality conversion apply as for any counter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.util.types import AttributeValue

__all__ = ["AttributeKey", "Cell", "Sums"]

_Key = tuple[tuple[str, AttributeValue], ...]
#: An attribute set as ``tuple(mapping.items())``: hashable, built once per span.
AttributeKey = _Key
#: Where sums go once ``limit`` attribute sets exist (same attribute as the SDK's own overflow).
_OVERFLOW: Final[_Key] = (("otel.metric.overflow", True),)


#: One running sum, ``[value]``.
Cell = list[float]


class Sums:
    """A cumulative sum per attribute set, observed by an ``ObservableCounter`` on ``meter``.

    At most ``limit`` distinct attribute sets are kept; later ones are added to one overflow set
    (``otel.metric.overflow=true``) so memory stays bounded and totals stay right.
    """

    def __init__(
        self, meter: Meter, name: str, *, unit: str, description: str, limit: int = 2000
    ) -> None:
        self._sums: dict[_Key, Cell] = {}
        self._lock = threading.Lock()
        self._limit = limit
        meter.create_observable_counter(
            name, callbacks=[self._observe], unit=unit, description=description
        )

    def _cell_locked(self, key: _Key) -> Cell:
        sums = self._sums
        cell = sums.get(key)
        if cell is None:
            if len(sums) >= self._limit:
                key = _OVERFLOW
                cell = sums.get(key)
            if cell is None:
                cell = sums[key] = [0]
        return cell

    def add(self, value: float, attributes: Mapping[str, AttributeValue]) -> None:
        """Add ``value`` to the sum of ``attributes`` (keys in a stable order, hashable values)."""
        key = tuple(attributes.items())
        with self._lock:
            self._cell_locked(key)[0] += value

    def add_each(
        self, keys: Sequence[_Key], cells: list[Cell | None], amounts: Iterable[float]
    ) -> None:
        """Add the i-th of ``amounts`` to the set ``keys[i]``, under one lock; zeros add no set.

        ``cells`` (as long as ``keys``, ``None`` at first) is the caller's memo of the sums of
        ``keys``, filled in here: a caller that adds to the same sets again and again keeps it and
        skips hashing the sets (tuples of tuples, whose hash Python does not cache).
        """
        with self._lock:
            for index, amount in enumerate(amounts):
                if amount:
                    cell = cells[index]
                    if cell is None:
                        cell = cells[index] = self._cell_locked(keys[index])
                    cell[0] += amount

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = [(key, cell[0]) for key, cell in self._sums.items()]
        return [Observation(value, dict(key)) for key, value in items]
