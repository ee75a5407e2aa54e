"""Whatever the server answers, the caller gets exactly what it would get uninstrumented."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.litellm import LiteLLMInstrumentor
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import StubServer, raw_reply
from llmotel.testing.faults import FAST, check_same, json_bodies, sse_body

KEYS = [
    "id", "model", "object", "created", "choices", "usage", "message", "delta", "content",
    "finish_reason", "index", "prompt_tokens", "completion_tokens", "total_tokens",
    "prompt_tokens_details", "cached_tokens", "tool_calls", "function", "name", "arguments",
    "role", "data", "embedding", "x",
]  # fmt: skip
bodies = json_bodies(KEYS)
# A LiteLLM call costs a few ms of its own on top of the round trip: half the shared example count.
QUICK = settings(FAST, max_examples=20)
MESSAGES: Any = [{"role": "user", "content": "hi"}]
# LiteLLM fills in the id and created time itself when a reply lacks them (a uuid, the clock),
# and its error messages may quote the response object it was building (after "received_args=").
_MADE_UP = ("id", "created")
_MADE_UP_TEXT = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b1\d{9}\b"
)


_CHANCE = (litellm.InternalServerError, litellm.RateLimitError)


def _dump(model: Any) -> Any:
    data = model.model_dump()
    return {k: v for k, v in data.items() if k not in _MADE_UP} if isinstance(data, dict) else data


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        result = call()
        if hasattr(result, "__next__"):  # a stream: what the caller reads from it (its class too)
            return ("stream", result.__class__.__name__, [_dump(chunk) for chunk in result])
        return ("ok", result.__class__.__name__, _dump(result))
    except Exception as exc:
        message = str(exc).split("received_args=", 1)[0]
        if "Invalid response object" in message and isinstance(exc, _CHANCE):
            # LiteLLM raises a reply it cannot convert as InternalServerError, or as RateLimitError when "429"
            # occurs anywhere in the error's text, which quotes the uuid and clock it made up: for the same
            # reply the class is chance, instrumented or not. The rest of the message must match.
            return ("error", _CHANCE, _MADE_UP_TEXT.sub("…", message.split(" - ", 1)[-1]))
        return ("error", type(exc), _MADE_UP_TEXT.sub("…", message))


def route(stub: StubServer, model: str = "openai/m") -> dict[str, Any]:
    # No retries, LiteLLM's or the SDK's: each call takes exactly one of the queued replies.
    return {
        "model": model,
        "api_base": stub.openai_base_url,
        "api_key": "t",
        "num_retries": 0,
        "max_retries": 0,
    }


@QUICK
@given(body=bodies)
def test_random_json_replies(
    instrumented: LiteLLMInstrumentor,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    body: Any,
) -> None:
    llm_stub.enqueue(raw_reply(body), raw_reply(body))
    call = lambda: litellm.completion(**route(llm_stub), messages=MESSAGES)  # noqa: E731
    check_same(outcome, call, span_exporter, assert_semconv)


@QUICK
@given(body=bodies)
def test_random_embedding_replies(
    instrumented: LiteLLMInstrumentor,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    body: Any,
) -> None:
    llm_stub.enqueue(raw_reply(body), raw_reply(body))
    call = lambda: litellm.embedding(**route(llm_stub), input=["x"])  # noqa: E731
    check_same(outcome, call, span_exporter, assert_semconv)


@QUICK
@given(chunks=st.lists(bodies, max_size=4), done=st.booleans())
def test_random_stream_chunks(
    instrumented: LiteLLMInstrumentor,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    chunks: list[Any],
    done: bool,
) -> None:
    sse = sse_body(chunks, done)
    reply = raw_reply(sse, content_type="text/event-stream")
    llm_stub.enqueue(reply, reply)
    call = lambda: litellm.completion(**route(llm_stub), messages=MESSAGES, stream=True)  # noqa: E731
    check_same(outcome, call, span_exporter, assert_semconv, collect=True)


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
@pytest.mark.parametrize("model", ["openai/m", "anthropic/claude-sonnet-4-20250514"])
@pytest.mark.parametrize("stream", [False, True])
def test_misbehaving_server(
    instrumented: LiteLLMInstrumentor,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    reply: Any,
    model: str,
    stream: bool,
) -> None:
    llm_stub.enqueue(reply, reply)
    kw = route(llm_stub, model)
    if model.startswith("anthropic/"):
        kw["api_base"] = llm_stub.anthropic_base_url
    call = lambda: litellm.completion(**kw, messages=MESSAGES, stream=stream)  # noqa: E731
    span = check_same(outcome, call, span_exporter, assert_semconv, collect=True)
    assert span.name == f"chat {model.split('/', 1)[1]}"
