"""Many values of one histogram point set recorded at once into the OpenTelemetry SDK's aggregation.

A stream's ``gen_ai.client.operation.time_per_output_chunk`` is one point per chunk: ~50 points of
the same attributes, each of which the SDK's ``Histogram.record`` would clean, hash into a key and
offer to the exemplar reservoir (~11-14 µs a point on SDK 1.45). :func:`record_many` records them
as the SDK would, with one key per point set instead of one per point:

- the last value of each bucket goes through the public ``record()`` (in order): the explicit-bucket
  reservoir keeps the last point offered in each bucket, so the exemplars are what a ``record()``
  per value gives, and the aggregation for the attributes exists afterwards;
- the other values are added to that aggregation's bucket counts, sum, min and max under its own
  lock (and, for a delta reader that drops its aggregations at collection, under the lock the
  SDK's own ``consume_measurement`` takes for that).

This module is the only one in llmotel that reads SDK metric internals (``llmotel.sdk.spans`` is
the one for span internals). It knows SDK 1.40-1.45; anything it does not recognise -- another SDK,
an aggregation a View chose (exponential, sum, last value), a reservoir a View chose, a key it
cannot find (the cardinality limit's overflow point), a value the SDK would reject -- is recorded
value by value through the public ``record()`` or, for one reader's view, through that view's own
``consume_measurement``. Either way the points are the same.
"""

from __future__ import annotations

import contextlib
import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from time import time_ns
from typing import Any, Final

from opentelemetry.context import Context
from opentelemetry.metrics import Histogram
from opentelemetry.trace import SpanContext

__all__ = ["record_many"]

_NO_SPAN: Final = Context()

# What the SDK names what is read here, resolved on first use: (histogram class, measurement class,
# explicit-bucket aggregation class, its exemplar reservoir class, the attribute key of an
# aggregation, the exemplar filters whose choice is known); None when the SDK is absent or not one
# this module knows.
_Known = tuple[
    type[Any],
    type[Any],
    type[Any],
    type[Any],
    Callable[[dict[str, Any]], Any],
    tuple[type[Any], ...],
]
_known: _Known | None | bool = False  # False: not resolved yet


def _resolve() -> _Known | None:
    try:
        from opentelemetry.sdk.metrics._internal import _view_instrument_match as vim_module
        from opentelemetry.sdk.metrics._internal.aggregation import (
            _ExplicitBucketHistogramAggregation,
        )
        from opentelemetry.sdk.metrics._internal.exemplar import (
            AlignedHistogramBucketExemplarReservoir,
            AlwaysOffExemplarFilter,
            AlwaysOnExemplarFilter,
            TraceBasedExemplarFilter,
        )
        from opentelemetry.sdk.metrics._internal.instrument import _Histogram
        from opentelemetry.sdk.metrics._internal.measurement import Measurement
    except ImportError:
        return None
    # The key of an attribute set's aggregation: SDK 1.45 hashes the attributes, 1.40 freezes them.
    hash_attributes = getattr(vim_module, "_hash_attributes", None)
    key = hash_attributes if callable(hash_attributes) else _frozen_items
    return (
        _Histogram,
        Measurement,
        _ExplicitBucketHistogramAggregation,
        AlignedHistogramBucketExemplarReservoir,
        key,
        (AlwaysOnExemplarFilter, AlwaysOffExemplarFilter, TraceBasedExemplarFilter),
    )


def _frozen_items(attributes: dict[str, Any]) -> frozenset[tuple[str, Any]]:
    return frozenset(attributes.items())


def _sdk() -> _Known | None:
    global _known
    if _known is False:
        _known = _resolve()
    return _known  # type: ignore[return-value]


def record_many(
    histogram: Histogram,
    values: Sequence[float],
    attributes: dict[str, Any],
    span_contexts: Sequence[SpanContext | None],
    context_of: Callable[[SpanContext | None], Context],
) -> None:
    """``for v, sc in zip(values, span_contexts): histogram.record(v, attributes, context_of(sc))``,
    in one step where the SDK's aggregation allows it. ``attributes`` must not change afterwards."""
    known = _sdk()
    views = _views(histogram, known) if known is not None and len(values) > 2 else None
    if views is None or not all(0.0 <= v < math.inf for v in values):  # NaN fails both
        last: SpanContext | None | bool = False
        ctx = _NO_SPAN
        for value, span_context in zip(values, span_contexts, strict=True):
            if span_context is not last:
                ctx, last = context_of(span_context), span_context
            histogram.record(value, attributes, ctx)
        return
    assert known is not None
    sdk_histogram, measurement, _, _, key_of, _ = known
    # The values that carry the exemplars: in each bucket of every view's boundaries the last value
    # and the last one of a sampled span (the SDK's filters offer all, none, or those of sampled
    # spans; the reservoir keeps the last offered).
    carriers: set[int] = set()
    for boundaries in {v._aggregation._boundaries for v in views}:
        seen: set[int] = set()
        sampled: set[int] = set()
        for i in range(len(values) - 1, -1, -1):
            bucket = bisect_left(boundaries, values[i])
            if bucket not in seen:
                seen.add(bucket)
                carriers.add(i)
            if bucket not in sampled:
                span_context = span_contexts[i]
                if span_context is not None and span_context.trace_flags.sampled:
                    sampled.add(bucket)
                    carriers.add(i)
    for i in sorted(carriers):
        histogram.record(values[i], attributes, context_of(span_contexts[i]))
    rest = [v for i, v in enumerate(values) if i not in carriers]
    if not rest:
        return
    target = histogram if type(histogram) is sdk_histogram else histogram._real_instrument  # type: ignore[attr-defined]
    for view in views:
        keys = view._view._attribute_keys
        kept = attributes if keys is None else {k: v for k, v in attributes.items() if k in keys}
        lock = view._lock if getattr(view, "_reset_on_collect", False) else contextlib.nullcontext()
        with lock:
            aggregation = view._attributes_aggregation.get(key_of(kept))
            added = aggregation is not None and _add(aggregation, rest, kept, known)
        if not added:  # e.g. the carriers went to the overflow point: this view's own way
            now = time_ns()
            for value in rest:
                view.consume_measurement(
                    measurement(value, now, target, _NO_SPAN, attributes), False
                )


def _views(histogram: Histogram, known: _Known) -> list[Any] | None:
    """The SDK's view matches that ``histogram``'s points go to, one per reader and view; ``None``
    unless every one is an explicit-bucket aggregation with its default reservoir and the provider's
    exemplar filter is one of the SDK's."""
    sdk_histogram, _, bucket_aggregation, aligned_reservoir, _, filters = known
    target: Any = histogram
    if type(target) is not sdk_histogram:  # the API's proxy, once a provider is set
        target = getattr(target, "_real_instrument", None)
        if type(target) is not sdk_histogram:
            return None
    try:
        enabled = getattr(target, "_is_enabled", None)  # SDK 1.45: a meter configured off
        if enabled is not None and not enabled():
            return None
        consumer = target._measurement_consumer
        if type(consumer._sdk_config.exemplar_filter) not in filters:
            return None  # a filter of the application's: its choice is unknown
        storages = consumer._reader_storages.values()
        views = [m for s in storages for m in s._get_or_init_view_instrument_match(target)]
    except AttributeError:
        return None
    for view in views:
        template = getattr(view, "_aggregation", None)
        if type(template) is not bucket_aggregation:
            return None
        if type(getattr(template, "_reservoir", None)) is not aligned_reservoir:
            return None
        if not hasattr(view, "_attributes_aggregation") or not hasattr(view, "_lock"):
            return None
    return views or None


def _add(aggregation: Any, values: list[float], attributes: dict[str, Any], known: _Known) -> bool:
    """Add ``values`` to an explicit-bucket aggregation's counts, sum, min and max; ``False`` (and
    nothing added) unless it is the one for ``attributes`` and has the fields this module knows."""
    if type(aggregation) is not known[2] or aggregation._attributes != attributes:
        return False
    try:
        boundaries = aggregation._boundaries
        record_min_max = aggregation._record_min_max
        lock = aggregation._lock
    except AttributeError:
        return False
    with lock:
        counts = aggregation._value
        if counts is None:
            counts = aggregation._value = aggregation._get_empty_bucket_counts()
        total = aggregation._sum
        for value in values:
            counts[bisect_left(boundaries, value)] += 1
            total += value  # one at a time, as the SDK adds them: the same float sum
        aggregation._sum = total
        if record_min_max:
            aggregation._min = min(aggregation._min, min(values))
            aggregation._max = max(aggregation._max, max(values))
    return True
