"""``record_many`` gives exactly the points a ``record()`` per value gives, on the SDK this session
runs (1.45 in ``tests-semconv``, 1.40 in ``tests-semconv-oldest``), and takes its one-step path
where it says it does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    AlwaysOnExemplarFilter,
    MeterProvider,
    SimpleFixedSizeExemplarReservoir,
)
from opentelemetry.sdk.metrics import Histogram as SdkHistogram
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from opentelemetry.trace import SpanContext

from llmotel.semconv._sdk_histograms import record_many
from llmotel.semconv.inference import DURATION_BUCKETS
from llmotel.semconv.points import exemplar_context

from .conftest import Consumed, beside_threads

ATTRS: dict[str, Any] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "m",
    "server.address": "localhost",
    "server.port": 8080,
}
# A stream's gaps: most in (0.01, 0.02], some in (0, 0.01], two on a boundary, one long one, the
# last in the first bucket.
GAPS = [0.015] * 20 + [0.01, 0.02] + [0.004, 0.0125] * 10 + [0.5, 0.017, 0.002]

CHUNK = "gen_ai.client.operation.time_per_output_chunk"
_Reader = Callable[[], InMemoryMetricReader]
_DELTA = {SdkHistogram: AggregationTemporality.DELTA}


def _span_context(sampled: bool = True) -> SpanContext:
    tracer = TracerProvider(sampler=ALWAYS_ON if sampled else ALWAYS_OFF).get_tracer("t")
    return tracer.start_span("stream").get_span_context()


def _runs(
    values: Sequence[float], span_context: SpanContext | None | list[SpanContext | None]
) -> list[tuple[int, SpanContext | None]]:
    """The runs of one span (or of each value's own)."""
    if isinstance(span_context, list):
        return [(i + 1, sc) for i, sc in enumerate(span_context)]
    return [(len(values), span_context)]


def _record_many(
    histogram: Any,
    values: Sequence[float],
    attributes: dict[str, Any],
    span_context: SpanContext | None | list[SpanContext | None],
) -> None:
    record_many(histogram, values, attributes, _runs(values, span_context), exemplar_context)


def _record_each(
    histogram: Any,
    values: Sequence[float],
    attributes: dict[str, Any],
    span_context: SpanContext | None | list[SpanContext | None],
) -> None:
    start = 0
    for end, sc in _runs(values, span_context):
        for value in values[start:end]:
            histogram.record(value, attributes, exemplar_context(sc))
        start = end


def _points(reader: InMemoryMetricReader) -> list[tuple[Any, ...]]:
    """Every histogram point of a collection, with its exemplars (their timestamps aside)."""
    data = reader.get_metrics_data()
    found = []
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name.startswith("otel.sdk."):  # some SDKs measure their own readers
                    continue
                for p in metric.data.data_points:
                    exemplars = sorted(
                        (
                            e.value,
                            e.trace_id,
                            e.span_id,
                            tuple(sorted((e.filtered_attributes or {}).items())),
                        )
                        for e in p.exemplars
                    )
                    found.append(
                        (
                            metric.name,
                            tuple(sorted(p.attributes.items())),
                            p.count,
                            # the values are added in another order: the float sum may differ in
                            # its last bits
                            round(p.sum, 12),
                            getattr(p, "min", None),
                            getattr(p, "max", None),
                            tuple(getattr(p, "bucket_counts", ())),
                            tuple(getattr(p, "explicit_bounds", ())),
                            tuple(exemplars),
                        )
                    )
    return sorted(found)


def _both(
    views: Sequence[View] = (),
    readers: Sequence[_Reader] = (InMemoryMetricReader,),
    exemplar_filter: Any = None,
) -> tuple[tuple[Any, list[InMemoryMetricReader]], tuple[Any, list[InMemoryMetricReader]]]:
    """Two identical providers' histograms and readers: one for record_many, one for record()."""
    made = []
    for _ in range(2):
        rs = [make() for make in readers]
        extra = {} if exemplar_filter is None else {"exemplar_filter": exemplar_filter}
        provider = MeterProvider(metric_readers=rs, views=list(views), **extra)
        histogram = provider.get_meter("llmotel.test").create_histogram(
            CHUNK,
            unit="s",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        made.append((histogram, rs))
    return made[0], made[1]


def _same_points(
    values: Sequence[float],
    ctx: SpanContext | None | list[SpanContext | None],
    views: Sequence[View] = (),
    readers: Sequence[_Reader] = (InMemoryMetricReader,),
    rounds: int = 1,
    exemplar_filter: Any = None,
) -> list[list[tuple[Any, ...]]]:
    (many, many_readers), (one, one_readers) = _both(views, readers, exemplar_filter)
    collected = []
    for _ in range(rounds):
        _record_many(many, values, ATTRS, ctx)
        _record_each(one, values, ATTRS, ctx)
        for a, b in zip(many_readers, one_readers, strict=True):
            got, expected = _points(a), _points(b)
            assert got == expected
            collected.append(got)
    return collected


def test_same_points_and_exemplars_as_a_record_per_value() -> None:
    [[point]] = _same_points(GAPS, _span_context())
    _, _, count, total, low, high, buckets, bounds, exemplars = point
    assert count == len(GAPS)
    assert total == pytest.approx(sum(GAPS))
    assert (low, high) == (0.002, 0.5)
    assert bounds == tuple(DURATION_BUCKETS)
    assert buckets[:3] == (12, 32, 0)
    # the last value of each bucket: 0.002 in (0, 0.01], 0.017 in (0.01, 0.02], 0.5 in (0.32, 0.64]
    assert [e[0] for e in exemplars] == [0.002, 0.017, 0.5]


def test_one_step_records_only_the_exemplar_carriers_point_by_point(
    consumed: Consumed,
) -> None:
    seen = consumed(CHUNK)
    (histogram, [reader]), _ = _both()
    _record_many(histogram, GAPS, ATTRS, _span_context())
    assert sorted(seen) == [0.002, 0.017, 0.5]  # the 3 carriers; the other 40 in one step
    [point] = _points(reader)
    assert point[2] == len(GAPS)


def test_no_span_context_gives_no_exemplars() -> None:
    [[point]] = _same_points(GAPS, None)
    assert point[-1] == ()


# Many calls' points of one attribute set: spans sampled and not, and points with no span.
_MIXED = [_span_context(), _span_context(sampled=False), None]
MIXED_CONTEXTS = [_MIXED[i % 5 % 3] for i in range(len(GAPS))]


@pytest.mark.parametrize(
    ("exemplar_filter", "exemplar_values"),
    [
        (None, [0.004, 0.017]),  # the SDK's default: the last of a sampled span's
        (AlwaysOnExemplarFilter(), [0.002, 0.017, 0.5]),  # the last
        (AlwaysOffExemplarFilter(), []),
    ],
    ids=["trace-based", "always-on", "always-off"],
)
def test_points_of_many_spans_get_the_exemplars_each_filter_gives(
    exemplar_filter: Any, exemplar_values: list[float], consumed: Consumed
) -> None:
    seen = consumed(CHUNK)
    [[point]] = _same_points(GAPS, MIXED_CONTEXTS, exemplar_filter=exemplar_filter)
    assert point[2] == len(GAPS)
    assert [e[0] for e in point[-1]] == exemplar_values
    assert len(seen) <= 6 + len(GAPS)  # the one-step side consumed 6 at most: 2 per bucket


def test_a_filter_of_the_applications_own_gets_every_point(
    consumed: Consumed,
) -> None:
    class Big(AlwaysOnExemplarFilter):
        def should_sample(self, value: float, *args: Any) -> bool:
            return value > 0.1

    seen = consumed(CHUNK)
    [[point]] = _same_points(GAPS, MIXED_CONTEXTS, exemplar_filter=Big())
    assert [e[0] for e in point[-1]] == [0.5]
    assert len(seen) == 2 * len(GAPS)  # both sides point by point


def test_view_boundaries_and_attribute_keys() -> None:
    view = View(
        instrument_name=CHUNK,
        aggregation=ExplicitBucketHistogramAggregation([0.005, 0.0130, 0.1]),
        attribute_keys={"gen_ai.request.model"},
    )
    [[point]] = _same_points(GAPS, _span_context(), views=[view])
    assert point[1] == (("gen_ai.request.model", "m"),)
    assert point[6] == (11, 11, 22, 1)
    # the exemplars keep what the view dropped
    assert ("gen_ai.provider.name", "openai") in point[-1][0][3]


def test_two_views_with_different_boundaries_each_get_their_buckets_last_values() -> None:
    views = [
        View(
            instrument_name=CHUNK, name="a", aggregation=ExplicitBucketHistogramAggregation([0.013])
        ),
        View(
            instrument_name=CHUNK, name="b", aggregation=ExplicitBucketHistogramAggregation([0.016])
        ),
    ]
    [points] = _same_points(GAPS, _span_context(), views=views)
    assert {p[0]: [e[0] for e in p[-1]] for p in points} == {
        "a": [0.002, 0.017],
        "b": [0.002, 0.017],
    }


def test_a_delta_and_a_cumulative_reader_across_collections() -> None:
    readers: list[_Reader] = [InMemoryMetricReader, lambda: InMemoryMetricReader(_DELTA)]
    collected = _same_points(GAPS, _span_context(), readers=readers, rounds=3)
    cumulative = [c[0][2] for c in collected[0::2]]
    delta = [c[0][2] for c in collected[1::2]]
    assert cumulative == [45, 90, 135]
    assert delta == [45, 45, 45]


@pytest.mark.parametrize(
    "view",
    [
        View(instrument_name="*", aggregation=ExponentialBucketHistogramAggregation()),
        View(
            instrument_name="*",
            aggregation=ExplicitBucketHistogramAggregation([0.01]),
            exemplar_reservoir_factory=lambda aggregation: lambda **_: SimpleFixedSizeExemplarReservoir(),
        ),
    ],
    ids=["exponential", "another-reservoir"],
)
def test_what_a_view_chose_instead_is_recorded_point_by_point(
    view: View, consumed: Consumed
) -> None:
    seen = consumed(CHUNK)
    (histogram, [reader]), _ = _both([view])
    _record_many(histogram, GAPS, ATTRS, None)
    assert len(seen) == len(GAPS)
    [point] = _points(reader)
    assert point[2] == len(GAPS)


def test_values_the_sdk_rejects_are_its_to_reject() -> None:
    _same_points([0.01, -1.0, 0.02, 0.03], _span_context())
    _same_points([0.01, 0.02, float("inf"), 0.03], None)


def test_overflow_past_the_cardinality_limit() -> None:
    # One attribute set is allowed; the second goes to the overflow point, on both paths alike.
    try:
        readers: list[_Reader] = [
            lambda: InMemoryMetricReader(cardinality_limits={SdkHistogram: 1})  # type: ignore[call-arg]
        ]
        readers[0]()
    except TypeError:
        pytest.skip("this SDK has no cardinality limit (1.45 has)")
    (many, [a]), (one, [b]) = _both(readers=readers)
    ctx = _span_context()
    for attrs in (ATTRS, {**ATTRS, "gen_ai.request.model": "other"}):
        _record_many(many, GAPS, attrs, ctx)
        _record_each(one, GAPS, attrs, ctx)
    got = _points(a)
    assert got == _points(b)
    assert {p[1] for p in got} == {tuple(sorted(ATTRS.items())), (("otel.metric.overflow", True),)}
    assert sum(p[2] for p in got) == 2 * len(GAPS)


def test_threads_recording_while_a_delta_reader_collects_lose_nothing() -> None:
    # Values exact in binary floating point: the sums are exact whatever the order.
    values = [(i % 7 + 1) / 256 for i in range(50)]
    reader = InMemoryMetricReader(_DELTA)
    provider = MeterProvider(metric_readers=[reader])
    histogram = provider.get_meter("t").create_histogram(
        "h", explicit_bucket_boundaries_advisory=DURATION_BUCKETS
    )
    counts: list[int] = []
    sums: list[float] = []

    def collect(last: bool) -> None:
        for point in _points(reader):
            counts.append(point[2])
            sums.append(point[3])

    ctx = _span_context()

    def work() -> None:
        for _ in range(150):
            _record_many(histogram, values, ATTRS, ctx)

    beside_threads(work, 8, collect)
    assert sum(counts) == 8 * 150 * 50
    assert sum(sums) == 8 * 150 * sum(values)
