"""The anthropic SDK, instrumented, over real HTTP to the stub server."""

from __future__ import annotations

import abc
import gc
import importlib.util
import json
from typing import Any

import anthropic
import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.anthropic import AnthropicInstrumentor
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import (
    StubServer,
    Usage,
    check_patched_on_import,
    error_reply,
    metric_points,
    raw_reply,
    stream_error_reply,
    text_reply,
    tool_call_reply,
)

from .conftest import Instrument

MODEL = "claude-stub-1"
MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
CACHED = Usage(
    input_tokens=10, output_tokens=4, cache_read_input_tokens=100, cache_creation_input_tokens=20
)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    assert_semconv(spans[0])
    return spans[0]


def base(stub: StubServer) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "server.address": "127.0.0.1",
        "server.port": stub.port,
    }


def test_create_with_prompt_cache_usage(
    instrumented: AnthropicInstrumentor,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=CACHED))
    message = client.messages.create(
        model=MODEL, max_tokens=100, messages=MESSAGES, stop_sequences=["END"]
    )
    assert message.content[0].text == "Hello!"  # type: ignore[union-attr]
    span = only_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        **base(llm_stub),
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.id": message.id,
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 130,  # semconv counts cached tokens in
        "gen_ai.usage.output_tokens": 4,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.usage.cache_creation.input_tokens": 20,
        "anthropic.request.id": "req_stub_000001",
        "anthropic.response.service_tier": "standard",
        "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 20,
        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 0,
    }
    tokens = {
        a["gen_ai.token.type"]: p.sum
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    }
    assert tokens == {"input": 130, "output": 4}


async def test_create_async(
    instrumented: AnthropicInstrumentor,
    aclient: anthropic.AsyncAnthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hi", usage=Usage(input_tokens=3, output_tokens=1)))
    await aclient.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, 1)


def test_create_stream(
    instrumented: AnthropicInstrumentor,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("one two three", usage=CACHED))
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    if not issubclass(type(anthropic.Stream), abc.ABCMeta):
        # anthropic < 2 checks isinstance(…, Stream) in an ABCMeta hook that the proxy does not pass
        assert isinstance(stream, anthropic.Stream)
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert attrs.pop("gen_ai.response.time_to_first_chunk") > 0  # type: ignore[operator]
    assert attrs == {
        **base(llm_stub),
        "gen_ai.request.stream": True,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.response.id": attrs["gen_ai.response.id"],
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 130,
        "gen_ai.usage.output_tokens": 4,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.usage.cache_creation.input_tokens": 20,
        "anthropic.request.id": "req_stub_000001",
        "anthropic.response.service_tier": "standard",
        "anthropic.usage.cache_creation.ephemeral_5m_input_tokens": 20,
        "anthropic.usage.cache_creation.ephemeral_1h_input_tokens": 0,
    }
    assert span.events == ()
    [(_, ttfc)] = metric_points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1


def test_stream_helper(
    instrumented: AnthropicInstrumentor,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("streamed hello", usage=Usage(input_tokens=5, output_tokens=2)))
    with client.messages.stream(model=MODEL, max_tokens=50, messages=MESSAGES) as stream:
        assert span_exporter.get_finished_spans() == ()
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "streamed hello"
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["gen_ai.response.id"] == final.id
    assert span.attributes["gen_ai.usage.output_tokens"] == 2


async def test_stream_helper_async(
    instrumented: AnthropicInstrumentor,
    aclient: anthropic.AsyncAnthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("async hello", usage=Usage(input_tokens=5, output_tokens=2)))
    async with aclient.messages.stream(model=MODEL, max_tokens=50, messages=MESSAGES) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert text == "async hello"
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.input_tokens"] == 5


def test_stream_abandoned(
    instrumented: AnthropicInstrumentor,
    client: anthropic.Anthropic,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["llmotel.stream.abandoned"] is True


def test_stream_error_mid_way(
    instrumented: AnthropicInstrumentor,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(stream_error_reply(3, status=529))
    with pytest.raises(anthropic.APIStatusError) as caught:
        for _ in client.messages.create(
            model=MODEL, max_tokens=100, messages=MESSAGES, stream=True
        ):
            pass
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == type(caught.value).__qualname__


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
        (529, anthropic.APIStatusError),
    ],
)
def test_http_errors(
    instrumented: AnthropicInstrumentor,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    status: int,
    error: type[Exception],
) -> None:
    llm_stub.enqueue(error_reply(status))
    with pytest.raises(error) as caught:
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    assert [e.name for e in span.events] == ["exception"]


def test_tool_use_content(
    instrument: Instrument,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="SPAN_AND_EVENT")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, id="toolu_1"))
    tools: Any = [
        {
            "name": "get_weather",
            "description": "Weather of a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    client.messages.create(
        model=MODEL, max_tokens=100, system="Be brief.", messages=MESSAGES, tools=tools
    )
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    output = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output[0]["finish_reason"] == "tool_call"
    assert output[0]["parts"][-1] == {
        "type": "tool_call",
        "id": "toolu_1",
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }
    assert json.loads(str(attrs["gen_ai.tool.definitions"])) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    [log] = log_exporter.get_finished_logs()
    assert log.log_record.event_name == "gen_ai.client.inference.operation.details"


def test_tool_use_streamed_content(
    instrument: Instrument,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, id="toolu_1", text="Ok."))
    with client.messages.stream(model=MODEL, max_tokens=100, messages=MESSAGES) as stream:
        stream.until_done()
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Ok."},
                {
                    "type": "tool_call",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                },
            ],
            "finish_reason": "tool_call",
        }
    ]


def test_uninstrument_and_reinstrument(
    tracer_provider: TracerProvider,
    client: anthropic.Anthropic,
    span_exporter: InMemorySpanExporter,
) -> None:
    messages = anthropic.resources.messages.Messages
    original = vars(messages)["create"]
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    instrumentor.uninstrument()
    assert vars(messages)["create"] is original
    client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert len(span_exporter.get_finished_spans()) == 1
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    assert len(span_exporter.get_finished_spans()) == 2


@pytest.mark.skipif(
    importlib.util.find_spec("anthropic._tracing") is None,
    reason="this anthropic SDK has no spans of its own",
)
def test_no_second_span_from_the_sdk_itself(
    instrumented: AnthropicInstrumentor,
    tracer_provider: TracerProvider,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    traced = anthropic.Anthropic(
        base_url=llm_stub.anthropic_base_url,
        api_key="test",
        max_retries=0,
        open_telemetry={"tracer_provider": tracer_provider},  # type: ignore[call-arg]
    )
    traced.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    assert [s.instrumentation_scope.name for s in span_exporter.get_finished_spans()] == [  # type: ignore[union-attr]
        "llmotel.instrumentation.anthropic"
    ]


def test_thinking_budget_and_service_tier(
    instrumented: AnthropicInstrumentor,
    client: anthropic.Anthropic,
    span_exporter: InMemorySpanExporter,
) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=2048,
        messages=MESSAGES,
        thinking={"type": "enabled", "budget_tokens": 1024},
        service_tier="auto",
    )
    attrs = only_span(span_exporter).attributes or {}
    assert attrs["anthropic.thinking.type"] == "enabled"
    assert attrs["anthropic.thinking.budget_tokens"] == 1024
    assert attrs["anthropic.request.service_tier"] == "auto"
    assert attrs["anthropic.response.service_tier"] == "standard"
    assert attrs["anthropic.request.id"] == message._request_id


def test_image_parts_carry_their_source(
    instrument: Instrument,
    client: anthropic.Anthropic,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    png = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    content: Any = [
        {"type": "image", "source": png},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
        {"type": "text", "text": "What is this?"},
    ]
    client.messages.create(
        model=MODEL, max_tokens=10, messages=[{"role": "user", "content": content}]
    )
    attrs = only_span(span_exporter).attributes or {}
    assert json.loads(str(attrs["gen_ai.input.messages"]))[0]["parts"] == [
        {"type": "blob", "modality": "image", "content": "iVBORw0KGgo=", "mime_type": "image/png"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/a.jpg"},
        {"type": "text", "content": "What is this?"},
    ]


def test_failure_emits_the_exception_event(
    instrumented: AnthropicInstrumentor,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    llm_stub.enqueue(error_reply(429))
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
    [log] = log_exporter.get_finished_logs()
    assert log.log_record.event_name == "gen_ai.client.operation.exception"
    attrs = dict(log.log_record.attributes or {})
    assert attrs["exception.type"] == "anthropic.RateLimitError"
    assert attrs["gen_ai.request.model"] == MODEL


def test_streamed_tool_use_after_an_empty_text_block(
    instrument: Instrument,
    client: anthropic.Anthropic,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    events: list[Any] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 3, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"a": 1}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
        {"type": "message_stop"},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    llm_stub.enqueue(raw_reply(body, content_type="text/event-stream"))
    list(client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES, stream=True))
    attrs = only_span(span_exporter).attributes or {}
    assert json.loads(str(attrs["gen_ai.output.messages"]))[0]["parts"] == [
        {"type": "tool_call", "id": "toolu_1", "name": "f", "arguments": {"a": 1}}
    ]


def test_patched_when_the_application_imports_anthropic() -> None:
    # Installed but never imported, anthropic costs no start-up time under opentelemetry-instrument.
    check_patched_on_import(
        "llmotel.instrumentation.anthropic:AnthropicInstrumentor",
        "anthropic",
        "anthropic.resources.messages:Messages.create",
    )
