"""Metric points recorded when a metric reader collects, instead of on the caller's thread.

An OpenTelemetry SDK histogram ``record()`` cleans the point's attributes, builds a hash key from
them and offers the point to the exemplar reservoir: on SDK 1.45 that is ~7-16 µs in a loop, and
20-40 µs on the thread of an LLM call, whose caches the provider SDK's own work has just filled
with other things (three points measured 90 µs of a call's CPU there). A call hands its points
here instead (:func:`defer`: one append of what :func:`record` functions need), and the callback of
an observable instrument that observes nothing (:func:`watch` puts it on a meter) records them, in
a loop, on the collecting thread, before the collection reads the histograms. The points reach the
collection they would have reached (values, attributes, exemplars of the call's span); an
exemplar's timestamp is the collection's instead of the call's.

At most :data:`PENDING_BYTES` wait (4 MiB; a call's entry is ~0.5 KB, a stream's chunk 8 bytes
more: ~8000 calls, 130 calls/s under the SDK's default 60 s export interval). Past it :func:`defer`
says no and the caller records now, which is also what happens when nothing ever collects (an SDK
``MeterProvider`` without readers, or a global one never set).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, NoOpHistogram, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext

from llmotel.semconv.extensions import LLMOTEL_PENDING_POINTS

__all__ = [
    "CALL_BYTES",
    "NO_SPAN",
    "PENDING_BYTES",
    "defer",
    "exemplar_context",
    "pending",
    "record",
    "record_later",
    "watch",
]

_log = logging.getLogger(__name__)

#: Bytes of waiting entries, at most (as :func:`defer` is told them).
PENDING_BYTES: Final = 4 << 20
#: What one call's entry holds, about (its tuple, values and span context; measured: 520 bytes for a
#: call with three points, the attribute dicts being shared); a stream adds 8 bytes per chunk.
CALL_BYTES: Final = 512
#: A context without a span: a point recorded in it offers no exemplar of a span.
NO_SPAN: Final = Context()

# (record function, its arguments, their size in bytes)
_QUEUE: deque[tuple[Callable[..., None], tuple[Any, ...], int]] = deque()
_lock = threading.Lock()
_bytes = 0  # of _QUEUE's entries; changed under _lock


def defer(record_points: Callable[..., None], args: tuple[Any, ...], size: int) -> bool:
    """Queue ``record_points(*args)`` for the next collection (``size``: what the entry holds, in
    bytes, about); ``False`` when that would pass :data:`PENDING_BYTES`: then record them now."""
    global _bytes
    with _lock:
        if _bytes + size > PENDING_BYTES:
            return False
        _bytes += size
        _QUEUE.append((record_points, args, size))
    return True


def record_later(
    histogram: Histogram,
    value: float,
    attributes: dict[str, Any],
    span_context: SpanContext | None,
) -> None:
    """One point, recorded at the next collection in the context of ``span_context`` (or now, when
    the queue is full). ``attributes`` must not change afterwards."""
    args = (histogram, value, attributes, span_context)
    if isinstance(histogram, NoOpHistogram) or not defer(_record_one, args, CALL_BYTES):
        _record_one(*args)


def _record_one(
    histogram: Histogram,
    value: float,
    attributes: dict[str, Any],
    span_context: SpanContext | None,
) -> None:
    histogram.record(value, attributes, exemplar_context(span_context))


def record() -> None:
    """Record every point queued so far (what a collection does first)."""
    global _bytes
    queue = _QUEUE
    # Only what is queued now: calls that keep arriving do not hold the collection here.
    for _ in range(len(queue)):
        try:
            record_points, args, size = queue.popleft()
        except IndexError:  # another reader's collection took it
            return
        with _lock:
            _bytes -= size
        try:
            record_points(*args)
        except Exception:  # noqa: BLE001
            _log.debug("llmotel: recording deferred metric points failed", exc_info=True)


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
