"""Whatever the server answers, the caller gets exactly what it would get uninstrumented."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.openai import OpenAIInstrumentor
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import StubServer, cut_stream_reply, raw_reply
from llmotel.testing.faults import FAST, json_bodies, uninstrumented

KEYS = [
    "id", "model", "choices", "usage", "message", "delta", "content", "finish_reason", "index",
    "prompt_tokens", "completion_tokens", "prompt_tokens_details", "cached_tokens", "tool_calls",
    "function", "name", "arguments", "object", "x",
]  # fmt: skip
bodies = json_bodies(KEYS)
MESSAGES: Any = [{"role": "user", "content": "hi"}]


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        result = call()
        if isinstance(result, openai.Stream):
            return ("stream", [chunk.model_dump(warnings=False) for chunk in result])
        return ("ok", result.model_dump(warnings=False))
    except Exception as exc:
        return ("error", type(exc), str(exc))


@FAST
@given(body=bodies)
def test_random_json_replies(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    body: Any,
) -> None:
    span_exporter.clear()
    llm_stub.enqueue(raw_reply(body), raw_reply(body))
    call = lambda: client.chat.completions.create(model="m", messages=MESSAGES)  # noqa: E731
    assert outcome(call) == uninstrumented(outcome, call)
    gc.collect()  # a stream the caller stopped reading (it raised) ends when collected
    [span] = span_exporter.get_finished_spans()
    assert_semconv(span)


@FAST
@given(chunks=st.lists(bodies, max_size=4), done=st.booleans())
def test_random_stream_chunks(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    chunks: list[Any],
    done: bool,
) -> None:
    span_exporter.clear()
    sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + (
        "data: [DONE]\n\n" if done else ""
    )
    reply = raw_reply(sse, content_type="text/event-stream")
    llm_stub.enqueue(reply, reply)
    call = lambda: client.chat.completions.create(  # noqa: E731
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert outcome(call) == uninstrumented(outcome, call)
    gc.collect()  # a stream the caller stopped reading (it raised) ends when collected
    [span] = span_exporter.get_finished_spans()
    assert_semconv(span)


@pytest.mark.parametrize(
    "reply",
    [
        raw_reply(b'{"id": "x", "choices": [', status=200),
        raw_reply({"id": "x"}, truncate_at=5),
        raw_reply(b"not json at all"),
        raw_reply({"error": {"message": "odd"}}, status=418),
    ],
    ids=["malformed", "truncated", "not-json", "teapot"],
)
@pytest.mark.parametrize("stream", [False, True])
def test_misbehaving_server(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    reply: Any,
    stream: bool,
) -> None:
    llm_stub.enqueue(reply, reply)

    def call() -> Any:
        if stream:
            return client.chat.completions.create(
                model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        return client.chat.completions.create(model="m", messages=MESSAGES)

    assert outcome(call) == uninstrumented(outcome, call)
    gc.collect()  # a stream the caller stopped reading (it raised) ends when collected
    [span] = span_exporter.get_finished_spans()
    assert_semconv(span)
    assert span.name == "chat m"


def test_stream_cut_mid_way(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(cut_stream_reply(2), cut_stream_reply(2))
    call = lambda: client.chat.completions.create(  # noqa: E731
        model="m", messages=MESSAGES, stream=True
    )
    assert outcome(call)[0] == uninstrumented(outcome, call)[0] == "error"
    [span] = span_exporter.get_finished_spans()
    assert_semconv(span)
    assert span.status.status_code.name == "ERROR"


def test_a_failure_warning_keeps_no_stream_alive(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A chunk our accumulator cannot read is logged (once, at WARNING, with its traceback) while the
    # caller goes on; caplog keeps that record for the whole test. The record must not hold the
    # stream: abandoned, the stream is collected and its span ends.
    span_exporter.clear()
    body = 'data: {"id": "x", "choices": true}\n\ndata: {"id": "x", "choices": []}\n\n'
    llm_stub.enqueue(raw_reply(body, content_type="text/event-stream"))
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    next(iter(stream))
    assert any("GenAI telemetry failed in chunk" in r.getMessage() for r in caplog.records)
    del stream
    gc.collect()
    [span] = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["llmotel.stream.abandoned"] is True
