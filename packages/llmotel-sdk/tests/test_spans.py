"""llmotel.sdk.spans, the one module reading SDK internals: its fast reads agree with the public API.

Runs on the newest SDK llmotel-sdk allows and, in the ``oldest`` sessions, on the oldest one.
"""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from llmotel.sdk.spans import SpanCopy, estimate_bytes, finished_attributes


class _Ended(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def _finished_span(handed_to_on_end: bool = True) -> ReadableSpan:
    """A finished span as processors get it in ``on_end`` (the SDK hands them a ``ReadableSpan``
    sharing the span's containers), or the ``Span`` object itself."""
    ended = _Ended()
    provider = TracerProvider(
        span_limits=SpanLimits(max_span_attributes=3, max_events=2, max_links=1)
    )
    provider.add_span_processor(ended)
    tracer = provider.get_tracer("sdk-test", "1.2.3")
    linked = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    span = tracer.start_span(
        "chat gpt-4o",
        kind=SpanKind.CLIENT,
        attributes={"a": 1, "b": "two", "c": 3.0, "d": True},
        links=[Link(linked, {"why": "retry"}), Link(linked)],
    )
    for i in range(3):
        span.add_event(f"event {i}", {"gen_ai.prompt": "x" * 40})
    span.set_status(Status(StatusCode.ERROR, "boom"))
    span.end()
    return ended.spans[0] if handed_to_on_end else span  # type: ignore[return-value]


def _public_view(span: ReadableSpan) -> tuple[object, ...]:
    return (
        span.name,
        span.context,
        span.parent,
        span.resource,
        dict(span.attributes or {}),
        [(e.name, dict(e.attributes or {}), e.timestamp) for e in span.events],
        [(link.context, dict(link.attributes or {})) for link in span.links],
        span.kind,
        (span.status.status_code, span.status.description),
        span.start_time,
        span.end_time,
        span.instrumentation_scope,
        (span.dropped_attributes, span.dropped_events, span.dropped_links),
    )


@pytest.mark.parametrize("handed_to_on_end", [True, False], ids=["on_end's ReadableSpan", "Span"])
def test_a_copy_of_an_sdk_span_reads_as_the_span_does(handed_to_on_end: bool) -> None:
    span = _finished_span(handed_to_on_end)
    copy = SpanCopy(span)
    assert _public_view(copy) == _public_view(span)
    assert (copy.dropped_attributes, copy.dropped_events, copy.dropped_links) == (1, 1, 1)
    copy.own_attributes["llmotel.sampling.policy"] = "error"
    assert "llmotel.sampling.policy" not in (span.attributes or {})


def test_a_copy_of_any_other_readable_span_goes_through_the_public_api() -> None:
    span = _finished_span()
    plain = ReadableSpan(
        name=span.name,
        context=span.context,
        attributes=dict(span.attributes or {}),
        events=span.events,
        links=span.links,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
    assert _public_view(SpanCopy(plain)) == _public_view(plain)
    twice = SpanCopy(SpanCopy(span))
    assert _public_view(twice) == _public_view(span)


def test_finished_attributes_are_the_span_attributes() -> None:
    span = _finished_span()
    assert dict(finished_attributes(span)) == dict(span.attributes or {})
    assert dict(finished_attributes(SpanCopy(span))) == dict(span.attributes or {})
    assert dict(finished_attributes(ReadableSpan("empty"))) == {}


def test_the_size_estimate_reads_sdk_spans_and_copies_alike() -> None:
    span = _finished_span()
    # 3 attributes ("two": 3 chars), 2 events with one 40-char attribute each, 1 link.
    expected = 3000 + 3 * 64 + 3 + 2 * (700 + 64 + 40) + 300
    assert estimate_bytes(span) == expected
    assert estimate_bytes(SpanCopy(span)) == expected


def test_on_this_sdk_its_spans_take_the_direct_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # If an SDK release changes these internals, the public path still gives the same results
    # (tests above) but this fails: time to look at the upper bound in pyproject.toml.
    def public_path(self: SpanCopy, span: ReadableSpan) -> None:
        raise AssertionError("took the public path")

    monkeypatch.setattr(SpanCopy, "_copy_public", public_path)
    for handed_to_on_end in (True, False):
        span = _finished_span(handed_to_on_end)
        SpanCopy(span)
        assert finished_attributes(span) is span._attributes._dict  # type: ignore[union-attr]


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


def test_other_readable_span_gets_its_public_attributes() -> None:
    span = ReadableSpan(name="foreign", attributes={"gen_ai.operation.name": "chat"})
    assert finished_attributes(span) == {"gen_ai.operation.name": "chat"}
    assert finished_attributes(ReadableSpan(name="empty")) in (None, {})
