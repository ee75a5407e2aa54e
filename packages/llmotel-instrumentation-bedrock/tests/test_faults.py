"""Whatever the server answers, the caller gets exactly what it would get uninstrumented, on
boto3's client and on aiobotocore's (each test runs on both: the ``caller`` fixture)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.bedrock import BedrockInstrumentor
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import StubServer, cut_stream_reply, event_stream, raw_reply, text_reply
from llmotel.testing.faults import FAST, check_same, json_bodies

from .test_bedrock import NO_GUARDRAIL

KEYS = [
    "output", "message", "role", "content", "text", "toolUse", "toolUseId", "name", "input",
    "stopReason", "usage", "inputTokens", "outputTokens", "totalTokens", "cacheReadInputTokens",
    "cacheWriteInputTokens", "metrics", "latencyMs", "id", "type", "model", "stop_reason",
    "input_tokens", "output_tokens", "generation", "prompt_token_count", "generation_token_count",
    "results", "outputText", "completionReason", "inputTextTokenCount", "embedding", "outputs",
    "choices", "tool_calls", "function", "arguments", "index", "delta", "contentBlockIndex",
    "amazon-bedrock-invocationMetrics", "inputTokenCount", "outputTokenCount", "x",
]  # fmt: skip
bodies = json_bodies(KEYS)
MESSAGES: Any = [{"role": "user", "content": [{"text": "hi"}]}]
EVENT_STREAM = "application/vnd.amazon.eventstream"
MODELS = [
    "anthropic.claude-3-haiku-20240307-v1:0",
    "meta.llama3-8b-instruct-v1:0",
    "amazon.titan-text-express-v1",
    "amazon.titan-embed-text-v2:0",
    "amazon.nova-lite-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "cohere.command-r-v1:0",
]


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        result = dict(call())
        for key in ("body", "stream"):
            value = result.get(key)
            if hasattr(value, "read"):
                result[key] = value.read()
            elif hasattr(value, "__iter__"):
                result[key] = [event for event in value]  # noqa: C416 - reads it through
        result.get("ResponseMetadata", {}).get("HTTPHeaders", {}).pop("date", None)
        return ("ok", result)
    except Exception as exc:
        return ("error", type(exc), str(exc))


async def _aoutcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        result = dict(await call())
        for key in ("body", "stream"):
            value = result.get(key)
            if hasattr(value, "read"):
                result[key] = await value.read()
            elif hasattr(value, "__aiter__"):
                result[key] = [event async for event in value]
        result.get("ResponseMetadata", {}).get("HTTPHeaders", {}).pop("date", None)
        return ("ok", result)
    except Exception as exc:
        return ("error", type(exc), str(exc))


Outcome = Callable[[Callable[[], Any]], tuple[Any, ...]]


@pytest.fixture(params=["boto3", "aiobotocore"])
def caller(request: pytest.FixtureRequest) -> tuple[Outcome, Any]:
    """What a call gives the caller, and the client to call: boto3's, or aiobotocore's (each of its
    calls run to the end, stream read, on the ``loop_client`` fixture's event loop)."""
    if request.param == "boto3":
        return outcome, request.getfixturevalue("client")
    loop, aio_client = request.getfixturevalue("loop_client")
    return (lambda call: loop.run_until_complete(_aoutcome(call))), aio_client


def semconv(span: ReadableSpan) -> None:
    assert_semconv(span, allow=NO_GUARDRAIL)


def same(
    caller: tuple[Outcome, Any],
    stub: StubServer,
    reply: Any,
    call: Callable[[], Any],
    spans: InMemorySpanExporter,
) -> None:
    """``call`` gives the caller the same, instrumented and not, with ``reply`` (ids restart)."""
    check_same(caller[0], call, spans, semconv, stub=stub, reply=reply, collect=True)


@FAST
@given(body=bodies)
def test_random_converse_replies(
    instrumented: BedrockInstrumentor,
    caller: tuple[Outcome, Any],
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    body: Any,
) -> None:
    call = lambda: caller[1].converse(modelId="anthropic.m", messages=MESSAGES)  # noqa: E731
    same(caller, llm_stub, raw_reply(body), call, span_exporter)


@FAST
@given(body=bodies, model=st.sampled_from(MODELS))
def test_random_invoke_bodies(
    instrumented: BedrockInstrumentor,
    caller: tuple[Outcome, Any],
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    body: Any,
    model: str,
) -> None:
    call = lambda: caller[1].invoke_model(modelId=model, body=b'{"prompt": "hi"}')  # noqa: E731
    same(caller, llm_stub, raw_reply(body), call, span_exporter)


@FAST
@given(events=st.lists(st.tuples(st.sampled_from(KEYS[:12]), bodies), max_size=4))
def test_random_converse_stream_events(
    instrumented: BedrockInstrumentor,
    caller: tuple[Outcome, Any],
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    events: list[tuple[str, Any]],
) -> None:
    names = ["messageStart", "contentBlockStart", "contentBlockDelta", "messageStop", "metadata"]
    framed = [(names[i % len(names)], payload) for i, (_, payload) in enumerate(events)]
    reply = raw_reply(event_stream(framed), content_type=EVENT_STREAM)
    call = lambda: caller[1].converse_stream(modelId="anthropic.m", messages=MESSAGES)  # noqa: E731
    same(caller, llm_stub, reply, call, span_exporter)


@FAST
@given(chunks=st.lists(bodies, max_size=4), model=st.sampled_from(MODELS))
def test_random_invoke_stream_chunks(
    instrumented: BedrockInstrumentor,
    caller: tuple[Outcome, Any],
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    chunks: list[Any],
    model: str,
) -> None:
    framed = [
        ("chunk", {"bytes": base64.b64encode(json.dumps(c).encode()).decode()}) for c in chunks
    ]
    reply = raw_reply(event_stream(framed), content_type=EVENT_STREAM)
    call = lambda: caller[1].invoke_model_with_response_stream(modelId=model, body=b"{}")  # noqa: E731
    same(caller, llm_stub, reply, call, span_exporter)


@pytest.mark.parametrize(
    "reply",
    [
        raw_reply(b'{"output": {"message": ', status=200),
        raw_reply({"output": {}}, truncate_at=5),
        raw_reply(b"not json at all"),
        raw_reply(b"\x00\x00\x00\x10garbage", content_type=EVENT_STREAM),
        raw_reply({"message": "odd"}, status=418),
        cut_stream_reply(2),
        text_reply("plain"),
    ],
    ids=["malformed", "truncated", "not-json", "bad-frames", "teapot", "cut", "plain"],
)
@pytest.mark.parametrize(
    "operation",
    ["converse", "converse_stream", "invoke_model", "invoke_model_with_response_stream"],
)
def test_misbehaving_server(
    instrumented: BedrockInstrumentor,
    caller: tuple[Outcome, Any],
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    reply: Any,
    operation: str,
) -> None:
    method = getattr(caller[1], operation)
    if operation.startswith("converse"):
        call = lambda: method(modelId="anthropic.m", messages=MESSAGES)  # noqa: E731
    else:
        call = lambda: method(modelId="anthropic.m", body=b'{"messages": []}')  # noqa: E731
    same(caller, llm_stub, reply, call, span_exporter)
