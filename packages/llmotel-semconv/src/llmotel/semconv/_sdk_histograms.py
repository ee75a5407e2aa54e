"""Many values of one histogram point set recorded at once into the OpenTelemetry SDK's aggregation.

A stream's ``gen_ai.client.operation.time_per_output_chunk`` is one point per chunk: ~50 points of
the same attributes, each of which the SDK's ``Histogram.record`` would clean, hash into a key and
offer to the exemplar reservoir (~11-14 µs a point on SDK 1.45). :func:`record_many` records them
as the SDK would, with one key per point set instead of one per point:

- in each bucket the last value, and the last one of a sampled span, go through the public
  ``record()`` (in order): the explicit-bucket reservoir keeps the last point offered in each
  bucket, so the exemplars are what a ``record()`` per value gives, and the aggregation for the
  attributes exists afterwards;
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
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from time import time_ns
from typing import Any, Final, NamedTuple

from opentelemetry.context import Context
from opentelemetry.metrics import Histogram
from opentelemetry.trace import SpanContext

__all__ = ["NO_SPAN", "Run", "record_many", "unread"]

#: A context without a span: a point recorded in it offers no exemplar of a span.
NO_SPAN: Final = Context()


def unread(instrument: Any) -> bool:
    """Whether nothing reads what ``instrument`` (an SDK instrument, or an SDK meter) records now:
    its provider has no metric reader at the moment (``OTEL_METRICS_EXPORTER=none``), so the SDK
    drops a measurement. ``False`` for anything else (an API proxy, another SDK)."""
    consumer = getattr(instrument, "_measurement_consumer", None)
    storages = getattr(consumer, "_reader_storages", None)  # reader -> its storage
    return isinstance(storages, dict) and not storages


class _Sdk(NamedTuple):
    """What this module reads of the SDK, resolved on first use."""

    histogram: type[Any]
    measurement: type[Any]
    bucket_aggregation: type[Any]  # the explicit-bucket aggregation
    aligned_reservoir: type[Any]  # its default exemplar reservoir
    key_of: Callable[[dict[str, Any]], Any]  # the key of an attribute set's aggregation
    filters: tuple[type[Any], ...]  # the exemplar filters whose choice is known


_known: _Sdk | None | bool = False  # False: not resolved yet; None: no SDK this module knows


def _resolve() -> _Sdk | None:
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
    return _Sdk(
        _Histogram,
        Measurement,
        _ExplicitBucketHistogramAggregation,
        AlignedHistogramBucketExemplarReservoir,
        key,
        (AlwaysOnExemplarFilter, AlwaysOffExemplarFilter, TraceBasedExemplarFilter),
    )


def _frozen_items(attributes: dict[str, Any]) -> frozenset[tuple[str, Any]]:
    return frozenset(attributes.items())


def _sdk() -> _Sdk | None:
    global _known
    if _known is False:
        _known = _resolve()
    return _known  # type: ignore[return-value]


#: ``(end, span_context)``: the values before index ``end`` (and after the previous run's end) are
#: points of that span (``None``: of no span).
Run = tuple[int, SpanContext | None]


def record_many(
    histogram: Histogram,
    values: Sequence[float],
    attributes: dict[str, Any],
    runs: Sequence[Run],
    context_of: Callable[[SpanContext | None], Context],
) -> None:
    """Record each of ``values`` as a point of ``histogram`` with ``attributes``, in the context
    ``context_of`` gives for its run's span (what a ``record()`` per value does), in one step where
    the SDK's aggregation allows it. ``attributes`` must not change afterwards."""
    if not values:
        return
    known = _sdk()
    views = _views(histogram, known) if known is not None and len(values) > 2 else None
    total = sum(values)
    if views is None or not (math.isfinite(total) and min(values) >= 0.0):  # NaN fails both
        start = 0
        for end, span_context in runs:
            ctx = context_of(span_context)
            for value in values[start:end]:
                histogram.record(value, attributes, ctx)
            start = end
        return
    assert known is not None
    ordered = sorted(values)
    counts = {b: _bucket_counts(ordered, b) for b in {v._aggregation._boundaries for v in views}}
    carriers = _carriers(values, runs, counts)
    ends = [end for end, _ in runs]
    for i in sorted(carriers):
        histogram.record(values[i], attributes, context_of(runs[bisect_right(ends, i)][1]))
    if len(carriers) == len(values):
        return
    for boundaries, bucket_counts in counts.items():  # what the carriers added already
        for i in carriers:
            bucket_counts[bisect_left(boundaries, values[i])] -= 1
    rest = _Rest(total - sum(values[i] for i in carriers), ordered[0], ordered[-1], counts)
    target = histogram if type(histogram) is known.histogram else histogram._real_instrument  # type: ignore[attr-defined]
    for view in views:
        keys = view._view._attribute_keys
        kept = attributes if keys is None else {k: v for k, v in attributes.items() if k in keys}
        lock = view._lock if getattr(view, "_reset_on_collect", False) else contextlib.nullcontext()
        with lock:
            aggregation = view._attributes_aggregation.get(known.key_of(kept))
            added = aggregation is not None and _add(aggregation, rest, kept, known)
        if not added:  # e.g. the carriers went to the overflow point: this view's own way
            now = time_ns()
            for i, value in enumerate(values):
                if i not in carriers:
                    view.consume_measurement(
                        known.measurement(value, now, target, NO_SPAN, attributes), False
                    )


def _bucket_counts(ordered: list[float], boundaries: tuple[float, ...]) -> list[int]:
    """How many of ``ordered`` (sorted) fall in each bucket: ``(b[i-1], b[i]]``, as the SDK
    buckets a value (``bisect_left(boundaries, value)``)."""
    counts = []
    below = 0
    for bound in boundaries:
        upto = bisect_right(ordered, bound)
        counts.append(upto - below)
        below = upto
    counts.append(len(ordered) - below)
    return counts


def _carriers(
    values: Sequence[float], runs: Sequence[Run], counts: dict[tuple[float, ...], list[int]]
) -> set[int]:
    """The values that carry the exemplars: in each bucket of every view's boundaries the last
    value and the last one of a sampled span (the SDK's filters offer all, none, or those of
    sampled spans; the explicit-bucket reservoir keeps the last offered). Read from the end, until
    every bucket that has values has both."""
    carriers: set[int] = set()
    for boundaries, bucket_counts in counts.items():
        filled = sum(1 for c in bucket_counts if c)
        seen: set[int] = set()
        sampled: set[int] = set()
        for r in range(len(runs) - 1, -1, -1):
            end, span_context = runs[r]
            start = runs[r - 1][0] if r else 0
            of_sampled = span_context is not None and span_context.trace_flags.sampled
            if len(seen) == filled and (not of_sampled or len(sampled) == filled):
                if len(sampled) == filled:
                    break
                continue  # this run can carry nothing more
            for i in range(end - 1, start - 1, -1):
                bucket = bisect_left(boundaries, values[i])
                if bucket not in seen:
                    seen.add(bucket)
                    carriers.add(i)
                if of_sampled and bucket not in sampled:
                    sampled.add(bucket)
                    carriers.add(i)
                if len(seen) == filled and (not of_sampled or len(sampled) == filled):
                    break
    return carriers


class _Rest(NamedTuple):
    """What the values other than the carriers add to an aggregation."""

    total: float
    minimum: float  # of all the values: the carriers are in the same aggregation
    maximum: float
    counts: dict[tuple[float, ...], list[int]]  # per boundaries


def _views(histogram: Histogram, known: _Sdk) -> list[Any] | None:
    """The SDK's view matches that ``histogram``'s points go to, one per reader and view; ``None``
    unless every one is an explicit-bucket aggregation with its default reservoir and the provider's
    exemplar filter is one of the SDK's."""
    target: Any = histogram
    if type(target) is not known.histogram:  # the API's proxy, once a provider is set
        target = getattr(target, "_real_instrument", None)
        if type(target) is not known.histogram:
            return None
    try:
        enabled = getattr(target, "_is_enabled", None)  # SDK 1.45: a meter configured off
        if enabled is not None and not enabled():
            return None
        consumer = target._measurement_consumer
        if type(consumer._sdk_config.exemplar_filter) not in known.filters:
            return None  # a filter of the application's: its choice is unknown
        storages = consumer._reader_storages.values()
        views = [m for s in storages for m in s._get_or_init_view_instrument_match(target)]
    except AttributeError:
        return None
    for view in views:
        template = getattr(view, "_aggregation", None)
        if type(template) is not known.bucket_aggregation:
            return None
        if type(getattr(template, "_reservoir", None)) is not known.aligned_reservoir:
            return None
        if not hasattr(view, "_attributes_aggregation") or not hasattr(view, "_lock"):
            return None
    return views or None


def _add(aggregation: Any, rest: _Rest, attributes: dict[str, Any], known: _Sdk) -> bool:
    """Add ``rest`` to an explicit-bucket aggregation's counts, sum, min and max; ``False`` (and
    nothing added) unless it is the one for ``attributes`` and has the fields this module knows."""
    if type(aggregation) is not known.bucket_aggregation or aggregation._attributes != attributes:
        return False
    try:
        counts = rest.counts.get(aggregation._boundaries)
        record_min_max = aggregation._record_min_max
        lock = aggregation._lock
    except AttributeError:
        return False
    if counts is None:
        return False
    with lock:
        value = aggregation._value
        if value is None:
            value = aggregation._value = aggregation._get_empty_bucket_counts()
        for bucket, count in enumerate(counts):
            if count:
                value[bucket] += count
        aggregation._sum += rest.total
        if record_min_max:
            aggregation._min = min(aggregation._min, rest.minimum)
            aggregation._max = max(aggregation._max, rest.maximum)
    return True
