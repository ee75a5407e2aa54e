"""Metrics see every call while the sampler drops it from export: the dropped span keeps its start
attributes, so the call is still metered and priced."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

from llmotel.distro._setup import RecordDroppedSampler
from llmotel.instrumentation.openai import OpenAIInstrumentor
from llmotel.metrics import COST_METRIC, TokenCostMetricsProcessor
from llmotel.testing import StubServer, metric_points, text_reply


def test_a_dropped_span_is_recorded_with_its_start_attributes() -> None:
    sampler = RecordDroppedSampler(TraceIdRatioBased(0.0))
    start = {"gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai"}
    result = sampler.should_sample(None, 1, "chat gpt-4o", attributes=start)
    assert result.decision is Decision.RECORD_ONLY
    assert dict(result.attributes) == start
    kept = RecordDroppedSampler(TraceIdRatioBased(1.0)).should_sample(
        None, 1, "x", attributes=start
    )
    assert kept.decision is Decision.RECORD_AND_SAMPLE
    assert sampler.get_description() == "RecordDropped{TraceIdRatioBased{0.0}}"


@pytest.fixture
def instrumented(llm_stub: StubServer) -> Any:
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    provider = TracerProvider(sampler=RecordDroppedSampler(TraceIdRatioBased(0.0)))
    provider.add_span_processor(TokenCostMetricsProcessor(meters))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider, meter_provider=meters)
    try:
        yield exporter, reader
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
        meters.shutdown()


def test_a_sampled_out_call_is_still_priced(llm_stub: StubServer, instrumented: Any) -> None:
    exporter, reader = instrumented
    llm_stub.enqueue(text_reply("Hello!"))
    client = openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test-key")
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])

    assert exporter.get_finished_spans() == ()  # dropped from export
    points = metric_points(reader, COST_METRIC)
    assert points, "the dropped call was not priced"
    assert {attrs["gen_ai.request.model"] for attrs, _ in points} == {"gpt-4o"}
