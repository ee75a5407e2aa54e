"""The SDK stream helpers left early: the span ends on leaving the ``with``, not at GC."""

from __future__ import annotations

import time
from typing import Any

import openai
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.openai import OpenAIInstrumentor
from llmotel.testing import StubServer, text_reply

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]


def _chat(client: Any) -> Any:
    completions = client.chat.completions
    return completions if hasattr(completions, "stream") else client.beta.chat.completions


def _check(span_exporter: InMemorySpanExporter, started: float) -> None:
    spans = span_exporter.get_finished_spans()  # no gc.collect(): must be ended already
    assert len(spans) == 1
    span = spans[0]
    assert "llmotel.stream.abandoned" not in (span.attributes or {})
    assert span.end_time is not None
    assert span.start_time is not None
    duration = (span.end_time - span.start_time) / 1e9
    assert 0 <= duration <= time.monotonic() - started + 0.01


def test_chat_stream_helper_break(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("one two three four five"))
    started = time.monotonic()
    with _chat(client).stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        for _ in stream:
            break
    _check(span_exporter, started)


async def test_chat_stream_helper_break_async(
    instrumented: OpenAIInstrumentor,
    aclient: openai.AsyncOpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("one two three four five"))
    started = time.monotonic()
    async with _chat(aclient).stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        async for _ in stream:
            break
    _check(span_exporter, started)


def test_responses_stream_helper_break(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
) -> None:
    started = time.monotonic()
    with client.responses.stream(model="gpt-4.1", input="Hello") as stream:
        for _ in stream:
            break
    _check(span_exporter, started)


async def test_responses_stream_helper_break_async(
    instrumented: OpenAIInstrumentor,
    aclient: openai.AsyncOpenAI,
    span_exporter: InMemorySpanExporter,
) -> None:
    started = time.monotonic()
    async with aclient.responses.stream(model="gpt-4.1", input="Hello") as stream:
        async for _ in stream:
            break
    _check(span_exporter, started)
