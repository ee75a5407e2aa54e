"""The stage on real SDK spans and logs; the ready processors; summary, metrics, fail-closed."""

from __future__ import annotations

import json
import time
from typing import Any

from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link
from presidio_analyzer import Pattern, PatternRecognizer

from llmotel.redaction import (
    COUNT_ATTRIBUTE,
    FAILED_ATTRIBUTE,
    FAILED_MARKER,
    RedactingLogRecordProcessor,
    RedactingSpanProcessor,
    RedactionStage,
    Redactor,
    entity_count_attribute,
)
from llmotel.sdk.pipeline import MutableSpan, PipelineSpanExporter
from llmotel.semconv import attributes as sc
from llmotel.testing import metric_points

PROMPT = json.dumps(
    [
        {
            "role": "user",
            "parts": [{"type": "text", "content": "I am jane@example.com, SSN 536-90-4399"}],
        }
    ]
)


def _finished_span(tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter) -> Any:
    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("linked") as other:
        pass
    span = tracer.start_span(
        "chat gpt-4o",
        links=[Link(other.get_span_context(), {"note": "from 198.51.100.4"})],
    )
    span.set_attribute(sc.GEN_AI_OPERATION_NAME, "chat")
    span.set_attribute(sc.GEN_AI_REQUEST_MODEL, "gpt-4o")
    span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, PROMPT)
    span.add_event(
        "exception",
        {
            sc.EXCEPTION_TYPE: "ValueError",
            sc.EXCEPTION_MESSAGE: "bad card 4111 1111 1111 1111",
            sc.EXCEPTION_STACKTRACE: (
                'File "app.py", line 3\nValueError: bad card 4111 1111 1111 1111'
            ),
        },
    )
    span.end()
    return span_exporter.get_finished_spans()[-1]


def test_stage_redacts_attributes_events_links_and_summarizes(
    redactor: Redactor,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    span = _finished_span(tracer_provider, span_exporter)
    stage = RedactionStage(redactor, meter_provider=meter_provider)
    out = stage(MutableSpan.from_span(span)).to_span()

    assert json.loads(out.attributes[sc.GEN_AI_INPUT_MESSAGES]) == [
        {
            "role": "user",
            "parts": [{"type": "text", "content": "I am <EMAIL_ADDRESS>, SSN <US_SSN>"}],
        }
    ]
    assert out.events[0].attributes[sc.EXCEPTION_MESSAGE] == "bad card <CREDIT_CARD>"
    assert out.events[0].attributes[sc.EXCEPTION_STACKTRACE] == (
        'File "app.py", line 3\nValueError: bad card <CREDIT_CARD>'
    )
    assert out.links[0].attributes["note"] == "from <IP_ADDRESS>"
    assert out.name == "chat gpt-4o"
    assert out.attributes[COUNT_ATTRIBUTE] == 5
    assert out.attributes[entity_count_attribute("CREDIT_CARD")] == 2
    assert out.attributes["llmotel.redaction.email_address.count"] == 1
    # The finished span itself is untouched.
    assert span.attributes[sc.GEN_AI_INPUT_MESSAGES] == PROMPT

    counted = {
        attrs["llmotel.redaction.entity_type"]: point.value
        for attrs, point in metric_points(metric_reader, "llmotel.redaction.entities")
    }
    assert counted == {"EMAIL_ADDRESS": 1, "US_SSN": 1, "CREDIT_CARD": 2, "IP_ADDRESS": 1}
    ((attrs, duration),) = metric_points(metric_reader, "llmotel.redaction.duration")
    assert attrs == {"llmotel.redaction.signal": "span"}
    assert duration.count == 1


def test_names_by_default_and_off_when_asked(
    redactor: Redactor, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    tracer_provider.get_tracer("t").start_span("lookup jane@example.com").end()
    span = span_exporter.get_finished_spans()[-1]
    assert RedactionStage(redactor)(MutableSpan.from_span(span)).name == "lookup <EMAIL_ADDRESS>"
    unnamed = RedactionStage(redactor, redact_names=False)
    assert unnamed(MutableSpan.from_span(span)).name == "lookup jane@example.com"


class _Exploding(PatternRecognizer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(supported_entity="BOOM", patterns=[Pattern("any", r"\w+", 0.9)])
        self.armed = False  # armed after the redactor's warm-up

    def validate_result(self, pattern_text: str) -> bool:
        if self.armed:
            raise RuntimeError("recognizer bug")
        return False


class _Slow(PatternRecognizer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(supported_entity="SLOW", patterns=[Pattern("any", r"\w+", 0.9)])
        self.armed = False

    def validate_result(self, pattern_text: str) -> bool:
        if self.armed:
            time.sleep(0.05)
        return False


def test_fail_closed_on_error(
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    span = _finished_span(tracer_provider, span_exporter)
    exploding = _Exploding()
    stage = RedactionStage(
        Redactor(entities=["EMAIL_ADDRESS"], recognizers=[exploding]),
        meter_provider=meter_provider,
    )
    exploding.armed = True
    out = stage(MutableSpan.from_span(span))
    assert out.attributes[sc.GEN_AI_INPUT_MESSAGES] == FAILED_MARKER
    assert out.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert out.events[0].attributes[sc.EXCEPTION_MESSAGE] == FAILED_MARKER
    assert out.links[0].attributes["note"] == FAILED_MARKER
    assert out.attributes[FAILED_ATTRIBUTE] == "error"
    ((attrs, point),) = metric_points(metric_reader, "llmotel.redaction.failures")
    assert attrs == {"llmotel.redaction.reason": "error", "llmotel.redaction.signal": "span"}
    assert point.value == 1


def test_fail_closed_on_time_budget(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    slow = _Slow()
    redactor = Redactor(entities=["EMAIL_ADDRESS"], recognizers=[slow])
    slow.armed = True
    span = _finished_span(tracer_provider, span_exporter)
    started = time.monotonic()
    out = RedactionStage(redactor, time_budget=0.01)(MutableSpan.from_span(span))
    assert time.monotonic() - started < 2
    assert out.attributes[FAILED_ATTRIBUTE] == "timeout"
    assert out.attributes[sc.GEN_AI_INPUT_MESSAGES] == FAILED_MARKER
    assert out.events[0].attributes[sc.EXCEPTION_STACKTRACE] == FAILED_MARKER


def test_redacting_span_processor_exports_only_redacted_spans(redactor: Redactor) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor(exporter, redactor))
    span = provider.get_tracer("t").start_span("chat")
    span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, PROMPT)
    span.end()
    provider.force_flush()
    (exported,) = exporter.get_finished_spans()
    assert "jane@example.com" not in exported.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert exported.attributes[COUNT_ATTRIBUTE] == 2
    provider.shutdown()


def test_stage_in_a_pipeline_exporter(
    redactor: Redactor, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    span = _finished_span(tracer_provider, span_exporter)
    target = InMemorySpanExporter()
    PipelineSpanExporter([RedactionStage(redactor)], target).export([span])
    (exported,) = target.get_finished_spans()
    assert exported.attributes[COUNT_ATTRIBUTE] == 5


def test_redacting_log_record_processor(redactor: Redactor) -> None:
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call,unused-ignore]
    provider = LoggerProvider()
    provider.add_log_record_processor(RedactingLogRecordProcessor(exporter, redactor))
    logger = provider.get_logger("t")
    logger.emit(
        LogRecord(
            body={"message": {"role": "user", "content": "card 4111 1111 1111 1111"}},
            attributes={"user.contact": "jane@example.com", sc.GEN_AI_PROVIDER_NAME: "openai"},
            event_name="gen_ai.user.message",
        )
    )
    logger.emit(LogRecord(body="plain a@example.com"))
    provider.force_flush()
    first, second = (r.log_record for r in exporter.get_finished_logs())
    assert first.body == {"message": {"role": "user", "content": "card <CREDIT_CARD>"}}
    assert first.attributes["user.contact"] == "<EMAIL_ADDRESS>"
    assert first.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert first.attributes[COUNT_ATTRIBUTE] == 2
    assert second.body == "plain <EMAIL_ADDRESS>"
    provider.shutdown()
