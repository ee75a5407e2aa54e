"""finished_attributes: the fast read of an ended span's attributes, and its public fallbacks."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.sdk.spans import finished_attributes


def _ended_span() -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("chat m") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.usage.input_tokens", 12)
    (finished,) = exporter.get_finished_spans()
    return finished


def test_ended_sdk_span_is_read_through_its_plain_dict() -> None:
    # The supported SDK range keeps the structure the fast path reads: if this fails on a new SDK
    # release, the fallback still gives correct values but the upper bound must be looked at.
    span = _ended_span()
    attributes = finished_attributes(span)
    assert type(attributes) is dict
    assert attributes == {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 12}
    assert attributes == dict(span.attributes or {})


def test_recording_span_gets_the_public_mapping() -> None:
    provider = TracerProvider()
    span = provider.get_tracer("t").start_span("s", attributes={"a": 1})
    try:
        attributes = finished_attributes(span)  # type: ignore[arg-type]
        assert type(attributes) is not dict
        assert dict(attributes or {}) == {"a": 1}
    finally:
        span.end()


def test_other_readable_span_gets_its_public_attributes() -> None:
    span = ReadableSpan(name="foreign", attributes={"gen_ai.operation.name": "chat"})
    assert finished_attributes(span) == {"gen_ai.operation.name": "chat"}
    assert finished_attributes(ReadableSpan(name="empty")) in (None, {})
