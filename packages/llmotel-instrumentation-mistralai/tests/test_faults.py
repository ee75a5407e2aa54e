"""Whatever the server answers, the caller gets exactly what it would get uninstrumented."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.mistralai import MistralAIInstrumentor
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import StubServer, cut_stream_reply, raw_reply, text_reply, tool_call_reply
from llmotel.testing.faults import FAST, check_same, json_bodies, sse_body

KEYS = [
    "id", "model", "object", "created", "choices", "usage", "message", "delta", "content",
    "finish_reason", "index", "prompt_tokens", "completion_tokens", "total_tokens",
    "prompt_tokens_details", "cached_tokens", "tool_calls", "function", "name", "arguments",
    "role", "data", "embedding", "x",
]  # fmt: skip
bodies = json_bodies(KEYS)
MESSAGES: Any = [{"role": "user", "content": "hi"}]


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        result = call()
        if hasattr(result, "__next__"):  # a stream: what the caller reads from it (its class too)
            return ("stream", result.__class__.__name__, [event.model_dump() for event in result])
        return ("ok", result.__class__.__name__, result.model_dump())
    except Exception as exc:
        return ("error", type(exc), str(exc))


@pytest.mark.parametrize(
    "reply",
    [
        text_reply("plain"),
        tool_call_reply("f", {"a": 1}, text="with text"),
        cut_stream_reply(2),
    ],
    ids=["text", "tool-call", "cut"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_well_formed_replies(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    reply: Any,
    stream: bool,
) -> None:
    method = client.chat.stream if stream else client.chat.complete
    call = lambda: method(model="m", messages=MESSAGES)  # noqa: E731
    check_same(outcome, call, span_exporter, assert_semconv, stub=llm_stub, reply=reply)


@FAST
@given(body=bodies)
def test_random_json_replies(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    body: Any,
) -> None:
    llm_stub.enqueue(raw_reply(body), raw_reply(body))
    call = lambda: client.chat.complete(model="m", messages=MESSAGES)  # noqa: E731
    check_same(outcome, call, span_exporter, assert_semconv)


@FAST
@given(body=bodies)
def test_random_embedding_replies(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    body: Any,
) -> None:
    llm_stub.enqueue(raw_reply(body), raw_reply(body))
    call = lambda: client.embeddings.create(model="m", inputs=["x"])  # noqa: E731
    check_same(outcome, call, span_exporter, assert_semconv)


@FAST
@given(chunks=st.lists(bodies, max_size=4), done=st.booleans())
def test_random_stream_chunks(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    chunks: list[Any],
    done: bool,
) -> None:
    sse = sse_body(chunks, done)
    reply = raw_reply(sse, content_type="text/event-stream")
    llm_stub.enqueue(reply, reply)
    call = lambda: client.chat.stream(model="m", messages=MESSAGES)  # noqa: E731
    check_same(outcome, call, span_exporter, assert_semconv, collect=True)


@pytest.mark.parametrize(
    "reply",
    [
        raw_reply(b'{"id": "x", "choices": [', status=200),
        raw_reply({"id": "x"}, truncate_at=5),
        raw_reply(b"not json at all"),
        raw_reply({"object": "error", "message": "odd"}, status=418),
    ],
    ids=["malformed", "truncated", "not-json", "teapot"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_misbehaving_server(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    reply: Any,
    stream: bool,
) -> None:
    llm_stub.enqueue(reply, reply)
    method = client.chat.stream if stream else client.chat.complete
    call = lambda: method(model="m", messages=MESSAGES)  # noqa: E731
    span = check_same(outcome, call, span_exporter, assert_semconv, collect=True)
    assert span.name == "chat m"
