"""genai_views (buckets, attribute filter, cardinality limit), CostAttributeStage and from_env."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from genai_prices import Usage, calc_price
from metrics_helpers import MakeSpan, genai_attributes
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from llmotel.metrics import (
    COST_METRIC,
    COST_USD,
    DEFAULT_SKIP_SCOPES,
    CostAttributeStage,
    MetricsConfig,
    PriceOverride,
    Pricing,
    TokenCostMetricsProcessor,
    from_env,
    genai_views,
)
from llmotel.sdk.config import ConfigError
from llmotel.sdk.pipeline import MutableSpan
from llmotel.semconv import attributes as a
from llmotel.semconv import metrics as m
from llmotel.testing import metric_points

OVERFLOW = {"otel.metric.overflow": True}


@pytest.fixture
def viewed_reader() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    """A MeterProvider with genai_views(cardinality_limit=3, context user.id)."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[reader],
        views=genai_views(context_attributes=[a.USER_ID], cardinality_limit=3),
    )
    yield provider, reader
    provider.shutdown()


def test_views_set_semconv_buckets_even_without_advisory(
    viewed_reader: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = viewed_reader
    meter = provider.get_meter("some.instrumentation")
    meter.create_histogram(m.GEN_AI_CLIENT_TOKEN_USAGE, unit="{token}").record(
        5, {a.GEN_AI_TOKEN_TYPE: "input"}
    )
    meter.create_histogram(m.GEN_AI_CLIENT_OPERATION_DURATION, unit="s").record(0.3)

    [(_, tokens)] = metric_points(reader, m.GEN_AI_CLIENT_TOKEN_USAGE)
    assert tuple(tokens.explicit_bounds) == m.GEN_AI_CLIENT_TOKEN_USAGE_BUCKETS
    assert tuple(tokens.bucket_counts[:3]) == (0, 0, 1)  # (-inf,1], (1,4], (4,16]
    [(_, duration)] = metric_points(reader, m.GEN_AI_CLIENT_OPERATION_DURATION)
    assert tuple(duration.explicit_bounds) == m.GEN_AI_CLIENT_OPERATION_DURATION_BUCKETS


def test_views_drop_attributes_that_are_not_listed(
    viewed_reader: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = viewed_reader
    meter = provider.get_meter("some.instrumentation")
    meter.create_histogram(m.GEN_AI_CLIENT_TOKEN_USAGE).record(
        5,
        {
            a.GEN_AI_TOKEN_TYPE: "input",
            a.GEN_AI_PROVIDER_NAME: "openai",
            a.GEN_AI_RESPONSE_ID: "chatcmpl-123",  # one series per call: dropped
            a.USER_ID: "u-1",  # listed as a context attribute: kept
            a.SESSION_ID: "s-1",  # not listed: dropped
        },
    )
    [(attrs, _)] = metric_points(reader, m.GEN_AI_CLIENT_TOKEN_USAGE)
    assert attrs == {
        a.GEN_AI_TOKEN_TYPE: "input",
        a.GEN_AI_PROVIDER_NAME: "openai",
        a.USER_ID: "u-1",
    }


def test_cardinality_limit_overflows_into_one_series_and_keeps_totals(
    viewed_reader: tuple[MeterProvider, InMemoryMetricReader],
    tracer_provider: TracerProvider,
    make_span: MakeSpan,
) -> None:
    provider, reader = viewed_reader
    tracer_provider.add_span_processor(
        TokenCostMetricsProcessor(
            provider, context_attributes=[a.USER_ID], latest_experimental=False
        )
    )
    for user in range(6):
        make_span(
            genai_attributes(input_tokens=100, output_tokens=None, extra={a.USER_ID: f"u-{user}"})
        )

    durations = metric_points(reader, m.GEN_AI_CLIENT_OPERATION_DURATION)
    assert len(durations) == 4  # three users, then everything else in the overflow series
    overflow = [p for attrs, p in durations if attrs == OVERFLOW]
    assert [p.count for p in overflow] == [3]
    assert sum(p.count for _, p in durations) == 6
    cost = metric_points(reader, COST_METRIC)
    assert len(cost) == 4
    one = float(
        calc_price(Usage(input_tokens=100), "gpt-4o-2024-08-06", provider_id="openai").total_price
    )
    assert sum(p.value for _, p in cost) == pytest.approx(6 * one, rel=1e-12)


def test_processor_bounds_the_series_it_keeps_in_memory(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    make_span: MakeSpan,
) -> None:
    # No View here: the processor's own limit bounds its cost sums.
    tracer_provider.add_span_processor(
        TokenCostMetricsProcessor(
            meter_provider,
            context_attributes=[a.USER_ID],
            cardinality_limit=2,
            latest_experimental=False,
        )
    )
    for user in range(5):
        make_span(genai_attributes(output_tokens=None, extra={a.USER_ID: f"u-{user}"}))

    cost = metric_points(metric_reader, COST_METRIC)
    assert sorted(attrs.get(a.USER_ID, "overflow") for attrs, _ in cost) == [
        "overflow",
        "u-0",
        "u-1",
    ]
    [overflow] = [p for attrs, p in cost if attrs == OVERFLOW]
    one = calc_price(Usage(input_tokens=1000), "gpt-4o-2024-08-06", provider_id="openai")
    assert overflow.value == pytest.approx(3 * float(one.total_price), rel=1e-12)


@pytest.mark.parametrize("limit", [0, -1, True, 2.5])
def test_bad_cardinality_limit(limit: object) -> None:
    with pytest.raises(ValueError, match="cardinality_limit must be a positive integer"):
        genai_views(cardinality_limit=limit)  # type: ignore[arg-type]


def test_cost_stage_sets_the_span_cost(make_span: MakeSpan) -> None:
    span = make_span(
        genai_attributes(
            input_tokens=5000,
            output_tokens=100,
            extra={a.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4096},
        )
    )
    record = CostAttributeStage()(MutableSpan.from_span(span))
    expected = calc_price(
        Usage(input_tokens=5000, output_tokens=100, cache_read_tokens=4096),
        "gpt-4o-2024-08-06",
        provider_id="openai",
    )
    assert record.attributes[COST_USD] == pytest.approx(float(expected.total_price), rel=1e-12)
    assert record.to_span().attributes[COST_USD] == record.attributes[COST_USD]  # type: ignore[index]


@pytest.mark.parametrize(
    "attributes",
    [
        genai_attributes(model="acme-llm-7", response_model=None),
        genai_attributes(input_tokens=None, output_tokens=None),
        {"http.request.method": "GET"},
        genai_attributes(extra={COST_USD: 0.5}),
    ],
)
def test_cost_stage_leaves_other_spans_alone(
    make_span: MakeSpan, attributes: dict[str, object]
) -> None:
    span = make_span(attributes)
    record = CostAttributeStage()(MutableSpan.from_span(span))
    assert record.attributes == dict(span.attributes or {})


def test_from_env_defaults() -> None:
    config = from_env({})
    assert config == MetricsConfig()
    assert config.skip_scopes == DEFAULT_SKIP_SCOPES
    assert config.price_update_interval is None  # no network unless asked


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"my-model": {"input_mtok": 1, "output_mtok": 2}}))
    config = from_env(
        {
            "LLMOTEL_METRICS_CONTEXT_ATTRIBUTES": " user.id , session.id ",
            "LLMOTEL_METRICS_PRICE_FILE": str(prices),
            "LLMOTEL_METRICS_CARDINALITY_LIMIT": "500",
            "LLMOTEL_METRICS_SKIP_SCOPES": "my.instrumentation",
            "LLMOTEL_METRICS_PRICE_UPDATE": "true",
            "LLMOTEL_METRICS_PRICE_UPDATE_INTERVAL": "2h",
        }
    )
    assert config == MetricsConfig(
        context_attributes=("user.id", "session.id"),
        price_overrides=(PriceOverride(model="my-model", input_mtok=1.0, output_mtok=2.0),),
        cardinality_limit=500,
        skip_scopes=DEFAULT_SKIP_SCOPES | {"my.instrumentation"},
        price_update_interval=7200.0,
    )
    assert all(v._aggregation_cardinality_limit == 500 for v in config.views())


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("LLMOTEL_METRICS_CARDINALITY_LIMIT", "many", "an integer >= 1"),
        ("LLMOTEL_METRICS_CARDINALITY_LIMIT", "0", "an integer >= 1"),
        ("LLMOTEL_METRICS_PRICE_UPDATE", "sometimes", "one of true, false"),
        ("LLMOTEL_METRICS_PRICE_UPDATE_INTERVAL", "10s", "a duration"),
        ("LLMOTEL_METRICS_PRICE_FILE", "/nonexistent.json", "a readable JSON or YAML price file"),
    ],
)
def test_from_env_names_the_bad_variable(variable: str, value: str, accepted: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_env({variable: value})
    assert info.value.variable == variable
    assert info.value.value == value
    assert accepted in info.value.accepted


def test_config_builds_a_processor_and_stage_sharing_prices(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    make_span: MakeSpan,
) -> None:
    config = MetricsConfig(
        price_overrides=(PriceOverride(model="my-model", input_mtok=1.0, output_mtok=2.0),)
    )
    pricing = config.create_pricing()
    tracer_provider.add_span_processor(config.create_processor(meter_provider, pricing))
    span = make_span(genai_attributes(model="my-model", response_model=None, input_tokens=10**6))
    stage = config.create_cost_stage(pricing)
    assert stage(MutableSpan.from_span(span)).attributes[COST_USD] == pytest.approx(1.0 + 0.0004)
    assert sum(p.value for _, p in metric_points(metric_reader, COST_METRIC)) == pytest.approx(
        1.0004
    )


def test_span_cost_prices_a_finished_span_for_the_tail_sampler(make_span: MakeSpan) -> None:
    pricing = Pricing()
    span = make_span(genai_attributes(input_tokens=2000, output_tokens=500))
    expected = calc_price(
        Usage(input_tokens=2000, output_tokens=500), "gpt-4o-2024-08-06", provider_id="openai"
    )
    assert pricing.span_cost(span) == pytest.approx(float(expected.total_price), rel=1e-12)
    assert pricing.span_cost(make_span({"http.request.method": "GET"})) is None
    assert pricing.span_cost(make_span(genai_attributes(model="acme", response_model=None))) is None


class _FakeUpdatePrices:
    instances: ClassVar[list[_FakeUpdatePrices]] = []

    def __init__(self, update_interval: float) -> None:
        self.update_interval = update_interval
        self.events: list[str] = []
        self.instances.append(self)

    def start(self) -> None:
        self.events.append("start")

    def stop(self) -> None:
        self.events.append("stop")


def test_price_updates_are_opt_in_and_stop_with_the_tracer_provider(
    monkeypatch: pytest.MonkeyPatch, meter_provider: MeterProvider
) -> None:
    import genai_prices

    monkeypatch.setattr(genai_prices, "UpdatePrices", _FakeUpdatePrices)
    MetricsConfig().create_pricing()
    assert _FakeUpdatePrices.instances == []  # off by default: no network

    config = from_env(
        {"LLMOTEL_METRICS_PRICE_UPDATE": "on", "LLMOTEL_METRICS_PRICE_UPDATE_INTERVAL": "30m"}
    )
    provider = TracerProvider()
    provider.add_span_processor(config.create_processor(meter_provider))
    [updater] = _FakeUpdatePrices.instances
    assert (updater.update_interval, updater.events) == (1800.0, ["start"])
    provider.shutdown()
    assert updater.events == ["start", "stop"]
