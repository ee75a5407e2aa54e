"""A call's metric points wait for the next collection (llmotel.semconv.points): they reach it with
their values, attributes and exemplars, nothing is lost to concurrent calls, several readers, a full
queue or a shutdown, and a waiting entry holds no span."""

from __future__ import annotations

import gc
import os
import weakref
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.semconv import points
from llmotel.semconv.capture import CaptureSettings, ContentCapture
from llmotel.semconv.inference import InferenceTelemetry, Invocation
from llmotel.testing import metric_points

from .conftest import Consumed, beside_threads

DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
PER_CHUNK = "gen_ai.client.operation.time_per_output_chunk"


def emitter(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> InferenceTelemetry:
    return InferenceTelemetry(
        "test.points",
        "1.0",
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=LoggerProvider(),
        settings=CaptureSettings(ContentCapture.NO_CONTENT, False),
    )


def call(t: InferenceTelemetry, chunks: int = 0, model: str = "m") -> Invocation:
    inv = Invocation("chat", "openai", request_model=model, stream=chunks > 0)
    t.start(inv)
    if chunks:
        t.detach(inv)
        for _ in range(chunks):
            t.chunk(inv)
    inv.input_tokens = 11
    inv.output_tokens = 3
    t.finish(inv)
    return inv


@pytest.fixture(autouse=True)
def _empty_queue() -> None:
    points.record()  # what earlier tests left for providers nobody collects any more


def test_points_wait_for_the_collection_and_reach_it(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = emitter(tracer_provider, meter_provider)
    call(t)
    call(t, chunks=4)
    assert points.pending() == 2  # one entry per call
    [(attrs, duration)] = metric_points(metric_reader, DURATION)
    assert points.pending() == 0
    assert duration.count == 2
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "m",
    }
    tokens = {a["gen_ai.token.type"]: p for a, p in metric_points(metric_reader, TOKENS)}
    assert (tokens["input"].sum, tokens["output"].sum) == (22, 6)
    [(_, per_chunk)] = metric_points(metric_reader, PER_CHUNK)
    assert per_chunk.count == 3


def test_a_waiting_call_holds_no_span(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    span_exporter: InMemorySpanExporter,
) -> None:
    t = emitter(tracer_provider, meter_provider)
    inv = call(t, chunks=2)
    span = weakref.ref(inv.span)  # type: ignore[arg-type]
    context = inv.span.get_span_context()  # type: ignore[union-attr]
    del inv
    span_exporter.clear()  # the only other holder of the ended span
    gc.collect()
    assert points.pending() > 0
    assert span() is None
    [(_, duration)] = metric_points(metric_reader, DURATION)
    [exemplar] = duration.exemplars
    assert (exemplar.trace_id, exemplar.span_id) == (context.trace_id, context.span_id)


def test_a_full_queue_records_now(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t = emitter(tracer_provider, meter_provider)
    monkeypatch.setattr(points, "PENDING_BYTES", points.CALL_BYTES + 8 * 4)
    call(t, chunks=4)  # waits
    call(t)  # would pass the limit: recorded now
    assert points.pending() == 1
    monkeypatch.setattr(points, "record", lambda: None)  # a collection that records nothing queued
    [(_, duration)] = metric_points(metric_reader, DURATION)
    assert duration.count == 1  # the one recorded at once
    monkeypatch.undo()
    [(_, duration)] = metric_points(metric_reader, DURATION)
    assert duration.count == 2
    assert points.pending() == 0


def test_nothing_waits_while_no_reader_would_read_it(tracer_provider: TracerProvider) -> None:
    # OTEL_METRICS_EXPORTER=none: an SDK MeterProvider without readers drops every measurement,
    # so a call queues nothing for a collection that never comes; a reader added later (SDK >=
    # 1.45) gets the calls made after it.
    provider = MeterProvider()
    t = emitter(tracer_provider, provider)
    histogram = provider.get_meter("test.points").create_histogram("test.points.later")
    for _ in range(5):
        call(t, chunks=3)
        points.record_later(histogram, 1.0, {"k": "v"}, None)
    assert points.pending() == 0
    if not hasattr(provider, "add_metric_reader"):
        return
    reader = InMemoryMetricReader()
    provider.add_metric_reader(reader)
    call(t, chunks=3)
    points.record_later(histogram, 2.0, {"k": "v"}, None)
    assert points.pending() == 2
    [(_, duration)] = metric_points(reader, DURATION)
    assert duration.count == 1
    [(attrs, later)] = metric_points(reader, "test.points.later")
    assert (attrs, later.count, later.sum) == ({"k": "v"}, 1, 2.0)


def test_every_reader_gets_the_points(tracer_provider: TracerProvider) -> None:
    first, second = InMemoryMetricReader(), InMemoryMetricReader()
    provider = MeterProvider([first, second])
    try:
        t = emitter(tracer_provider, provider)
        for _ in range(3):
            call(t)
        [(_, one)] = metric_points(first, DURATION)
        [(_, other)] = metric_points(second, DURATION)  # recorded during the first one's collection
        assert one.count == other.count == 3
    finally:
        provider.shutdown()


class _Keep(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.exported: list[MetricsData] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        self.exported.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout: float = 30_000, **kwargs: Any) -> None:
        pass


def _counts(batches: Sequence[MetricsData], name: str) -> int:
    return sum(
        p.count
        for data in batches
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for p in m.data.data_points
    )


def test_shutdown_exports_the_waiting_points(tracer_provider: TracerProvider) -> None:
    exporter = _Keep()
    provider = MeterProvider(
        [PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)]
    )
    t = emitter(tracer_provider, provider)
    for _ in range(5):
        call(t, chunks=3)
    assert points.pending() == 5
    provider.shutdown()
    assert points.pending() == 0
    assert _counts(exporter.exported, DURATION) == 5
    assert _counts(exporter.exported, PER_CHUNK) == 10


def test_concurrent_calls_and_collections_lose_nothing(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = emitter(tracer_provider, meter_provider)
    threads, calls = 8, 150
    seen: list[int] = []

    def collect(last: bool) -> None:
        if not last:
            seen.append(len(metric_points(metric_reader, DURATION)))

    def work() -> None:
        for i in range(calls):
            call(t, chunks=i % 3)

    beside_threads(work, threads, collect)
    assert seen  # the collector ran while calls were made
    [(_, duration)] = metric_points(metric_reader, DURATION)
    assert duration.count == threads * calls
    tokens = {a["gen_ai.token.type"]: p for a, p in metric_points(metric_reader, TOKENS)}
    assert tokens["input"].sum == 11 * threads * calls
    [(_, per_chunk)] = metric_points(metric_reader, PER_CHUNK)
    assert per_chunk.count == threads * (calls // 3)  # one gap for each call with two chunks
    assert points.pending() == 0


def test_many_calls_points_go_in_one_step_per_attribute_set(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    span_exporter: InMemorySpanExporter,
    consumed: Consumed,
) -> None:
    durations, gaps = consumed(DURATION), consumed(PER_CHUNK)
    t = emitter(tracer_provider, meter_provider)
    for _ in range(20):
        call(t, chunks=30)
    [(_, duration)] = metric_points(metric_reader, DURATION)
    [(_, per_chunk)] = metric_points(metric_reader, PER_CHUNK)
    assert (duration.count, per_chunk.count) == (20, 20 * 29)
    # one point per bucket the values fall in (they are all in the first two or three) goes
    # through the SDK's record(): it carries the bucket's exemplar, of the last call's span there
    assert 1 <= len(durations) <= 3
    assert 1 <= len(gaps) <= 3
    last = span_exporter.get_finished_spans()[-1].context
    assert last is not None
    assert {e.span_id for e in duration.exemplars} == {last.span_id}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_does_not_record_its_parents_points(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = emitter(tracer_provider, meter_provider)
    call(t)
    assert points.pending() == 1
    pid = os.fork()
    if pid == 0:  # the child: nothing waits, and a call of its own queues and records
        code = 1
        try:
            if points.pending() == 0:
                call(t)
                [(_, duration)] = metric_points(metric_reader, DURATION)
                code = 0 if duration.count == 1 and points.pending() == 0 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert points.pending() == 1  # the parent's still waits for the parent's collection
    [(_, duration)] = metric_points(metric_reader, DURATION)
    assert duration.count == 1


def test_a_failing_entry_does_not_stop_the_others(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = emitter(tracer_provider, meter_provider)

    def broken(_: points.Points) -> None:
        raise RuntimeError("boom")

    points.defer(broken, (), 1)
    assert points.pending() == 1
    call(t)
    [(_, duration)] = metric_points(metric_reader, DURATION)
    assert duration.count == 1
    assert points.pending() == 0


def test_attribute_sets_share_one_dict_per_combination() -> None:
    sets = points.AttributeSets(("a", "b"), limit=2)
    first = sets.get(("x", None))
    assert first == {"a": "x"}  # None leaves the key out
    assert sets.get(("x", None)) is first
    assert sets.get(("x", "y")) == {"a": "x", "b": "y"}
    beyond = sets.get(("z", "y"))  # past the limit: equal dicts, not kept
    assert beyond == {"a": "z", "b": "y"}
    assert sets.get(("z", "y")) is not beyond
