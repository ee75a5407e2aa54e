"""Whatever the server answers, the caller gets exactly what it would get uninstrumented."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from google import genai
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.google_genai import GoogleGenAIInstrumentor
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import StubServer, cut_stream_reply, raw_reply, text_reply, tool_call_reply
from llmotel.testing.faults import FAST, check_same, json_bodies, sse_body

from .conftest import NO_RETRY

KEYS = [
    "candidates", "content", "parts", "text", "thought", "functionCall", "name", "args", "id",
    "role", "finishReason", "index", "usageMetadata", "promptTokenCount", "candidatesTokenCount",
    "thoughtsTokenCount", "cachedContentTokenCount", "modelVersion", "responseId", "embeddings",
    "values", "x",
]  # fmt: skip
bodies = json_bodies(KEYS)
MODEL = "gemini-2.5-flash"


def _dump(value: Any) -> Any:
    value.sdk_http_response = None  # carries the response headers (a date)
    return value.model_dump()


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        result = call()
        if hasattr(result, "__next__"):  # a stream: what the caller reads from it (its class too)
            return ("stream", result.__class__.__name__, [_dump(c) for c in result])
        return ("ok", result.__class__.__name__, _dump(result))
    except Exception as exc:
        return ("error", type(exc), str(exc))


def generate(client: genai.Client, stream: bool) -> Callable[[], Any]:
    method = client.models.generate_content_stream if stream else client.models.generate_content
    return lambda: method(model=MODEL, contents="hi", config=NO_RETRY)


@pytest.mark.parametrize(
    "reply",
    [text_reply("plain"), tool_call_reply("f", {"a": 1}, text="with text"), cut_stream_reply(2)],
    ids=["text", "function-call", "cut"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_well_formed_replies(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    reply: Any,
    stream: bool,
) -> None:
    call = generate(client, stream)
    check_same(outcome, call, span_exporter, assert_semconv, stub=llm_stub, reply=reply)


@FAST
@given(body=bodies)
def test_random_json_replies(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    body: Any,
) -> None:
    llm_stub.enqueue(raw_reply(body), raw_reply(body))
    call = generate(client, False)
    check_same(outcome, call, span_exporter, assert_semconv)


@FAST
@given(chunks=st.lists(bodies, max_size=4))
def test_random_stream_chunks(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    chunks: list[Any],
) -> None:
    sse = sse_body(chunks, eol="\r\n")
    reply = raw_reply(sse, content_type="text/event-stream")
    llm_stub.enqueue(reply, reply)
    call = generate(client, True)
    check_same(outcome, call, span_exporter, assert_semconv, collect=True)


@pytest.mark.parametrize(
    "reply",
    [
        raw_reply(b'{"candidates": [', status=200),
        raw_reply({"candidates": []}, truncate_at=5),
        raw_reply(b"not json at all"),
        raw_reply({"error": {"message": "odd"}}, status=418),
    ],
    ids=["malformed", "truncated", "not-json", "teapot"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_misbehaving_server(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    reply: Any,
    stream: bool,
) -> None:
    llm_stub.enqueue(reply, reply)
    call = generate(client, stream)
    span = check_same(outcome, call, span_exporter, assert_semconv, collect=True)
    assert span.name == f"generate_content {MODEL}"
