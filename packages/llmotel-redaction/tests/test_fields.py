"""Every field a span, event, log record and resource carries, through the real SDK: what is
analysed, what is only screened for high-risk types, and what stays."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry import baggage, context
from opentelemetry._logs import LogRecord
from opentelemetry.processor.baggage import ALLOW_ALL_BAGGAGE_KEYS, BaggageSpanProcessor
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from llmotel.redaction import (
    COUNT_ATTRIBUTE,
    FAILED_MARKER,
    RedactingLogRecordProcessor,
    RedactingSpanProcessor,
    RedactionStage,
    Redactor,
)
from llmotel.sdk.pipeline import MutableSpan
from llmotel.semconv import attributes as sc

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"


@pytest.fixture
def exported(redactor: Redactor) -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    resource = Resource(
        {
            "service.name": "support-bot",
            "host.ip": "10.0.0.7",
            "deployment.environment.name": "prod owner jane.doe@example.com",
            "process.command_args": ["app.py", "--password=hunter2", "--region", "eu"],
            "app.owner": "call +1 415 867 5309",
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(RedactingSpanProcessor(exporter, redactor))
    yield provider, exporter
    provider.shutdown()


def _spans(provider: TracerProvider, exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    provider.force_flush()
    return list(exporter.get_finished_spans())


def test_exception_message_status_and_stacktrace(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    tracer = provider.get_tracer("t")
    with pytest.raises(ValueError, match="no account"), tracer.start_as_current_span("chat gpt-4o"):
        raise ValueError(f"no account for {EMAIL}, card {CARD}")
    (span,) = _spans(provider, exporter)
    # The SDK records the exception message as the status description and in the event.
    assert span.status.status_code is StatusCode.ERROR
    assert (
        span.status.description == "ValueError: no account for <EMAIL_ADDRESS>, card <CREDIT_CARD>"
    )
    (event,) = span.events
    assert event.name == "exception"
    attrs = event.attributes or {}
    assert attrs[sc.EXCEPTION_MESSAGE] == "no account for <EMAIL_ADDRESS>, card <CREDIT_CARD>"
    assert attrs[sc.EXCEPTION_TYPE] == "ValueError"
    assert EMAIL not in str(attrs[sc.EXCEPTION_STACKTRACE])
    assert "<EMAIL_ADDRESS>" in str(attrs[sc.EXCEPTION_STACKTRACE])
    assert span.name == "chat gpt-4o"


def test_provider_error_in_status_description(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    span = provider.get_tracer("t").start_span("chat gpt-4o")
    span.set_status(Status(StatusCode.ERROR, f"Error code: 400 - invalid input '{EMAIL}'"))
    span.end()
    (out,) = _spans(provider, exporter)
    assert out.status.description == "Error code: 400 - invalid input '<EMAIL_ADDRESS>'"


def test_span_names_default_update_name_and_event_names(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("chat gpt-4o-2024-08-06") as span:
        span.add_event(f"ticket for {EMAIL}", {"note": "ok"})
        span.add_event("gen_ai.choice")
    with tracer.start_as_current_span("lookup") as span:
        span.update_name(f"lookup {EMAIL}")
    with tracer.start_as_current_span("POST /v1/chat/completions"):
        pass
    first, second, third = _spans(provider, exporter)
    assert first.name == "chat gpt-4o-2024-08-06"
    assert [e.name for e in first.events] == ["ticket for <EMAIL_ADDRESS>", "gen_ai.choice"]
    assert second.name == "lookup <EMAIL_ADDRESS>"
    assert third.name == "POST /v1/chat/completions"
    assert (second.attributes or {})[COUNT_ATTRIBUTE] == 1


def test_clean_names_are_analysed_once(redactor: Redactor) -> None:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    processor = RedactingSpanProcessor(exporter, redactor)
    provider.add_span_processor(processor)
    for _ in range(3):
        provider.get_tracer("t").start_span("execute_tool get_weather").end()
    provider.force_flush()
    assert [s.name for s in exporter.get_finished_spans()] == ["execute_tool get_weather"] * 3
    assert "execute_tool get_weather" in processor.stage._clean_names
    provider.shutdown()


def test_allow_listed_and_llmotel_attributes_are_screened(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    span = provider.get_tracer("t").start_span("chat gpt-4o")
    span.set_attribute(sc.SERVER_ADDRESS, "10.20.30.40")  # an IP: structural, stays
    span.set_attribute(sc.GEN_AI_RESPONSE_ID, f"resp:{EMAIL}")
    span.set_attribute(
        sc.GEN_AI_REQUEST_MODEL, "ft:gpt-4o:acme:key=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"
    )
    span.set_attribute("llmotel.note", f"paid with {CARD}")
    span.set_attribute(sc.GEN_AI_TOOL_CALL_ID, "call_415_867_5309")  # not a phone here
    span.end()
    (out,) = _spans(provider, exporter)
    attrs = out.attributes or {}
    assert attrs[sc.SERVER_ADDRESS] == "10.20.30.40"
    assert attrs[sc.GEN_AI_RESPONSE_ID] == "resp:<EMAIL_ADDRESS>"
    assert attrs[sc.GEN_AI_REQUEST_MODEL] == "ft:gpt-4o:acme:key=<API_KEY>"
    assert attrs["llmotel.note"] == "paid with <CREDIT_CARD>"
    assert attrs[sc.GEN_AI_TOOL_CALL_ID] == "call_415_867_5309"


def test_resource_is_redacted_once(
    exported: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = exported
    for name in ("a", "b"):
        provider.get_tracer("t").start_span(name).end()
    first, second = _spans(provider, exporter)
    assert dict(first.resource.attributes) == {
        "service.name": "support-bot",
        "host.ip": "10.0.0.7",  # allow-listed resource key: screened only
        "deployment.environment.name": "prod owner <EMAIL_ADDRESS>",
        "process.command_args": ("app.py", "--password=<PASSWORD>", "--region", "eu"),
        "app.owner": "call <PHONE_NUMBER>",
        **{k: v for k, v in first.resource.attributes.items() if k.startswith("telemetry.")},
    }
    assert second.resource is first.resource  # analysed once, then reused
    assert (first.attributes or {})[COUNT_ATTRIBUTE] == 0  # resource findings are not per record


def test_baggage_copied_to_attributes_is_redacted(redactor: Redactor) -> None:
    # llmotel never copies baggage into telemetry; a BaggageSpanProcessor the app adds does,
    # and then the values are span attributes like any other.
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BaggageSpanProcessor(ALLOW_ALL_BAGGAGE_KEYS))
    provider.add_span_processor(RedactingSpanProcessor(exporter, redactor))
    token = context.attach(baggage.set_baggage("user.email", EMAIL))
    try:
        provider.get_tracer("t").start_span("chat gpt-4o").end()
    finally:
        context.detach(token)
    provider.force_flush()
    (span,) = exporter.get_finished_spans()
    assert (span.attributes or {})["user.email"] == "<EMAIL_ADDRESS>"
    provider.shutdown()


@pytest.mark.filterwarnings("ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated")
def test_log_event_names_bodies_and_logged_exceptions(redactor: Redactor) -> None:
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call,unused-ignore]
    provider = LoggerProvider(resource=Resource({"app.owner": EMAIL}))
    provider.add_log_record_processor(RedactingLogRecordProcessor(exporter, redactor))
    provider.get_logger("t").emit(
        LogRecord(event_name=f"signup {EMAIL}", body={"content": f"card {CARD}"})
    )
    handler = LoggingHandler(logger_provider=provider)
    log = logging.getLogger("test_fields.app")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise RuntimeError(f"rejected {EMAIL}")
        except RuntimeError:
            log.exception("lookup failed for %s", EMAIL)
    finally:
        log.removeHandler(handler)
    provider.force_flush()
    event, logged = (r for r in exporter.get_finished_logs())
    assert event.log_record.event_name == "signup <EMAIL_ADDRESS>"
    assert event.log_record.body == {"content": "card <CREDIT_CARD>"}
    assert dict(event.resource.attributes)["app.owner"] == "<EMAIL_ADDRESS>"
    attrs = logged.log_record.attributes or {}
    assert logged.log_record.body == "lookup failed for <EMAIL_ADDRESS>"
    assert attrs[sc.EXCEPTION_MESSAGE] == "rejected <EMAIL_ADDRESS>"
    assert EMAIL not in str(attrs[sc.EXCEPTION_STACKTRACE])
    provider.shutdown()


def test_fail_closed_covers_status_and_names(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    from test_stage import _Exploding

    exploding = _Exploding()
    stage = RedactionStage(Redactor(entities=["EMAIL_ADDRESS"], recognizers=[exploding]))
    span = tracer_provider.get_tracer("t").start_span(f"lookup {EMAIL}")
    span.add_event(f"found {EMAIL}")
    span.set_status(Status(StatusCode.ERROR, f"no {EMAIL}"))
    span.end()
    (source,) = span_exporter.get_finished_spans()
    exploding.armed = True
    out = stage(MutableSpan.from_span(source))
    assert out.name == FAILED_MARKER
    assert out.events[0].name == FAILED_MARKER
    assert out.status.description == FAILED_MARKER
