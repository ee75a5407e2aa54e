"""Configuration from LLMOTEL_SAMPLING_* variables: what each builds, and start-up errors."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.sampling import (
    AttributePolicy,
    CostPolicy,
    ErrorPolicy,
    LatencyPolicy,
    ProbabilisticPolicy,
    RateLimitingSpanProcessor,
    TailSamplingProcessor,
    TokenPolicy,
    sampling_span_processor_from_env,
    tail_policies_from_env,
    tail_sampling_processor_from_env,
)
from llmotel.sdk.config import ConfigError


def _next() -> SimpleSpanProcessor:
    return SimpleSpanProcessor(InMemorySpanExporter())


def test_defaults_keep_errors_and_a_ten_percent_baseline() -> None:
    policies = tail_policies_from_env(environ={})
    assert [type(p) for p in policies] == [ErrorPolicy, ProbabilisticPolicy]
    assert policies[1].ratio == 0.1  # type: ignore[attr-defined]


def test_every_policy_from_the_environment() -> None:
    policies = tail_policies_from_env(
        environ={
            "LLMOTEL_SAMPLING_KEEP_ERRORS": "false",
            "LLMOTEL_SAMPLING_LATENCY_THRESHOLD": "2.5s",
            "LLMOTEL_SAMPLING_TOKENS_THRESHOLD": "20000",
            "LLMOTEL_SAMPLING_COST_THRESHOLD_USD": "0.25",
            "LLMOTEL_SAMPLING_KEEP": "user.id=alice,user.id=bob",
            "LLMOTEL_SAMPLING_BASELINE_RATIO": "0.01",
        }
    )
    assert [p.name for p in policies] == [
        "latency",
        "tokens",
        "cost",
        "attribute:user.id",
        "probabilistic",
    ]
    latency, tokens, cost, attribute, baseline = policies
    assert isinstance(latency, LatencyPolicy)
    assert latency.threshold_seconds == 2.5
    assert isinstance(tokens, TokenPolicy)
    assert tokens.threshold == 20000
    assert isinstance(cost, CostPolicy)
    assert cost.threshold_usd == 0.25
    assert isinstance(attribute, AttributePolicy)
    assert attribute.values == {"alice", "bob"}
    assert isinstance(baseline, ProbabilisticPolicy)
    assert baseline.ratio == 0.01


def test_nothing_set_leaves_the_exporting_processor_alone() -> None:
    exporting = _next()
    assert sampling_span_processor_from_env(exporting, environ={}) is exporting


def test_tail_and_rate_limit_wrap_in_that_order() -> None:
    exporting = _next()
    processor = sampling_span_processor_from_env(
        exporting,
        environ={
            "LLMOTEL_SAMPLING_TAIL": "true",
            "LLMOTEL_SAMPLING_MAX_SPANS_PER_SECOND": "500",
            "LLMOTEL_SAMPLING_MAX_BYTES": "1048576",
            "LLMOTEL_SAMPLING_OVERFLOW": "KEEP",
        },
    )
    assert isinstance(processor, TailSamplingProcessor)
    assert isinstance(processor._next, RateLimitingSpanProcessor)
    assert processor._next._next is exporting
    # A sixteenth of max_bytes holds the decision record (2048 decisions at 28 B), an eighth is
    # headroom, the spans get the rest.
    assert processor.decision_record_size == (2048, 2048 * 28)
    assert processor.max_buffered_bytes == 1048576 - 1048576 // 8 - 2048 * 28
    assert processor._overflow == "keep"
    processor.shutdown()


def test_tail_processor_settings() -> None:
    processor = tail_sampling_processor_from_env(
        _next(),
        environ={
            "LLMOTEL_SAMPLING_DECISION_WAIT": "500ms",
            "LLMOTEL_SAMPLING_MAX_TRACES": "10",
            "LLMOTEL_SAMPLING_MAX_SPANS": "20",
        },
    )
    assert (processor._decision_wait, processor._max_traces, processor._max_spans) == (
        0.5,
        10,
        20,
    )
    processor.shutdown()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LLMOTEL_SAMPLING_BASELINE_RATIO", "1.5"),
        ("LLMOTEL_SAMPLING_MAX_BYTES", "-1"),
        ("LLMOTEL_SAMPLING_MAX_BYTES", "64MB"),
        ("LLMOTEL_SAMPLING_MAX_TRACES", "0"),
        ("LLMOTEL_SAMPLING_DECISION_WAIT", "soon"),
        ("LLMOTEL_SAMPLING_LATENCY_THRESHOLD", "-2s"),
        ("LLMOTEL_SAMPLING_TOKENS_THRESHOLD", "many"),
        ("LLMOTEL_SAMPLING_COST_THRESHOLD_USD", "-0.1"),
        ("LLMOTEL_SAMPLING_OVERFLOW", "panic"),
        ("LLMOTEL_SAMPLING_TAIL", "sometimes"),
        ("LLMOTEL_SAMPLING_MAX_SPANS_PER_SECOND", "0"),
        ("LLMOTEL_SAMPLING_MAX_TRACES_PER_SECOND", "-3"),
        ("LLMOTEL_SAMPLING_KEEP", "=alice"),
    ],
)
def test_nonsense_fails_at_start_up_naming_the_variable(variable: str, value: str) -> None:
    # Validated even with tail sampling off: a typo must not wait until someone turns it on.
    with pytest.raises(ConfigError) as error:
        sampling_span_processor_from_env(_next(), environ={variable: value})
    assert error.value.variable == variable
    assert str(error.value).startswith(f"{variable}={value!r} is invalid: expected ")


def test_a_cost_function_reaches_the_cost_policy() -> None:
    def price(span: object) -> float | None:
        return 1.0

    processor = sampling_span_processor_from_env(
        _next(),
        environ={"LLMOTEL_SAMPLING_TAIL": "true", "LLMOTEL_SAMPLING_COST_THRESHOLD_USD": "0.5"},
        cost=price,  # type: ignore[arg-type]
    )
    assert isinstance(processor, TailSamplingProcessor)
    (cost_policy,) = [p for p in processor.policies if isinstance(p, CostPolicy)]
    assert cost_policy._cost is price
    processor.shutdown()
