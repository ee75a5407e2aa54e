"""TokenCostMetricsProcessor on spans ended by a real TracerProvider: exact points and dollars."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from metrics_helpers import END_NS, MakeSpan, genai_attributes
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, StaticSampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from llmotel.metrics import (
    COST_METRIC,
    COST_TYPE,
    COST_USD,
    UNPRICED_METRIC,
    CostAttributeStage,
    Pricing,
    TokenCostMetricsProcessor,
)
from llmotel.metrics._pricing import PRICED_SPANS
from llmotel.sdk.pipeline import MutableSpan
from llmotel.semconv import attributes as a
from llmotel.semconv import latest as lt
from llmotel.semconv import metrics as m
from llmotel.semconv.extensions import LLMOTEL_RECORDED_METRICS
from llmotel.testing import metric_points

WHEN = datetime.fromtimestamp(END_NS / 1e9, tz=UTC)
BASE = {
    a.GEN_AI_OPERATION_NAME: "chat",
    a.GEN_AI_PROVIDER_NAME: "openai",
    a.GEN_AI_REQUEST_MODEL: "gpt-4o",
    a.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
}


def price(model: str, provider: str, **usage: int) -> Any:
    return calc_price(Usage(**usage), model, provider_id=provider, genai_request_timestamp=WHEN)


def by_type(reader: InMemoryMetricReader, name: str, key: str) -> dict[str, Any]:
    points = metric_points(reader, name)
    result = {attrs[key]: point for attrs, point in points}
    assert len(result) == len(points), points
    return result


def test_tokens_duration_and_cost_of_a_chat_span(
    processor: TokenCostMetricsProcessor, make_span: MakeSpan, metric_reader: InMemoryMetricReader
) -> None:
    make_span(genai_attributes(input_tokens=1200, output_tokens=300))

    tokens = metric_points(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE)
    assert sorted((attrs[a.GEN_AI_TOKEN_TYPE], p.count, p.sum) for attrs, p in tokens) == [
        ("input", 1, 1200),
        ("output", 1, 300),
    ]
    for attrs, point in tokens:
        assert {k: v for k, v in attrs.items() if k != a.GEN_AI_TOKEN_TYPE} == BASE
        assert tuple(point.explicit_bounds) == m.GEN_AI_CLIENT_TOKEN_USAGE_BUCKETS
    [(attrs, duration)] = metric_points(metric_reader, m.GEN_AI_CLIENT_OPERATION_DURATION)
    assert attrs == BASE
    assert (duration.count, duration.sum) == (1, 1.5)
    assert tuple(duration.explicit_bounds) == m.GEN_AI_CLIENT_OPERATION_DURATION_BUCKETS

    cost = by_type(metric_reader, COST_METRIC, COST_TYPE)
    assert set(cost) == {"input", "output"}
    expected = price("gpt-4o-2024-08-06", "openai", input_tokens=1200, output_tokens=300)
    assert cost["input"].value == pytest.approx(float(expected.input_price), rel=1e-12)
    assert cost["output"].value == pytest.approx(float(expected.output_price), rel=1e-12)
    for attrs, _ in metric_points(metric_reader, COST_METRIC):
        assert {k: v for k, v in attrs.items() if k != COST_TYPE} == BASE


def test_cache_reads_are_priced_at_the_cache_price(
    processor: TokenCostMetricsProcessor, make_span: MakeSpan, metric_reader: InMemoryMetricReader
) -> None:
    make_span(
        genai_attributes(
            input_tokens=5000,
            output_tokens=100,
            extra={a.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4096},
        )
    )

    cost = by_type(metric_reader, COST_METRIC, COST_TYPE)
    model = "gpt-4o-2024-08-06"
    uncached = price(model, "openai", input_tokens=904)
    cached = price(model, "openai", input_tokens=4096, cache_read_tokens=4096)
    total = price(model, "openai", input_tokens=5000, output_tokens=100, cache_read_tokens=4096)
    assert cost["input"].value == pytest.approx(float(uncached.input_price), rel=1e-12)
    assert cost["cache_read"].value == pytest.approx(float(cached.input_price), rel=1e-12)
    assert sum(p.value for p in cost.values()) == pytest.approx(float(total.total_price), rel=1e-12)
    # The cache price is a discount: the same tokens uncached would cost more.
    assert cost["cache_read"].value < float(price(model, "openai", input_tokens=4096).total_price)

    tokens = by_type(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE, a.GEN_AI_TOKEN_TYPE)
    assert {t: p.sum for t, p in tokens.items()} == {
        "input": 5000,
        "output": 100,
        "cache_read": 4096,
    }


def test_anthropic_cache_writes_and_reads(
    processor: TokenCostMetricsProcessor, make_span: MakeSpan, metric_reader: InMemoryMetricReader
) -> None:
    model = "claude-sonnet-4-20250514"
    make_span(
        genai_attributes(
            provider="anthropic",
            model=model,
            response_model=model,
            input_tokens=3000,
            output_tokens=500,
            extra={
                a.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1000,
                # v1.41's name; the latest conventions call it cache_write (both are read).
                a.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 1500,
            },
        )
    )

    cost = by_type(metric_reader, COST_METRIC, COST_TYPE)
    assert set(cost) == {"input", "output", "cache_read", "cache_write"}
    written = price(model, "anthropic", input_tokens=1500, cache_write_tokens=1500)
    read = price(model, "anthropic", input_tokens=1000, cache_read_tokens=1000)
    total = price(
        model,
        "anthropic",
        input_tokens=3000,
        output_tokens=500,
        cache_read_tokens=1000,
        cache_write_tokens=1500,
    )
    assert cost["cache_write"].value == pytest.approx(float(written.total_price), rel=1e-12)
    assert cost["cache_read"].value == pytest.approx(float(read.total_price), rel=1e-12)
    assert sum(p.value for p in cost.values()) == pytest.approx(float(total.total_price), rel=1e-12)


def test_cache_counts_outside_the_input_count_are_added_back(
    processor: TokenCostMetricsProcessor, make_span: MakeSpan, metric_reader: InMemoryMetricReader
) -> None:
    # An instrumentation that copied Anthropic's input_tokens (which excludes cache tokens).
    model = "claude-sonnet-4-20250514"
    make_span(
        genai_attributes(
            provider="anthropic",
            model=model,
            response_model=model,
            input_tokens=10,
            output_tokens=5,
            extra={lt.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 2000},
        )
    )

    tokens = by_type(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE, a.GEN_AI_TOKEN_TYPE)
    assert tokens["input"].sum == 2010
    assert tokens["cache_write"].sum == 2000
    total = price(model, "anthropic", input_tokens=2010, output_tokens=5, cache_write_tokens=2000)
    cost = metric_points(metric_reader, COST_METRIC)
    assert sum(p.value for _, p in cost) == pytest.approx(float(total.total_price), rel=1e-12)


def test_unknown_model_is_counted_not_priced(
    processor: TokenCostMetricsProcessor, make_span: MakeSpan, metric_reader: InMemoryMetricReader
) -> None:
    attrs = genai_attributes(model="acme-llm-7", response_model=None)
    make_span(attrs)
    make_span(attrs)
    make_span(genai_attributes(model="acme-llm-8", response_model=None, provider="acme"))

    assert metric_points(metric_reader, COST_METRIC) == []
    unpriced = sorted(
        (attrs[a.GEN_AI_PROVIDER_NAME], attrs[a.GEN_AI_REQUEST_MODEL], p.value)
        for attrs, p in metric_points(metric_reader, UNPRICED_METRIC)
    )
    assert unpriced == [("acme", "acme-llm-8", 1), ("openai", "acme-llm-7", 2)]
    # Tokens are still counted for unpriced models.
    inputs = [
        p.count
        for attrs, p in tokens_points(metric_reader)
        if attrs[a.GEN_AI_TOKEN_TYPE] == "input"
    ]
    assert sorted(inputs) == [1, 2]


#: What llmotel's instrumentations declare on their scope (llmotel.semconv.inference), default names.
DECLARES_DEFAULT = {
    LLMOTEL_RECORDED_METRICS: (m.GEN_AI_CLIENT_OPERATION_DURATION, m.GEN_AI_CLIENT_TOKEN_USAGE)
}


@pytest.mark.parametrize(
    ("scope", "scope_attributes"),
    [
        ("any.instrumentation.that.declares", DECLARES_DEFAULT),
        ("opentelemetry.instrumentation.openai_v2", None),  # upstream: known by its scope name
    ],
)
def test_no_double_counting_for_instrumentations_that_record_histograms(
    processor: TokenCostMetricsProcessor,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
    scope: str,
    scope_attributes: dict[str, Any] | None,
) -> None:
    make_span(
        genai_attributes(
            input_tokens=1200,
            output_tokens=300,
            extra={a.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1024},
        ),
        scope=scope,
        scope_attributes=scope_attributes,
    )

    # The instrumentation recorded input/output and duration itself: only what it does not record.
    tokens = by_type(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE, a.GEN_AI_TOKEN_TYPE)
    assert {t: p.sum for t, p in tokens.items()} == {"cache_read": 1024}
    assert metric_points(metric_reader, m.GEN_AI_CLIENT_OPERATION_DURATION) == []
    cost = by_type(metric_reader, COST_METRIC, COST_TYPE)
    total = price(
        "gpt-4o-2024-08-06", "openai", input_tokens=1200, output_tokens=300, cache_read_tokens=1024
    )
    assert sum(p.value for p in cost.values()) == pytest.approx(float(total.total_price), rel=1e-12)


def test_skip_scopes_is_configurable(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
) -> None:
    tracer_provider.add_span_processor(
        TokenCostMetricsProcessor(
            meter_provider, skip_scopes={"my.instrumentation"}, latest_experimental=False
        )
    )
    make_span(genai_attributes(), scope="my.instrumentation")
    make_span(genai_attributes(), scope="llmotel.instrumentation.openai")

    tokens = by_type(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE, a.GEN_AI_TOKEN_TYPE)
    assert (tokens["input"].count, tokens["output"].count) == (1, 1)
    [(_, duration)] = metric_points(metric_reader, m.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1


def test_record_only_spans_are_measured(
    meter_provider: MeterProvider, make_span: MakeSpan, metric_reader: InMemoryMetricReader
) -> None:
    # A sampler that keeps no trace for export still lets every processor see the span.
    provider = TracerProvider(sampler=StaticSampler(Decision.RECORD_ONLY))
    provider.add_span_processor(
        TokenCostMetricsProcessor(meter_provider, latest_experimental=False)
    )
    span = make_span(genai_attributes(), provider=provider)

    assert not span.context.trace_flags.sampled
    tokens = by_type(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE, a.GEN_AI_TOKEN_TYPE)
    assert (tokens["input"].sum, tokens["output"].sum) == (1000, 200)
    assert len(metric_points(metric_reader, COST_METRIC)) == 2


def test_failed_call_has_error_type_on_duration(
    processor: TokenCostMetricsProcessor, make_span: MakeSpan, metric_reader: InMemoryMetricReader
) -> None:
    make_span(
        genai_attributes(input_tokens=None, output_tokens=None), error="openai.RateLimitError"
    )

    [(attrs, duration)] = metric_points(metric_reader, m.GEN_AI_CLIENT_OPERATION_DURATION)
    assert attrs == {**BASE, a.ERROR_TYPE: "openai.RateLimitError"}
    assert duration.count == 1
    assert metric_points(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE) == []
    assert metric_points(metric_reader, COST_METRIC) == []
    assert metric_points(metric_reader, UNPRICED_METRIC) == []


@pytest.mark.parametrize(
    "attributes",
    [
        {"http.request.method": "GET"},
        {a.GEN_AI_OPERATION_NAME: "execute_tool", a.GEN_AI_TOOL_NAME: "search"},
        # An agent span repeating its children's usage would count them twice.
        genai_attributes(operation="invoke_agent"),
    ],
)
def test_other_spans_are_ignored(
    processor: TokenCostMetricsProcessor,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
    attributes: dict[str, Any],
) -> None:
    make_span(attributes)
    assert metric_reader.get_metrics_data() is None or all(
        not sm.metrics
        for rm in metric_reader.get_metrics_data().resource_metrics  # type: ignore[union-attr]
        for sm in rm.scope_metrics
    )


def test_context_attributes_are_opt_in(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
) -> None:
    tracer_provider.add_span_processor(
        TokenCostMetricsProcessor(
            meter_provider, context_attributes=[a.USER_ID], latest_experimental=False
        )
    )
    make_span(genai_attributes(extra={a.USER_ID: "u-1", a.SESSION_ID: "s-1"}))
    make_span(genai_attributes(extra={a.USER_ID: "u-2", a.SESSION_ID: "s-2"}))

    for name in (m.GEN_AI_CLIENT_TOKEN_USAGE, m.GEN_AI_CLIENT_OPERATION_DURATION, COST_METRIC):
        points = metric_points(metric_reader, name)
        assert {attrs.get(a.USER_ID) for attrs, _ in points} == {"u-1", "u-2"}, name
        assert all(a.SESSION_ID not in attrs for attrs, _ in points), name


def test_deprecated_system_and_token_names_are_understood(
    processor: TokenCostMetricsProcessor, make_span: MakeSpan, metric_reader: InMemoryMetricReader
) -> None:
    make_span(
        {
            a.GEN_AI_OPERATION_NAME: "chat",
            a.GEN_AI_SYSTEM: "openai",
            a.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            a.GEN_AI_USAGE_PROMPT_TOKENS: 100,
            a.GEN_AI_USAGE_COMPLETION_TOKENS: 10,
        }
    )

    tokens = by_type(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE, a.GEN_AI_TOKEN_TYPE)
    assert (tokens["input"].sum, tokens["output"].sum) == (100, 10)
    assert all(
        attrs[a.GEN_AI_PROVIDER_NAME] == "openai" for attrs, _ in tokens_points(metric_reader)
    )
    total = price("gpt-4o-mini", "openai", input_tokens=100, output_tokens=10)
    cost = metric_points(metric_reader, COST_METRIC)
    assert sum(p.value for _, p in cost) == pytest.approx(float(total.total_price), rel=1e-12)


def tokens_points(reader: InMemoryMetricReader) -> list[tuple[dict[str, Any], Any]]:
    return metric_points(reader, m.GEN_AI_CLIENT_TOKEN_USAGE)


def test_latest_experimental_names(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
) -> None:
    tracer_provider.add_span_processor(
        TokenCostMetricsProcessor(meter_provider, latest_experimental=True)
    )
    make_span(
        genai_attributes(
            input_tokens=1000,
            output_tokens=200,
            extra={
                lt.GEN_AI_USAGE_TEXT_INPUT_TOKENS: 700,
                lt.GEN_AI_USAGE_IMAGE_INPUT_TOKENS: 250,
                a.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 500,
                a.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 50,
            },
        )
    )

    assert metric_points(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE) == []
    assert metric_points(metric_reader, m.GEN_AI_CLIENT_OPERATION_DURATION) == []
    [(attrs, duration)] = metric_points(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_DURATION)
    assert (attrs, duration.sum) == (BASE, 1.5)
    [(attrs, inp)] = metric_points(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS)
    assert (attrs, inp.sum) == (BASE, 1000)
    [(_, out)] = metric_points(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS)
    assert out.sum == 200
    modality = lt.GEN_AI_TOKEN_MODALITY
    inputs = by_type(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS, modality)
    assert {k: p.value for k, p in inputs.items()} == {"text": 700, "image": 250, "unknown": 50}
    outputs = by_type(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_USAGE_OUTPUT_TOKENS, modality)
    assert {k: p.value for k, p in outputs.items()} == {"unknown": 200}
    [(_, read)] = metric_points(
        metric_reader, lt.GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS
    )
    assert read.value == 500
    [(_, reasoning)] = metric_points(
        metric_reader, lt.GEN_AI_CLIENT_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS
    )
    assert reasoning.value == 50
    assert len(metric_points(metric_reader, COST_METRIC)) == 3


def test_latest_counters_are_recorded_for_skipped_scopes(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
) -> None:
    # Our instrumentations record the latest histograms, not the usage counters.
    tracer_provider.add_span_processor(
        TokenCostMetricsProcessor(meter_provider, latest_experimental=True)
    )
    declared = (
        lt.GEN_AI_CLIENT_INFERENCE_DURATION,
        m.GEN_AI_CLIENT_OPERATION_DURATION,
        lt.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS,
        lt.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS,
    )
    make_span(
        genai_attributes(),
        scope="llmotel.instrumentation.openai",
        scope_attributes={LLMOTEL_RECORDED_METRICS: declared},
    )

    assert metric_points(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_DURATION) == []
    assert metric_points(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS) == []
    [(_, inp)] = metric_points(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS)
    assert inp.value == 1000


def test_latest_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http,gen_ai_latest_experimental")
    tracer_provider.add_span_processor(TokenCostMetricsProcessor(meter_provider))
    make_span(genai_attributes())
    assert len(metric_points(metric_reader, lt.GEN_AI_CLIENT_INFERENCE_DURATION)) == 1


class _BrokenPricing(Pricing):
    def cost(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")


def test_processor_never_raises_and_warns_once(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    make_span: MakeSpan,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracer_provider.add_span_processor(
        TokenCostMetricsProcessor(meter_provider, pricing=_BrokenPricing())
    )
    with caplog.at_level(logging.DEBUG, logger="llmotel.metrics"):
        make_span(genai_attributes())
        make_span(genai_attributes())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "token/cost metrics failed" in warnings[0].getMessage()


def test_spans_built_by_hand_are_read_through_the_public_api(
    processor: TokenCostMetricsProcessor, metric_reader: InMemoryMetricReader
) -> None:
    # A ReadableSpan made with the public constructor (as pipelines and tests do) has a plain
    # attribute mapping, not the SDK's BoundedAttributes.
    span = ReadableSpan(
        name="chat gpt-4o",
        attributes=genai_attributes(),
        start_time=END_NS - 2_000_000_000,
        end_time=END_NS,
        instrumentation_scope=InstrumentationScope("hand.made"),
    )
    processor.on_end(span)

    tokens = by_type(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE, a.GEN_AI_TOKEN_TYPE)
    assert (tokens["input"].sum, tokens["output"].sum) == (1000, 200)
    [(_, duration)] = metric_points(metric_reader, m.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.sum == 2.0


@pytest.mark.parametrize(
    ("scope", "scope_attributes"),
    [
        # A scope name alone skips nothing: only the declaration (or skip_scopes) does.
        ("llmotel.instrumentation.openai", None),
        # Declares the latest histograms while this processor records the default names: its
        # names were not recorded, so it records them.
        (
            "declares.other.names",
            {
                LLMOTEL_RECORDED_METRICS: (
                    lt.GEN_AI_CLIENT_INFERENCE_DURATION,
                    lt.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS,
                    lt.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS,
                )
            },
        ),
        (
            "declares.only.duration",
            {LLMOTEL_RECORDED_METRICS: (m.GEN_AI_CLIENT_OPERATION_DURATION,)},
        ),
        ("declares.a.string", {LLMOTEL_RECORDED_METRICS: m.GEN_AI_CLIENT_OPERATION_DURATION}),
    ],
)
def test_histograms_are_recorded_unless_the_scope_declares_them(
    processor: TokenCostMetricsProcessor,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
    scope: str,
    scope_attributes: dict[str, Any] | None,
) -> None:
    make_span(
        genai_attributes(input_tokens=1200, output_tokens=300),
        scope=scope,
        scope_attributes=scope_attributes,
    )

    tokens = by_type(metric_reader, m.GEN_AI_CLIENT_TOKEN_USAGE, a.GEN_AI_TOKEN_TYPE)
    assert {t: p.sum for t, p in tokens.items()} == {"input": 1200, "output": 300}
    [(_, duration)] = metric_points(metric_reader, m.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1


class CountingPricing(Pricing):
    """Real prices; counts how often a call is priced."""

    def __init__(self) -> None:
        super().__init__()
        self.priced = 0

    def cost(self, *args: Any, **kwargs: Any) -> Any:
        self.priced += 1
        return super().cost(*args, **kwargs)


def test_a_span_is_priced_once_for_the_metric_the_sampler_and_the_attribute(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    make_span: MakeSpan,
    metric_reader: InMemoryMetricReader,
) -> None:
    pricing = CountingPricing()
    tracer_provider.add_span_processor(TokenCostMetricsProcessor(meter_provider, pricing=pricing))
    span = make_span(genai_attributes(input_tokens=1200, output_tokens=300))
    assert pricing.priced == 1

    sampler_cost = pricing.span_cost(span)  # what the tail sampler's cost policy calls
    record = MutableSpan.from_span(span)
    CostAttributeStage(pricing)(record)

    assert pricing.priced == 1
    expected = float(
        price("gpt-4o-2024-08-06", "openai", input_tokens=1200, output_tokens=300).total_price
    )
    assert sampler_cost == pytest.approx(expected)
    assert record.attributes[COST_USD] == pytest.approx(expected)
    cost = by_type(metric_reader, COST_METRIC, COST_TYPE)
    assert sum(p.value for p in cost.values()) == pytest.approx(expected)


def test_a_span_the_processor_did_not_price_is_priced_from_its_attributes(
    make_span: MakeSpan,
) -> None:
    # No processor on this provider: the stage and the sampler price the span themselves.
    pricing = CountingPricing()
    span = make_span(genai_attributes(input_tokens=1200, output_tokens=300))
    record = MutableSpan.from_span(span)
    CostAttributeStage(pricing)(record)
    expected = float(
        price("gpt-4o-2024-08-06", "openai", input_tokens=1200, output_tokens=300).total_price
    )
    assert record.attributes[COST_USD] == pytest.approx(expected)
    assert pricing.span_cost(span) == pytest.approx(expected)
    assert pricing.priced == 2


def test_the_priced_table_is_bounded(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    make_span: MakeSpan,
) -> None:
    pricing = CountingPricing()
    tracer_provider.add_span_processor(TokenCostMetricsProcessor(meter_provider, pricing=pricing))
    first = make_span(genai_attributes(input_tokens=10, output_tokens=1))
    for _ in range(PRICED_SPANS):
        make_span(genai_attributes(input_tokens=10, output_tokens=1))
    assert len(pricing._priced) == PRICED_SPANS
    priced = pricing.priced
    # The first span was pushed out: pricing it again gives the same cost.
    expected = price("gpt-4o-2024-08-06", "openai", input_tokens=10, output_tokens=1)
    assert pricing.span_cost(first) == pytest.approx(float(expected.total_price))
    assert pricing.priced == priced + 1
