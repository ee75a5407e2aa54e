"""Fail closed, end to end: a recognizer that raises, a record over its time budget and a regex
that runs away on hostile input all export no raw content — real SDK provider, the ready
``RedactingSpanProcessor``, the OTLP/HTTP exporter and a real OTLP receiver."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from presidio_analyzer import Pattern, PatternRecognizer

from llmotel.redaction import FAILED_ATTRIBUTE, FAILED_MARKER, RedactingSpanProcessor, Redactor
from llmotel.redaction._recognizers import _LeanPatterns
from llmotel.semconv import attributes as sc
from llmotel.testing.otlp import OtlpReceiver, ReceivedSpan

SECRETS = ["jane@example.com", "536-90-4399", "hunter2", "4111 1111 1111 1111"]
PROMPT = json.dumps(
    [
        {
            "role": "user",
            "parts": [{"type": "text", "content": "I am jane@example.com, SSN 536-90-4399"}],
        },
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "login",
                    "arguments": json.dumps({"password": "hunter2"}),
                }
            ],
        },
    ]
)


class _Armed(PatternRecognizer):  # type: ignore[misc]
    """Matches every word; misbehaves in ``validate_result`` once armed (after warm-up)."""

    def __init__(self, misbehave: Callable[[], None]) -> None:
        super().__init__(supported_entity="ARMED", patterns=[Pattern("any", r"\w+", 0.9)])
        self.armed = False
        self._misbehave = misbehave

    def validate_result(self, pattern_text: str) -> bool:
        if self.armed:
            self._misbehave()
        return False


def _raise() -> None:
    raise RuntimeError("recognizer bug")


class _Runaway(_LeanPatterns, PatternRecognizer):  # type: ignore[misc]
    """Exponential backtracking on a run of ``a`` that does not end the text: what hostile
    input does to a careless pattern."""

    REGEX_TIMEOUT = 0.05

    def __init__(self) -> None:
        super().__init__(supported_entity="RUNAWAY", patterns=[Pattern("nested", r"(a|aa)+$", 0.9)])


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def _export(
    receiver: OtlpReceiver, redactor: Redactor, prompt: str, **options: float
) -> ReceivedSpan:
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"{receiver.url}/v1/traces")
    provider.add_span_processor(RedactingSpanProcessor(exporter, redactor, **options))
    span = provider.get_tracer("test").start_span("chat gpt-4o")
    span.set_attribute(sc.GEN_AI_OPERATION_NAME, "chat")
    span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, prompt)
    span.add_event("exception", {sc.EXCEPTION_MESSAGE: "card 4111 1111 1111 1111 declined"})
    span.end()
    provider.force_flush()
    provider.shutdown()
    assert receiver.wait_for(lambda r: len(r.spans()) == 1)
    (received,) = receiver.spans()
    return received


def _assert_nothing_raw(span: ReceivedSpan, reason: str) -> None:
    assert span.attributes[sc.GEN_AI_INPUT_MESSAGES] == FAILED_MARKER
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert span.attributes[FAILED_ATTRIBUTE] == reason
    # Event names are analysed too (LLMOTEL_REDACTION_NAMES): one never seen clean fails closed.
    assert span.events == ((FAILED_MARKER, {sc.EXCEPTION_MESSAGE: FAILED_MARKER}),)
    exported = json.dumps([span.name, dict(span.attributes), span.events], default=str)
    leaked = [s for s in SECRETS if s in exported]
    assert not leaked


def test_a_recognizer_that_raises_exports_no_content(receiver: OtlpReceiver) -> None:
    armed = _Armed(_raise)
    redactor = Redactor(recognizers=[armed])
    armed.armed = True
    _assert_nothing_raw(_export(receiver, redactor, PROMPT), "error")


def test_a_record_over_its_time_budget_exports_no_content(receiver: OtlpReceiver) -> None:
    armed = _Armed(lambda: time.sleep(0.02))
    redactor = Redactor(recognizers=[armed])
    armed.armed = True
    _assert_nothing_raw(_export(receiver, redactor, PROMPT, time_budget=0.05), "timeout")


def test_a_runaway_regex_on_hostile_text_exports_no_content(receiver: OtlpReceiver) -> None:
    redactor = Redactor(recognizers=[_Runaway()])
    hostile = json.dumps(
        [
            {
                "role": "user",
                "parts": [{"type": "text", "content": "jane@example.com " + "a" * 48 + "!"}],
            }
        ]
    )
    started = time.monotonic()
    span = _export(receiver, redactor, hostile, time_budget=5.0)
    assert time.monotonic() - started < 5
    assert span.attributes[sc.GEN_AI_INPUT_MESSAGES] == FAILED_MARKER
    assert span.attributes[FAILED_ATTRIBUTE] == "timeout"
    assert "jane@example.com" not in json.dumps(dict(span.attributes))
