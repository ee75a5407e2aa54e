"""Token-bucket rate limiting: as a tail policy and as a standalone processor."""

from __future__ import annotations

from collections import Counter

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer, set_span_in_context

from llmotel.sampling import RateLimitingSpanProcessor, RateLimitPolicy, TailSamplingProcessor
from llmotel.testing import metric_points


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _trace(tracer: Tracer, name: str, children: int = 2) -> None:
    root = tracer.start_span(name)
    for i in range(children):
        tracer.start_span(f"{name}/{i}", context=set_span_in_context(root)).end()
    root.end()


def _provider(processor: object) -> tuple[TracerProvider, Tracer]:
    provider = TracerProvider()
    provider.add_span_processor(processor)  # type: ignore[arg-type]
    return provider, provider.get_tracer("t")


def test_standalone_limiter_admits_whole_traces_per_second(
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    clock = _Clock()
    limiter = RateLimitingSpanProcessor(
        SimpleSpanProcessor(span_exporter),
        traces_per_second=2,
        meter_provider=meter_provider,
        clock=clock,
    )
    provider, tracer = _provider(limiter)
    for i in range(5):
        _trace(tracer, f"first-second-{i}")
    clock.now += 1.0
    for i in range(5):
        _trace(tracer, f"next-second-{i}")
    roots = Counter(s.name.split("/")[0] for s in span_exporter.get_finished_spans())
    assert roots == {
        "first-second-0": 3,
        "first-second-1": 3,
        "next-second-0": 3,
        "next-second-1": 3,
    }
    ((_, point),) = metric_points(metric_reader, "llmotel.sampling.rate_limited.spans")
    assert point.value == 6 * 3
    provider.shutdown()


def test_span_budget_never_splits_an_admitted_trace(span_exporter: InMemorySpanExporter) -> None:
    clock = _Clock()
    limiter = RateLimitingSpanProcessor(
        SimpleSpanProcessor(span_exporter), spans_per_second=4, clock=clock
    )
    provider, tracer = _provider(limiter)
    _trace(tracer, "big", children=9)  # 10 spans: admitted, bucket goes 6 into debt
    _trace(tracer, "refused")
    clock.now += 1.0  # 4 tokens back: still in debt
    _trace(tracer, "still-refused")
    clock.now += 1.0
    _trace(tracer, "admitted")
    roots = Counter(s.name.split("/")[0] for s in span_exporter.get_finished_spans())
    assert roots == {"big": 10, "admitted": 3}
    provider.shutdown()


def test_rate_limit_policy_in_the_tail_sampler(span_exporter: InMemorySpanExporter) -> None:
    clock = _Clock()
    processor = TailSamplingProcessor(
        SimpleSpanProcessor(span_exporter),
        [RateLimitPolicy(traces_per_second=3, spans_per_second=100, clock=clock)],
    )
    provider, tracer = _provider(processor)
    for i in range(10):
        _trace(tracer, f"t{i}")
    clock.now += 0.5
    for i in range(10, 20):
        _trace(tracer, f"t{i}")
    spans = span_exporter.get_finished_spans()
    assert sorted({s.name.split("/")[0] for s in spans}) == ["t0", "t1", "t10", "t2"]
    assert {s.attributes["llmotel.sampling.policy"] for s in spans} == {"rate_limit"}
    assert all("llmotel.sampling.rate" not in (s.attributes or {}) for s in spans)
    provider.shutdown()


def test_limits_must_be_given_and_positive() -> None:
    with pytest.raises(ValueError, match="traces_per_second"):
        RateLimitPolicy()
    with pytest.raises(ValueError, match="rate must be positive"):
        RateLimitPolicy(traces_per_second=0)
    with pytest.raises(ValueError, match="traces_per_second"):
        RateLimitingSpanProcessor(SimpleSpanProcessor(InMemorySpanExporter()))


def test_the_limiter_remembers_its_last_decisions_in_the_decision_table(
    span_exporter: InMemorySpanExporter,
) -> None:
    clock = _Clock()
    limiter = RateLimitingSpanProcessor(
        SimpleSpanProcessor(span_exporter), traces_per_second=1, decision_cache_size=4, clock=clock
    )
    _, tracer = _provider(limiter)
    admitted = tracer.start_span("admitted")
    refused = [tracer.start_span(f"refused-{i}") for i in range(3)]
    for span in (admitted, *refused):
        tracer.start_span("child", context=set_span_in_context(span)).end()
    clock.now += 10.0  # the bucket is full again: only remembered decisions refuse
    for span in (admitted, *refused):
        span.end()
    assert sorted(s.name for s in span_exporter.get_finished_spans()) == ["admitted", "child"]
    for i in range(4):  # four more traces push the first four out of the table (capacity 4)
        _trace(tracer, f"later-{i}", children=0)
        clock.now += 1.0
    span_exporter.clear()
    tracer.start_span("child", context=set_span_in_context(refused[0])).end()
    assert [s.name for s in span_exporter.get_finished_spans()] == ["child"]
