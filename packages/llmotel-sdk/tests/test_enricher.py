"""ContextEnricher: context attributes land on every span at start."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.sdk import ContextEnricher, using_attributes, using_conversation, using_session


def _provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(ContextEnricher())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def test_copies_context_attributes_onto_spans(span_exporter: InMemorySpanExporter) -> None:
    tracer = _provider(span_exporter).get_tracer("t")
    with tracer.start_as_current_span("outside"):
        pass
    with using_session("s1"), using_conversation("c1"):
        with tracer.start_as_current_span("parent"), tracer.start_as_current_span("child"):
            pass
        with using_attributes({"session.id": "s2"}), tracer.start_as_current_span("inner"):
            pass
    by_name = {s.name: dict(s.attributes or {}) for s in span_exporter.get_finished_spans()}
    assert by_name == {
        "outside": {},
        "child": {"session.id": "s1", "gen_ai.conversation.id": "c1"},
        "parent": {"session.id": "s1", "gen_ai.conversation.id": "c1"},
        "inner": {"session.id": "s2", "gen_ai.conversation.id": "c1"},
    }


def test_keeps_what_the_instrumentation_set(span_exporter: InMemorySpanExporter) -> None:
    tracer = _provider(span_exporter).get_tracer("t")
    with using_session("from-context"):
        tracer.start_span("s", attributes={"session.id": "explicit"}).end()
    assert span_exporter.get_finished_spans()[0].attributes == {"session.id": "explicit"}


def test_reads_the_context_the_span_was_started_in(span_exporter: InMemorySpanExporter) -> None:
    from opentelemetry import context

    tracer = _provider(span_exporter).get_tracer("t")
    with using_session("captured"):
        captured = context.get_current()
    tracer.start_span("s", context=captured).end()
    assert span_exporter.get_finished_spans()[0].attributes == {"session.id": "captured"}
