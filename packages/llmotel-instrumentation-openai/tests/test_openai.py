"""The openai SDK, instrumented, over real HTTP to the stub server."""

from __future__ import annotations

import gc
import json
from typing import Any

import openai
import pytest
from opentelemetry import context, trace
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.openai import OpenAIInstrumentor
from llmotel.instrumentation.openai._extract import server_of
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import (
    StubServer,
    ToolCall,
    Usage,
    check_patched_on_import,
    error_reply,
    metric_points,
    stream_error_reply,
    text_reply,
    tool_call_reply,
)

from .conftest import Instrument

MESSAGES: Any = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Say hello"},
]
USAGE = Usage(input_tokens=11, output_tokens=3, cache_read_input_tokens=4, reasoning_tokens=1)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    assert_semconv(spans[0])
    return spans[0]


# What the stub's chat completions add as openai.* attributes.
OPENAI_CHAT = {
    "openai.api.type": "chat_completions",
    "openai.response.service_tier": "default",
    "openai.response.system_fingerprint": "fp_llmotel_stub",
}


def base(stub: StubServer, model: str = "gpt-4o-mini", op: str = "chat") -> dict[str, Any]:
    return {
        "gen_ai.operation.name": op,
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "server.address": "127.0.0.1",
        "server.port": stub.port,
    }


def test_chat_create(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=USAGE))
    result = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        stop=["END"],
        seed=7,
        frequency_penalty=0.5,
        presence_penalty=0.25,
    )
    assert result.choices[0].message.content == "Hello!"
    span = only_span(span_exporter)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert dict(span.attributes or {}) == {
        **base(llm_stub),
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.seed": 7,
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": 0.25,
        "gen_ai.response.id": "chatcmpl-stub000001",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.usage.cache_read.input_tokens": 4,
        "gen_ai.usage.reasoning.output_tokens": 1,
        **OPENAI_CHAT,
    }


def test_metrics_points_exact(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=USAGE), text_reply("Again", usage=USAGE))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    attrs = {**base(llm_stub), "gen_ai.response.model": "gpt-4o-mini"}
    [(duration_attrs, duration)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert duration_attrs == attrs
    assert duration.count == 2
    assert list(duration.explicit_bounds) == [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ]  # fmt: skip
    tokens = {
        a["gen_ai.token.type"]: p
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    }
    assert (tokens["input"].count, tokens["input"].sum) == (2, 22)
    assert (tokens["output"].count, tokens["output"].sum) == (2, 6)
    assert list(tokens["input"].explicit_bounds) == [float(4**i) for i in range(14)]


async def test_chat_async(
    instrumented: OpenAIInstrumentor,
    aclient: openai.AsyncOpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=USAGE))
    result = await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == "Hello!"
    span = only_span(span_exporter)
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.input_tokens"] == 11


def test_stream_adds_and_hides_usage(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("one two three", usage=Usage(input_tokens=9, output_tokens=3)))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)
    assert span_exporter.get_finished_spans() == ()
    chunks = list(stream)
    assert all(c.choices for c in chunks)  # the usage-only chunk we asked for is not seen
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three"
    assert llm_stub.requests[-1].json["stream_options"] == {"include_usage": True}
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    ttfc = attrs.pop("gen_ai.response.time_to_first_chunk")
    assert isinstance(ttfc, float)
    assert ttfc > 0
    assert attrs == {
        **base(llm_stub),
        "gen_ai.request.stream": True,
        "gen_ai.response.id": "chatcmpl-stub000001",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 9,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 0,
        **OPENAI_CHAT,
    }
    [(_, first)] = metric_points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1
    assert span.events == ()  # no event per chunk


def test_stream_keeps_usage_chunk_the_caller_asked_for(
    instrumented: OpenAIInstrumentor, client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert only_span(span_exporter).attributes["gen_ai.usage.output_tokens"] == (  # type: ignore[index]
        chunks[-1].usage.completion_tokens
    )


async def test_stream_async(
    instrumented: OpenAIInstrumentor,
    aclient: openai.AsyncOpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("a b", usage=Usage(input_tokens=2, output_tokens=2)))
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    texts = [c.choices[0].delta.content async for c in stream]
    assert "".join(t or "" for t in texts) == "a b"
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.input_tokens"] == 2


def test_stream_context_exit_ends_span(
    instrumented: OpenAIInstrumentor, client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    with client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as stream:
        next(iter(stream))
        assert span_exporter.get_finished_spans() == ()
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert "llmotel.stream.abandoned" not in (span.attributes or {})


def test_stream_close_ends_span(
    instrumented: OpenAIInstrumentor, client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    assert only_span(span_exporter).name == "chat gpt-4o-mini"


def test_stream_garbage_collected_unfinished(
    instrumented: OpenAIInstrumentor, client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    del stream
    gc.collect()
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["llmotel.stream.abandoned"] is True


def test_stream_error_mid_way(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(stream_error_reply(2, "boom"))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError) as caught:
        list(stream)
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    assert [e.name for e in span.events] == ["exception"]


def test_chat_stream_helper_one_span(
    instrumented: OpenAIInstrumentor, client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    completions = getattr(client.chat.completions, "stream", None) and client.chat.completions
    helper = completions or client.beta.chat.completions  # openai < 1.92: under beta
    with helper.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.output_tokens"] > 0


def test_chat_parse(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        value: int

    llm_stub.enqueue(text_reply({"value": 42}))
    helper = client.chat.completions if hasattr(client.chat.completions, "parse") else None
    parsed = (helper or client.beta.chat.completions).parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Answer
    )
    assert parsed.choices[0].message.parsed == Answer(value=42)
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["gen_ai.output.type"] == "json"


def test_with_raw_response(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hi", usage=USAGE))
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == "Hi"
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.input_tokens"] == 11


def test_legacy_completions(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("done", usage=Usage(input_tokens=5, output_tokens=1)))
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say done", max_tokens=5)
    span = only_span(span_exporter)
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert dict(span.attributes or {}) == {
        **base(llm_stub, "gpt-3.5-turbo-instruct", "text_completion"),
        "gen_ai.request.max_tokens": 5,
        "gen_ai.response.id": span.attributes["gen_ai.response.id"],  # type: ignore[index]
        "gen_ai.response.model": "gpt-3.5-turbo-instruct",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 1,
        "openai.response.system_fingerprint": "fp_llmotel_stub",
    }


def test_embeddings(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    result = client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], encoding_format="float"
    )
    span = only_span(span_exporter)
    assert span.name == "embeddings text-embedding-3-small"
    assert dict(span.attributes or {}) == {
        **base(llm_stub, "text-embedding-3-small", "embeddings"),
        "gen_ai.request.encoding_formats": ("float",),
        "gen_ai.response.model": "text-embedding-3-small",
        "gen_ai.usage.input_tokens": result.usage.prompt_tokens,
        "gen_ai.embeddings.dimension.count": len(result.data[0].embedding),
    }
    [(attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs["gen_ai.operation.name"] == "embeddings"


def test_responses_create_and_retrieve(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hi there", usage=Usage(input_tokens=6, output_tokens=2)))
    response = client.responses.create(
        model="gpt-4.1", input="Hello", instructions="Be brief.", max_output_tokens=20
    )
    assert response.output_text == "Hi there"
    client.responses.retrieve(response.id)
    create, retrieve = span_exporter.get_finished_spans()
    for span in (create, retrieve):
        assert_semconv(span)
    assert create.name == "chat gpt-4.1"
    attrs = dict(create.attributes or {})
    for detail in ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.reasoning.output_tokens"):
        assert attrs.pop(detail, 0) == 0  # openai < 1.7x has no usage details on Response
    assert attrs == {
        **base(llm_stub, "gpt-4.1"),
        "gen_ai.request.max_tokens": 20,
        "gen_ai.response.id": response.id,
        "gen_ai.response.model": "gpt-4.1",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 6,
        "gen_ai.usage.output_tokens": 2,
        "openai.api.type": "responses",
        "openai.response.service_tier": "default",
    }
    assert retrieve.name == "chat gpt-4.1"  # named once the stored response tells the model
    assert retrieve.attributes is not None
    assert retrieve.attributes["gen_ai.response.id"] == response.id


def test_responses_stream_helper(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("streamed words", usage=Usage(input_tokens=4, output_tokens=2)))
    with client.responses.stream(model="gpt-4.1", input="Hello") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "streamed words"
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    assert span.attributes["gen_ai.response.id"] == final.id


async def test_responses_async_stream(
    instrumented: OpenAIInstrumentor,
    aclient: openai.AsyncOpenAI,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = await aclient.responses.create(model="gpt-4.1", input="Hello", stream=True)
    events = [e.type async for e in stream]
    assert events[-1] == "response.completed"
    assert only_span(span_exporter).attributes["gen_ai.usage.output_tokens"] > 0  # type: ignore[index,operator]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (error_reply(429), openai.RateLimitError),
        (error_reply(500), openai.InternalServerError),
        (error_reply(400, "bad"), openai.BadRequestError),
    ],
)
def test_http_errors(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    reply: Any,
    error: type[Exception],
) -> None:
    llm_stub.enqueue(reply)
    with pytest.raises(error):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == error.__qualname__
    assert [e.name for e in span.events] == ["exception"]
    [(attrs, point)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs["error.type"] == error.__qualname__
    assert point.count == 1
    assert metric_points(metric_reader, "gen_ai.client.token.usage") == []


def test_timeout(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("late", latency=1.0))
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.2).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES
        )
    assert only_span(span_exporter).attributes["error.type"] == "APITimeoutError"  # type: ignore[index]


def test_content_span_only(
    instrument: Instrument,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(
        tool_call_reply(calls=[ToolCall("get_weather", {"city": "Paris"}, id="call_1")])
    )
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=tools)
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_call",
        }
    ]
    assert json.loads(str(attrs["gen_ai.tool.definitions"])) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert log_exporter.get_finished_logs() == ()


def test_content_event_only(
    instrument: Instrument,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="EVENT_ONLY")
    llm_stub.enqueue(text_reply("Hello!"))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = only_span(span_exporter)
    assert "gen_ai.input.messages" not in (span.attributes or {})
    [log] = log_exporter.get_finished_logs()
    record = log.log_record
    assert record.event_name == "gen_ai.client.inference.operation.details"
    assert record.span_id == span.context.span_id
    assert record.attributes is not None
    assert record.attributes["gen_ai.operation.name"] == "chat"
    # The SDK stores sequences as tuples: compare as JSON.
    assert json.loads(json.dumps(record.attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello!"}],
            "finish_reason": "stop",
        }
    ]


def test_content_streamed_span_and_event(
    instrument: Instrument,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="SPAN_AND_EVENT")
    llm_stub.enqueue(text_reply("one two"))
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert json.loads(str(attrs["gen_ai.output.messages"]))[0]["parts"] == [
        {"type": "text", "content": "one two"}
    ]
    assert len(log_exporter.get_finished_logs()) == 1


def test_no_content_by_default(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    keys = set(only_span(span_exporter).attributes or {})
    assert not keys & {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
    }
    assert log_exporter.get_finished_logs() == ()


def test_bad_capture_value_names_the_variable(
    instrument: Instrument, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"):
        instrument(capture="everything")


def test_latest_experimental_names(
    instrument: Instrument,
    client: openai.OpenAI,
    llm_stub: StubServer,
    metric_reader: InMemoryMetricReader,
) -> None:
    instrument(latest=True)
    llm_stub.enqueue(text_reply("Hello!", usage=USAGE))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    [(_, duration)] = metric_points(metric_reader, "gen_ai.client.inference.duration")
    assert duration.count == 1
    [(_, tokens)] = metric_points(metric_reader, "gen_ai.client.inference.operation.input_tokens")
    assert tokens.sum == 11
    assert metric_points(metric_reader, "gen_ai.client.token.usage") == []


def test_uninstrument_and_reinstrument(
    tracer_provider: TracerProvider, client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    completions = openai.resources.chat.Completions
    original = vars(completions)["create"]
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    assert vars(completions)["create"] is not original
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    instrumentor.uninstrument()
    assert vars(completions)["create"] is original
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(span_exporter.get_finished_spans()) == 1
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    assert len(span_exporter.get_finished_spans()) == 2


def test_suppressed(
    instrumented: OpenAIInstrumentor, client: openai.OpenAI, span_exporter: InMemorySpanExporter
) -> None:
    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        context.detach(token)
    assert span_exporter.get_finished_spans() == ()


def test_no_duplicate_under_a_peer_genai_span(
    instrumented: OpenAIInstrumentor,
    tracer_provider: TracerProvider,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
) -> None:
    peer = tracer_provider.get_tracer("peer.openai")
    with peer.start_as_current_span(
        "chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat"}
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert [s.name for s in span_exporter.get_finished_spans()] == ["chat gpt-4o-mini"]
    assert span_exporter.get_finished_spans()[0].instrumentation_scope.name == "peer.openai"  # type: ignore[union-attr]


def test_parent_is_the_current_span(
    instrumented: OpenAIInstrumentor,
    tracer_provider: TracerProvider,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
) -> None:
    with tracer_provider.get_tracer("app").start_as_current_span("request") as parent:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    chat = span_exporter.get_finished_spans()[0]
    assert chat.parent is not None
    assert chat.parent.span_id == parent.get_span_context().span_id
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_server_of_azure_and_compatible_hosts() -> None:
    azure = openai.AzureOpenAI(
        azure_endpoint="https://myres.openai.azure.com", api_key="k", api_version="2024-10-21"
    )
    assert server_of(azure) == ("azure.ai.openai", "myres.openai.azure.com", 443)
    groq = openai.OpenAI(base_url="https://api.groq.com/openai/v1", api_key="k")
    assert server_of(groq) == ("groq", "api.groq.com", 443)
    local = openai.OpenAI(base_url="http://localhost:8000/v1", api_key="k")
    assert server_of(local) == ("openai", "localhost", 8000)
    assert server_of(openai.OpenAI(api_key="k")) == ("openai", "api.openai.com", 443)


def test_responses_content(
    instrument: Instrument,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(text_reply("Bonjour"))
    client.responses.create(model="gpt-4.1", input="Say hello in French", instructions="Be brief.")
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello in French"}]}
    ]
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Bonjour"}],
            "finish_reason": "stop",
        }
    ]


def test_legacy_completions_stream_usage(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("a b c", usage=Usage(input_tokens=4, output_tokens=3)))
    chunks = list(
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="abc", stream=True)
    )
    assert all(c.choices for c in chunks)
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (4, 3)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


async def test_embeddings_async(
    instrumented: OpenAIInstrumentor,
    aclient: openai.AsyncOpenAI,
    span_exporter: InMemorySpanExporter,
) -> None:
    await aclient.embeddings.create(model="text-embedding-3-small", input="hello")
    span = only_span(span_exporter)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.input_tokens"] > 0  # type: ignore[operator]


@pytest.mark.parametrize(("tier", "expected"), [("flex", "flex"), ("auto", None)])
def test_request_service_tier(
    tier: str,
    expected: str | None,
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, service_tier=tier)  # type: ignore[arg-type]
    attrs = only_span(span_exporter).attributes or {}
    assert attrs.get("openai.request.service_tier") == expected  # semconv: not when 'auto'
    assert attrs["openai.response.service_tier"] == "default"


def test_streamed_tool_calls_have_no_empty_text_part(
    instrument: Instrument,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, id="call_1"))
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    attrs = only_span(span_exporter).attributes or {}
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)  # the provider's value
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_call",  # the output-message schema's value
        }
    ]


def test_embeddings_capture_no_content(
    instrument: Instrument,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="SPAN_AND_EVENT")
    client.embeddings.create(model="text-embedding-3-small", input=["secret text"])
    attrs = only_span(span_exporter).attributes or {}
    assert "gen_ai.input.messages" not in attrs  # the embeddings span defines no content
    assert log_exporter.get_finished_logs() == ()


def test_failure_emits_the_exception_event(
    instrumented: OpenAIInstrumentor,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    llm_stub.enqueue(error_reply(429))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = only_span(span_exporter)
    [log] = log_exporter.get_finished_logs()
    assert log.log_record.event_name == "gen_ai.client.operation.exception"
    assert dict(log.log_record.attributes or {}) == {
        "exception.type": "openai.RateLimitError",
        "exception.message": str(caught.value),
        "gen_ai.request.model": "gpt-4o-mini",
    }
    assert span.context is not None
    assert log.log_record.span_id == span.context.span_id


def test_image_inputs_by_url_and_inline(
    instrument: Instrument,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    content: Any = [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "text", "text": "What is this?"},
    ]
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": content}]
    )
    attrs = only_span(span_exporter).attributes or {}
    assert json.loads(str(attrs["gen_ai.input.messages"]))[0]["parts"] == [
        {"type": "uri", "modality": "image", "uri": "https://example.com/a.jpg"},
        {"type": "blob", "modality": "image", "content": "iVBORw0KGgo=", "mime_type": "image/png"},
        {"type": "text", "content": "What is this?"},
    ]


def test_patched_when_the_application_imports_openai() -> None:
    # Installed but never imported, openai costs no start-up time under opentelemetry-instrument.
    check_patched_on_import(
        "llmotel.instrumentation.openai:OpenAIInstrumentor",
        "openai",
        "openai.resources.chat.completions:Completions.create",
    )
