"""The processor behind our real OpenAI/Anthropic instrumentations, real SDK clients on the stub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from genai_prices import Usage as PricesUsage
from genai_prices import calc_price
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.metrics import (
    COST_METRIC,
    COST_TYPE,
    COST_USD,
    CostAttributeStage,
    TokenCostMetricsProcessor,
)
from llmotel.sdk.pipeline import MutableSpan
from llmotel.semconv import attributes as a
from llmotel.semconv import metrics as m
from llmotel.semconv.extensions import LLMOTEL_RECORDED_METRICS
from llmotel.testing import StubServer, Usage, text_reply

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")
openai_instrumentation = pytest.importorskip("llmotel.instrumentation.openai")
anthropic_instrumentation = pytest.importorskip("llmotel.instrumentation.anthropic")

METER = "llmotel.metrics"


def scoped_points(reader: InMemoryMetricReader, name: str) -> list[tuple[str, dict[str, Any], Any]]:
    """``(scope name, attributes, point)`` of every point of metric ``name``."""
    data = reader.get_metrics_data()
    found = []
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    found += [
                        (sm.scope.name, dict(p.attributes or {}), p)
                        for p in metric.data.data_points
                    ]
    return found


@pytest.fixture
def processor(
    tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> TokenCostMetricsProcessor:
    proc = TokenCostMetricsProcessor(meter_provider, latest_experimental=False)
    tracer_provider.add_span_processor(proc)
    return proc


@pytest.fixture
def openai_client(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, llm_stub: StubServer
) -> Iterator[Any]:
    instrumentor = openai_instrumentation.OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test", max_retries=0)
    instrumentor.uninstrument()


@pytest.fixture
def anthropic_client(
    tracer_provider: TracerProvider, meter_provider: MeterProvider, llm_stub: StubServer
) -> Iterator[Any]:
    instrumentor = anthropic_instrumentation.AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield anthropic.Anthropic(base_url=llm_stub.url, api_key="test", max_retries=0)
    instrumentor.uninstrument()


def test_openai_chat_tokens_once_and_cost_exact(
    processor: TokenCostMetricsProcessor,
    openai_client: Any,
    llm_stub: StubServer,
    metric_reader: InMemoryMetricReader,
    span_exporter: InMemorySpanExporter,
) -> None:
    usage = Usage(input_tokens=1200, output_tokens=300, cache_read_input_tokens=1024)
    llm_stub.enqueue(text_reply("Hello!", usage=usage))
    openai_client.chat.completions.create(
        model="gpt-4o-2024-08-06", messages=[{"role": "user", "content": "Hi"}]
    )

    # Input and output were recorded once, by the instrumentation; we add only the cache type.
    tokens = sorted(
        (scope, attrs[a.GEN_AI_TOKEN_TYPE], p.sum)
        for scope, attrs, p in scoped_points(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE)
    )
    assert tokens == [
        ("llmotel.instrumentation.openai", "input", 1200),
        ("llmotel.instrumentation.openai", "output", 300),
        (METER, "cache_read", 1024),
    ]
    durations = scoped_points(metric_reader, m.GEN_AI_CLIENT_OPERATION_DURATION)
    assert [(scope, p.count) for scope, _, p in durations] == [
        ("llmotel.instrumentation.openai", 1)
    ]

    expected = calc_price(
        PricesUsage(input_tokens=1200, output_tokens=300, cache_read_tokens=1024),
        "gpt-4o-2024-08-06",
        provider_id="openai",
    )
    cost = {attrs[COST_TYPE]: p.value for _, attrs, p in scoped_points(metric_reader, COST_METRIC)}
    assert set(cost) == {"input", "cache_read", "output"}
    assert sum(cost.values()) == pytest.approx(float(expected.total_price), rel=1e-12)
    assert cost["output"] == pytest.approx(float(expected.output_price), rel=1e-12)

    [span] = span_exporter.get_finished_spans()
    # The instrumentation declared what it records on its scope; that is what the skip relies on.
    assert span.instrumentation_scope is not None
    declared = (span.instrumentation_scope.attributes or {})[LLMOTEL_RECORDED_METRICS]
    assert tuple(declared) == (m.GEN_AI_CLIENT_OPERATION_DURATION, m.GEN_AI_CLIENT_TOKEN_USAGE)
    staged = CostAttributeStage(processor.pricing)(MutableSpan.from_span(span))
    assert staged.attributes[COST_USD] == pytest.approx(float(expected.total_price), rel=1e-12)


def test_anthropic_cache_write_and_read_priced_from_instrumented_span(
    processor: TokenCostMetricsProcessor,
    anthropic_client: Any,
    llm_stub: StubServer,
    metric_reader: InMemoryMetricReader,
    span_exporter: InMemorySpanExporter,
) -> None:
    # Anthropic's input_tokens excludes cache tokens; the span's gen_ai.usage.input_tokens must not.
    usage = Usage(
        input_tokens=200,
        output_tokens=50,
        cache_read_input_tokens=1000,
        cache_creation_input_tokens=500,
    )
    llm_stub.enqueue(text_reply("Hello!", usage=usage))
    model = "claude-sonnet-4-6"
    anthropic_client.messages.create(
        model=model, max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
    )

    [span] = span_exporter.get_finished_spans()
    assert span.attributes is not None
    total_input = span.attributes[a.GEN_AI_USAGE_INPUT_TOKENS]
    assert total_input == 1700
    expected = calc_price(
        PricesUsage(
            input_tokens=1700, output_tokens=50, cache_read_tokens=1000, cache_write_tokens=500
        ),
        model,
        provider_id="anthropic",
    )
    cost = {attrs[COST_TYPE]: p.value for _, attrs, p in scoped_points(metric_reader, COST_METRIC)}
    assert set(cost) == {"input", "output", "cache_read", "cache_write"}
    assert sum(cost.values()) == pytest.approx(float(expected.total_price), rel=1e-12)
    own_tokens = {
        attrs[a.GEN_AI_TOKEN_TYPE]: p.sum
        for scope, attrs, p in scoped_points(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE)
        if scope == METER
    }
    assert own_tokens == {"cache_read": 1000, "cache_write": 500}
