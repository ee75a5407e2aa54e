"""Property: whatever field a value lands in, the OTLP export holds no value a recognizer matches.

Real SDK providers with the redacting span/log processors and the redacting metric exporter
export over OTLP/HTTP to the receiver in ``llmotel.testing.otlp``; Hypothesis plants a
generated e-mail, card, SSN, IBAN, JWT or API key in one field (span name, attribute, allow-listed
attribute, ``llmotel.*`` attribute, status description, event name/attributes, exception, link,
log body/attributes/event name, metric attribute). Every field of everything received is then
checked: the planted value is gone, and running the redactor's own field rules over the received
data finds nothing more (the export is a fixed point of redaction).
"""

from __future__ import annotations

import dataclasses
import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, Status, StatusCode

from llmotel.redaction import (
    RedactingLogRecordProcessor,
    RedactingMetricExporter,
    RedactingSpanProcessor,
    Redaction,
    Redactor,
)
from llmotel.semconv import attributes as sc
from llmotel.testing.otlp import OtlpReceiver


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


_LOCAL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
_EMAIL = st.builds(
    lambda user, sep, more, domain, tld: f"{user}{sep}{more}@{domain}.{tld}",
    _LOCAL,
    st.sampled_from(["", ".", "_", "+", "-"]),
    _LOCAL,
    st.text(string.ascii_lowercase, min_size=2, max_size=10),
    st.sampled_from(["com", "org", "net", "io", "de", "co.uk", "fr"]),
)
_CARD = st.builds(
    lambda prefix, body, sep: sep.join(
        _luhn((prefix + body)[:15])[i : i + 4] for i in range(0, 16, 4)
    ),
    st.sampled_from(["4", "51", "55", "2221"]),
    st.text(string.digits, min_size=14, max_size=14),
    st.sampled_from(["", " ", "-"]),
)
_SSN = st.builds(
    lambda area, group, serial: f"{area:03d}-{group:02d}-{serial:04d}",
    st.integers(1, 665).filter(lambda a: a != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
)
_API_KEY = st.builds(
    lambda body: f"sk-proj-{body}",
    st.text(string.ascii_letters + string.digits, min_size=24, max_size=40).filter(
        lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s)
    ),
)
_JWT = st.builds(
    lambda sub, sig: (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        + __import__("base64")
        .urlsafe_b64encode(json.dumps({"sub": sub}).encode())
        .decode()
        .rstrip("=")
        + "."
        + sig
    ),
    st.text(string.ascii_letters + string.digits, min_size=1, max_size=12),
    st.text(string.ascii_letters + string.digits + "-_", min_size=20, max_size=43),
)
_IBAN = st.sampled_from(
    [
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "FR14 2004 1010 0505 0001 3M02 606",
    ]
)
SECRETS = st.one_of(_EMAIL, _CARD, _SSN, _API_KEY, _JWT, _IBAN)
FIELDS = st.sampled_from(
    [
        "span.name",
        "attribute",
        "allow_attribute",
        "llmotel_attribute",
        "status",
        "event.name",
        "event.attribute",
        "exception",
        "link.attribute",
        "message",
        "log.body",
        "log.attribute",
        "log.event_name",
        "metric.attribute",
    ]
)
WORDS = st.text(string.ascii_letters, max_size=12)


@dataclasses.dataclass
class _Export:
    receiver: OtlpReceiver
    tracer: TracerProvider
    logger: LoggerProvider
    meter: MeterProvider
    redactor: Redactor


@pytest.fixture(scope="module")
def export(redactor: Redactor) -> Iterator[_Export]:
    with OtlpReceiver() as receiver:
        resource = Resource({"service.name": "prop", "app.owner": "ops@example.com"})
        tracer = TracerProvider(resource=resource)
        tracer.add_span_processor(
            RedactingSpanProcessor(OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces"), redactor)
        )
        logger = LoggerProvider(resource=resource)
        logger.add_log_record_processor(
            RedactingLogRecordProcessor(
                OTLPLogExporter(endpoint=f"{receiver.url}/v1/logs"), redactor
            )
        )
        reader = PeriodicExportingMetricReader(
            RedactingMetricExporter(
                OTLPMetricExporter(endpoint=f"{receiver.url}/v1/metrics"), redactor
            ),
            export_interval_millis=3_600_000,
        )
        meter = MeterProvider(metric_readers=[reader], resource=resource)
        yield _Export(receiver, tracer, logger, meter, redactor)
        tracer.shutdown()
        logger.shutdown()
        meter.shutdown()


def _emit(export: _Export, field: str, text: str, marker: str) -> None:
    tracer = export.tracer.get_tracer("prop")
    if field.startswith("log."):
        record = LogRecord(body="ok", attributes={"marker": marker})
        if field == "log.body":
            record = LogRecord(body={"content": text}, attributes={"marker": marker})
        elif field == "log.attribute":
            record = LogRecord(body="ok", attributes={"marker": marker, "app.note": text})
        else:
            record = LogRecord(event_name=text, attributes={"marker": marker})
        export.logger.get_logger("prop").emit(record)
        export.logger.force_flush()
        return
    if field == "metric.attribute":
        counter = export.meter.get_meter("prop").create_counter("prop.calls")
        counter.add(1, {"user.id": text, "marker": marker})
        export.meter.force_flush()
        return
    with tracer.start_as_current_span("linked") as other:
        pass
    links = [Link(other.get_span_context(), {"note": text})] if field == "link.attribute" else []
    span = tracer.start_span(text if field == "span.name" else "chat gpt-4o", links=links)
    span.set_attribute("marker", marker)
    if field == "attribute":
        span.set_attribute("app.note", text)
    elif field == "allow_attribute":
        span.set_attribute(sc.GEN_AI_RESPONSE_ID, text)
    elif field == "llmotel_attribute":
        span.set_attribute("llmotel.note", text)
    elif field == "status":
        span.set_status(Status(StatusCode.ERROR, text))
    elif field == "event.name":
        span.add_event(text)
    elif field == "event.attribute":
        span.add_event("note", {"detail": text})
    elif field == "exception":
        span.record_exception(ValueError(text))
    elif field == "message":
        parts = [{"type": "text", "content": text}]
        span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, json.dumps([{"role": "user", "parts": parts}]))
    span.end()
    export.tracer.force_flush()


def _received(export: _Export, marker: str) -> list[Any]:
    receiver = export.receiver
    assert receiver.wait_for(
        lambda r: any(x.attributes.get("marker") == marker for x in [*r.spans(), *r.logs()])
        or any(p.attributes.get("marker") == marker for p in r.metric_points())
    )
    return [dataclasses.asdict(x) for x in [*receiver.spans(), *receiver.logs()]] + [
        dataclasses.asdict(p) for p in receiver.metric_points()
    ]


def _findings(redactor: Redactor, item: Any) -> int:
    """How much the redactor's own field rules would still change in one received record."""
    redaction = Redaction()
    for key in ("attributes", "resource"):
        attributes = dict(item.get(key) or {})
        redactor.redact_attributes(attributes, redaction)
    for key in ("name", "status_message", "event_name", "body"):
        if item.get(key):
            redactor.redact_value(item[key], redaction)
    for name, attributes in item.get("events", ()):
        redactor.redact_value(name, redaction)
        redactor.redact_attributes(dict(attributes), redaction)
    for _trace, _span, attributes in item.get("links", ()):
        redactor.redact_attributes(dict(attributes), redaction)
    return redaction.total


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(secret=SECRETS, field=FIELDS, before=WORDS, after=WORDS)
def test_no_exported_field_holds_a_recognised_value(
    export: _Export, secret: str, field: str, before: str, after: str
) -> None:
    export.receiver.clear()
    marker = f"m{abs(hash((secret, field, before, after)))}"
    text = f"{before} {secret} {after}".strip()
    _emit(export, field, text, marker)
    received = _received(export, marker)
    serialized = json.dumps(received, default=str, ensure_ascii=False)
    assert secret not in serialized
    assert "ops@example.com" not in serialized
    assert [_findings(export.redactor, item) for item in received] == [0] * len(received)
