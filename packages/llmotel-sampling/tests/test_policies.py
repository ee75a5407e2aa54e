"""Each tail policy on hand-built traces of real SDK spans."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from llmotel.sampling import (
    AttributePolicy,
    CostPolicy,
    ErrorPolicy,
    LatencyPolicy,
    ProbabilisticPolicy,
    TokenPolicy,
)
from llmotel.semconv.attributes import (
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)

SECOND = 1_000_000_000
MakeSpan = Callable[..., ReadableSpan]


@pytest.fixture
def make(span_exporter: InMemorySpanExporter) -> MakeSpan:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    tracer = provider.get_tracer("policies")

    def make(
        attributes: Mapping[str, AttributeValue] | None = None,
        *,
        start: int = 0,
        end: int = 1,
        error: bool = False,
    ) -> ReadableSpan:
        started = tracer.start_span("s", attributes=attributes, start_time=start)
        if error:
            started.set_status(Status(StatusCode.ERROR))
        started.end(end_time=end)
        return span_exporter.get_finished_spans()[-1]

    return make


def test_error_policy(make: MakeSpan) -> None:
    assert ErrorPolicy().should_keep([make(), make(error=True)])
    assert not ErrorPolicy().should_keep([make(), make()])


def test_latency_policy_spans_first_start_to_last_end(make: MakeSpan) -> None:
    trace = [make(start=0, end=SECOND), make(start=2 * SECOND, end=3 * SECOND)]
    assert LatencyPolicy(2.9).should_keep(trace)
    assert not LatencyPolicy(3.0).should_keep(trace)


def test_token_policy_sums_input_and_output_over_the_trace(make: MakeSpan) -> None:
    trace = [
        make({GEN_AI_USAGE_INPUT_TOKENS: 600, GEN_AI_USAGE_OUTPUT_TOKENS: 100}),
        make({GEN_AI_USAGE_INPUT_TOKENS: 300}),
        make({GEN_AI_USAGE_OUTPUT_TOKENS: True}),  # not a count
        make(),
    ]
    assert TokenPolicy(999).should_keep(trace)
    assert not TokenPolicy(1000).should_keep(trace)


def test_cost_policy_reads_the_attribute_or_a_function(make: MakeSpan) -> None:
    trace = [make({"llmotel.cost.usd": 0.2}), make({"llmotel.cost.usd": 0.15}), make()]
    assert CostPolicy(0.3).should_keep(trace)
    assert not CostPolicy(0.35).should_keep(trace)
    priced = CostPolicy(1.0, cost=lambda s: 0.4 if s.attributes.get(GEN_AI_REQUEST_MODEL) else None)
    assert priced.should_keep([make({GEN_AI_REQUEST_MODEL: "o3"})] * 3)
    assert not priced.should_keep([make({GEN_AI_REQUEST_MODEL: "o3"}), make()])
    # The attribute, when present, wins over the function.
    attributed = make({GEN_AI_REQUEST_MODEL: "o3", "llmotel.cost.usd": 0.01})
    assert not priced.should_keep([attributed] * 3)


def test_attribute_policy(make: MakeSpan) -> None:
    policy = AttributePolicy(GEN_AI_REQUEST_MODEL, {"o3", "gpt-5"})
    assert policy.name == "attribute:gen_ai.request.model"
    assert policy.should_keep([make(), make({GEN_AI_REQUEST_MODEL: "gpt-5"})])
    assert not policy.should_keep([make({GEN_AI_REQUEST_MODEL: "gpt-4o"})])
    assert not policy.should_keep([make({GEN_AI_REQUEST_MODEL: ("o3",)})])


def test_probabilistic_policy_extremes(make: MakeSpan) -> None:
    trace = [make()]
    assert ProbabilisticPolicy(1.0).should_keep(trace)
    assert not ProbabilisticPolicy(0.0).should_keep(trace)
    with pytest.raises(ValueError, match="ratio"):
        ProbabilisticPolicy(-0.1)
