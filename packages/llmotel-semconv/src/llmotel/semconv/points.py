"""Metric points recorded when a metric reader collects, instead of on the caller's thread.

An OpenTelemetry SDK histogram ``record()`` cleans the point's attributes, builds a hash key from
them and offers the point to the exemplar reservoir: on SDK 1.45 that is ~7-16 µs in a loop, and
20-40 µs on the thread of an LLM call, whose caches the provider SDK's own work has just filled
with other things (three points measured 90 µs of a call's CPU there). A call hands its points
here instead (:func:`defer`: one append of what makes them), and the callback of an observable
instrument that observes nothing (:func:`watch` puts it on a meter) records them on the collecting
thread, before the collection reads the histograms: gathered by histogram and attribute set
(:class:`Points`), each set in one step into the SDK's aggregation where it allows it. The points
reach the collection they would have reached (values, attributes, exemplars of the calls' spans);
an exemplar's timestamp is the collection's instead of the call's, and when a View's
``attribute_keys`` merge two sets, a bucket's exemplar is the last of the set recorded last.

At most :data:`PENDING_BYTES` wait (4 MiB; a call's entry is ~0.5 KB, a stream's chunk 8 bytes
more: ~8000 calls, 130 calls/s under the SDK's default 60 s export interval). Past it :func:`defer`
records a call's points at once, which is also what happens when nothing ever collects (a global
provider never set). A call on an SDK ``MeterProvider`` that has no reader at the time
(``OTEL_METRICS_EXPORTER=none``) queues nothing (:func:`unread`): the SDK would drop its points.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, NoOpHistogram, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext

from llmotel.semconv._sdk_histograms import NO_SPAN, Run, record_many, unread
from llmotel.semconv.extensions import LLMOTEL_PENDING_POINTS

__all__ = [
    "CALL_BYTES",
    "NO_SPAN",
    "PENDING_BYTES",
    "AttributeSets",
    "Points",
    "defer",
    "exemplar_context",
    "pending",
    "record",
    "record_later",
    "unread",
    "watch",
]

_log = logging.getLogger(__name__)

#: Bytes of waiting entries, at most (as :func:`defer` is told them).
PENDING_BYTES: Final = 4 << 20
#: What one call's entry holds, about (its tuple, values and span context; measured: 520 bytes for a
#: call with three points, the attribute dicts being shared); a stream adds 8 bytes per chunk.
CALL_BYTES: Final = 512

# (points function, its arguments, their size in bytes)
_QUEUE: deque[tuple[Callable[..., None], tuple[Any, ...], int]] = deque()
_lock = threading.Lock()
_bytes = 0  # of _QUEUE's entries; changed under _lock


def _forget_in_child() -> None:
    """A forked child starts with nothing waiting: the parent's entries are the parent's to record
    (the child would count them a second time), and a lock another thread held stays held."""
    global _lock, _bytes
    _QUEUE.clear()
    _lock = threading.Lock()
    _bytes = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


class Points:
    """The points of one or many calls, gathered by histogram and attribute set, then recorded set
    by set (:meth:`record`): a set's values go into the SDK's aggregation in one step where it
    allows it, with the exemplars a ``record()`` per value gives (``_sdk_histograms``)."""

    __slots__ = ("_sets",)

    def __init__(self) -> None:
        # (id(histogram), id(attributes)) -> (histogram, attributes, values, their spans' runs);
        # the attribute dicts are the emitters' shared ones, so one set is one dict
        self._sets: dict[tuple[int, int], tuple[Histogram, dict[str, Any], list[float], list[Run]]]
        self._sets = {}

    def add(
        self,
        histogram: Histogram,
        value: float,
        attributes: dict[str, Any],
        span_context: SpanContext | None,
    ) -> None:
        """A point of ``histogram`` (its exemplar names ``span_context``'s span, if any)."""
        self.extend(histogram, (value,), attributes, span_context)

    def extend(
        self,
        histogram: Histogram,
        values: Iterable[float],
        attributes: dict[str, Any],
        span_context: SpanContext | None,
    ) -> None:
        """Points of ``histogram``, all of one span."""
        found = self._sets.get((id(histogram), id(attributes)))
        if found is None:
            found = self._sets[(id(histogram), id(attributes))] = (histogram, attributes, [], [])
        _, _, all_values, runs = found
        all_values.extend(values)
        if runs and runs[-1][1] is span_context:
            runs[-1] = (len(all_values), span_context)
        else:
            runs.append((len(all_values), span_context))

    def record(self) -> None:
        """Record every point added so far; a set that fails does not stop the others."""
        sets, self._sets = self._sets, {}
        for histogram, attributes, values, runs in sets.values():
            try:
                record_many(histogram, values, attributes, runs, exemplar_context)
            except Exception:  # noqa: BLE001
                _log.debug("llmotel: recording deferred metric points failed", exc_info=True)


class AttributeSets:
    """One attribute dict per distinct combination of values of ``keys`` (a value ``None`` leaves
    its key out), made once and shared: :class:`Points` gathers a collection's points by attribute
    dict, so calls with equal attributes should pass the same one. At most ``limit`` are kept;
    past that a new combination gets a dict of its own each time."""

    __slots__ = ("_keys", "_limit", "_sets")

    def __init__(self, keys: Sequence[str], limit: int = 1024) -> None:
        self._keys = tuple(keys)
        self._limit = limit
        self._sets: dict[tuple[Any, ...], dict[str, Any]] = {}

    def get(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """The attributes ``keys`` → ``values`` (must not be changed)."""
        found = self._sets.get(values)
        if found is None:
            found = {k: v for k, v in zip(self._keys, values, strict=True) if v is not None}
            if len(self._sets) < self._limit:
                self._sets[values] = found
        return found


def defer(points: Callable[..., None], args: tuple[Any, ...], size: int) -> None:
    """Have ``points(p, *args)`` add a call's points to the :class:`Points` ``p`` of the next
    collection (``size``: what the entry holds, in bytes, about); past :data:`PENDING_BYTES` of
    waiting entries it is done, and its points recorded, now."""
    global _bytes
    with _lock:
        if _bytes + size <= PENDING_BYTES:
            _bytes += size
            _QUEUE.append((points, args, size))
            return
    now = Points()
    points(now, *args)
    now.record()


def record_later(
    histogram: Histogram,
    value: float,
    attributes: dict[str, Any],
    span_context: SpanContext | None,
) -> None:
    """One point, recorded at the next collection in the context of ``span_context`` (or now, when
    the queue is full). ``attributes`` must not change afterwards."""
    if isinstance(histogram, NoOpHistogram) or unread(histogram):
        return
    defer(_one_point, (histogram, value, attributes, span_context), CALL_BYTES)


def _one_point(
    points: Points,
    histogram: Histogram,
    value: float,
    attributes: dict[str, Any],
    span_context: SpanContext | None,
) -> None:
    points.add(histogram, value, attributes, span_context)


def record() -> None:
    """Record every point queued so far (what a collection does first)."""
    global _bytes
    queue = _QUEUE
    gathered = Points()
    # Only what is queued now: calls that keep arriving do not hold the collection here.
    for _ in range(len(queue)):
        try:
            points, args, size = queue.popleft()
        except IndexError:  # another reader's collection took it
            break
        with _lock:
            _bytes -= size
        try:
            points(gathered, *args)
        except Exception:  # noqa: BLE001
            _log.debug("llmotel: gathering deferred metric points failed", exc_info=True)
    gathered.record()


def pending() -> int:
    """How many entries (calls) wait for a collection."""
    return len(_QUEUE)


def exemplar_context(span_context: SpanContext | None) -> Context:
    """The context to record a deferred point in: the span's identity (its exemplar names the span;
    a queued entry holds no span, which could be large), or :data:`NO_SPAN`."""
    if span_context is None:
        return NO_SPAN
    return trace.set_span_in_context(NonRecordingSpan(span_context), NO_SPAN)


def _on_collect(options: CallbackOptions) -> Iterable[Observation]:
    record()
    return ()


def watch(meter: Meter) -> None:
    """Have every collection of ``meter``'s provider record the queued points first. Each meter that
    points are deferred for needs it once; a meter's provider may record points of other providers'
    instruments, which then reach those providers' next collections."""
    # The callback is module-level: the SDK hands a meter asked twice for an instrument of the same
    # name the first one, with that one's callbacks.
    meter.create_observable_gauge(
        LLMOTEL_PENDING_POINTS,
        callbacks=[_on_collect],
        description="Never has data: collecting it records the metric points llmotel deferred.",
    )
