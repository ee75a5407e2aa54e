"""validate_span / assert_semconv / SemconvValidator against the generated v1.41 registry."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmotel.sdk import PipelineSpanExporter, SemconvValidator
from llmotel.sdk.validation import Violation, assert_semconv, validate_span
from llmotel.testing import metric_points

VALID = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 10,
    "gen_ai.request.temperature": 0.5,
    "gen_ai.response.finish_reasons": ["stop"],
    "server.address": "api.openai.com",
    "server.port": 443,
    "gen_ai.input.messages": json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    ),
}


def span(
    name: str = "chat gpt-4o", status: Status | None = None, **attributes: Any
) -> ReadableSpan:
    attrs = {**VALID, **attributes}
    s = (
        TracerProvider()
        .get_tracer("t")
        .start_span(
            name, kind=SpanKind.CLIENT, attributes={k: v for k, v in attrs.items() if v is not None}
        )
    )
    if status is not None:
        s.set_status(status)
    s.end()
    return s  # type: ignore[return-value]


def rules(s: ReadableSpan) -> list[tuple[str, str | None]]:
    return [(v.rule, v.attribute) for v in validate_span(s)]


def test_valid_span_has_no_violations() -> None:
    assert validate_span(span()) == []
    assert_semconv(span())


def test_required_missing() -> None:
    assert rules(span(**{"gen_ai.provider.name": None})) == [("required", "gen_ai.provider.name")]


def test_types_are_checked() -> None:
    found = rules(
        span(
            **{
                "gen_ai.usage.input_tokens": "10",
                "gen_ai.request.temperature": True,
                "gen_ai.response.finish_reasons": "stop",
            }
        )
    )
    assert found == [
        ("type", "gen_ai.usage.input_tokens"),
        ("type", "gen_ai.request.temperature"),
        ("type", "gen_ai.response.finish_reasons"),
    ]
    message = str(validate_span(span(**{"gen_ai.usage.input_tokens": "10"}))[0])
    assert message == "[type] gen_ai.usage.input_tokens must be int, got str '10'"


def test_deprecated_names() -> None:
    (violation,) = validate_span(span(**{"gen_ai.usage.prompt_tokens": 3}))
    assert violation == Violation(
        "deprecated",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.prompt_tokens is deprecated: use gen_ai.usage.input_tokens",
    )


def test_conditionally_required() -> None:
    errored = span(status=Status(StatusCode.ERROR, "boom"))
    assert rules(errored) == [("conditionally_required", "error.type")]
    assert rules(span(status=Status(StatusCode.ERROR), **{"error.type": "Timeout"})) == []
    assert rules(span(**{"server.port": None})) == [("conditionally_required", "server.port")]


def test_span_name() -> None:
    (violation,) = validate_span(span("openai.chat"))
    assert violation.message == "span name 'openai.chat' should be 'chat gpt-4o'"
    # The generic inference span asks for the model "if available"; without it the name is the
    # operation alone. (OpenAI's own span definition makes the model required.)
    assert (
        rules(span("chat", **{"gen_ai.request.model": None, "gen_ai.provider.name": "groq"})) == []
    )
    assert rules(span("chat", **{"gen_ai.request.model": None})) == [
        ("required", "gen_ai.request.model")
    ]


def test_tool_and_agent_spans() -> None:
    tool = (
        TracerProvider()
        .get_tracer("t")
        .start_span(
            "execute_tool get_weather",
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather"},
        )
    )
    tool.end()
    assert validate_span(tool) == []  # type: ignore[arg-type]
    agent = (
        TracerProvider()
        .get_tracer("t")
        .start_span("invoke_agent", attributes={"gen_ai.operation.name": "invoke_agent"})
    )
    agent.end()
    assert rules(agent) == [("required", "gen_ai.provider.name")]  # type: ignore[arg-type]


def test_content_schema() -> None:
    bad = json.dumps([{"role": "user"}])
    ((rule, attribute),) = rules(span(**{"gen_ai.input.messages": bad}))
    assert (rule, attribute) == ("content", "gen_ai.input.messages")
    assert rules(span(**{"gen_ai.input.messages": "{not json"}))[0][0] == "content"


def test_assert_semconv_lists_violations() -> None:
    with pytest.raises(AssertionError) as info:
        assert_semconv(span("x", **{"gen_ai.provider.name": None}))
    assert str(info.value) == (
        "span 'x' violates the GenAI semantic conventions:\n"
        "  - [required] gen_ai.provider.name is required on span.gen_ai.inference.client spans\n"
        "  - [name] span name 'x' should be 'chat gpt-4o'"
    )
    plain = TracerProvider().get_tracer("t").start_span("db query")
    plain.end()
    with pytest.raises(AssertionError, match="not a GenAI span"):
        assert_semconv(plain)  # type: ignore[arg-type]
    assert_semconv(span(**{"gen_ai.system": "openai"}), allow=["deprecated"])
    assert_semconv(
        span(**{"gen_ai.request.model": None}, name="chat"),
        allow=["required:gen_ai.request.model"],
    )
    with pytest.raises(AssertionError, match=r"gen_ai\.request\.model is required"):
        assert_semconv(span(**{"gen_ai.request.model": None}, name="chat"), allow=["required:x"])


def test_validator_stage_reports_and_passes(
    meter_provider: Any, metric_reader: InMemoryMetricReader, caplog: pytest.LogCaptureFixture
) -> None:
    validator = SemconvValidator(meter_provider=meter_provider)
    sink = InMemorySpanExporter()
    pipeline = PipelineSpanExporter([validator], sink)
    with caplog.at_level(logging.DEBUG, logger="llmotel.sdk.validation"):
        pipeline.export([span(), span("bad", **{"gen_ai.usage.input_tokens": "x"})])
    assert [s.name for s in sink.get_finished_spans()] == ["chat gpt-4o", "bad"]
    assert validator.violation_count == 2
    points = sorted(
        (a["llmotel.semconv.rule"], a.get("llmotel.semconv.attribute"), p.value)
        for a, p in metric_points(metric_reader, "llmotel.semconv.violations")
    )
    assert points == [("name", None, 1), ("type", "gen_ai.usage.input_tokens", 1)]
    assert "span 'bad': [type] gen_ai.usage.input_tokens must be int" in caplog.text
