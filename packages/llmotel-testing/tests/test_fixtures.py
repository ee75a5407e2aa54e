"""The capture fixtures and the assertion helpers."""

from __future__ import annotations

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.testing import StubServer, find_span, find_spans, metric_points, span_tree


def test_tracer_provider_exports_to_span_exporter(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("parent"):
        with tracer.start_as_current_span("first"), tracer.start_as_current_span("leaf"):
            pass
        with tracer.start_as_current_span("second"):
            pass
    spans = span_exporter.get_finished_spans()
    assert span_tree(spans) == [("parent", [("first", [("leaf", [])]), ("second", [])])]
    assert find_span(spans, "leaf").parent == find_span(spans, "first").context
    assert find_spans(spans, "missing") == []


def test_find_span_names_what_there_is(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    tracer_provider.get_tracer("test").start_span("only").end()
    with pytest.raises(AssertionError, match="among \\['only'\\]"):
        find_span(span_exporter.get_finished_spans(), "other")


def test_meter_provider_is_read_by_metric_reader(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    histogram = meter_provider.get_meter("test").create_histogram("gen_ai.client.token.usage")
    histogram.record(5, {"gen_ai.token.type": "input"})
    histogram.record(7, {"gen_ai.token.type": "output"})
    found = metric_points(metric_reader, "gen_ai.client.token.usage")
    points = {attrs["gen_ai.token.type"]: p for attrs, p in found}
    assert points["input"].sum == 5
    assert points["output"].count == 1
    assert metric_points(metric_reader, "absent") == []


def test_logger_provider_exports_to_log_exporter(
    logger_provider: LoggerProvider, log_exporter
) -> None:  # type: ignore[no-untyped-def]
    logger = logger_provider.get_logger("test")
    logger.emit(event_name="gen_ai.client.inference.operation.details", body={"a": 1})
    (record,) = log_exporter.get_finished_logs()
    assert record.log_record.event_name == "gen_ai.client.inference.operation.details"


def test_fixtures_set_no_global_provider(
    tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> None:
    assert trace.get_tracer_provider() is not tracer_provider
    assert metrics.get_meter_provider() is not meter_provider


def test_llm_stub_is_reset_between_tests_part_one(llm_stub: StubServer) -> None:
    llm_stub.latency = 5.0
    llm_stub.enqueue(*[])
    assert llm_stub.requests == []


def test_llm_stub_is_reset_between_tests_part_two(llm_stub: StubServer) -> None:
    assert llm_stub.latency == 0.0
    assert llm_stub.pending == 0
