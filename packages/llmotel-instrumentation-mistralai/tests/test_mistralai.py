"""The mistralai SDK, instrumented, over real HTTP to the stub server."""

from __future__ import annotations

import gc
import importlib.metadata
import importlib.util
import json
from typing import Any

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.mistralai import MistralAIInstrumentor
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import (
    StubServer,
    Usage,
    check_cost,
    cut_stream_reply,
    error_reply,
    metric_points,
    text_reply,
    tool_call_reply,
)

from .conftest import Instrument

MODEL = "mistral-small-latest"
MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a parent package is missing
        return False


def _event_stream_class() -> Any:
    for name in ("mistralai.client.utils.eventstreaming", "mistralai.utils.eventstreaming"):
        if has_module(name):
            return getattr(importlib.import_module(name), "EventStream", None)
    return None


STREAM_MANAGERS = pytest.mark.skipif(
    _event_stream_class() is None, reason="this mistralai SDK streams plain generators (no with)"
)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    assert_semconv(spans[0])
    return spans[0]


def base(stub: StubServer, model: str = MODEL, operation: str = "chat") -> dict[str, Any]:
    return {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "mistral_ai",
        "gen_ai.request.model": model,
        "server.address": "127.0.0.1",
        "server.port": stub.port,
    }


def test_complete(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=12, output_tokens=3)))
    response = client.chat.complete(
        model=MODEL,
        messages=MESSAGES,
        temperature=0.2,
        top_p=0.9,
        max_tokens=100,
        stop=["END"],
        random_seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.3,
    )
    assert response.choices[0].message.content == "Hello!"
    span = only_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        **base(llm_stub),
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.seed": 7,
        "gen_ai.request.presence_penalty": 0.1,
        "gen_ai.request.frequency_penalty": 0.3,
        "gen_ai.response.id": response.id,
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
    }
    body = llm_stub.requests[-1].json
    assert "stream_options" not in body  # nothing added to what the caller sent
    tokens = {
        a["gen_ai.token.type"]: p.sum
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    }
    assert tokens == {"input": 12, "output": 3}
    [(attrs, duration)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.count == 1
    assert attrs == {**base(llm_stub), "gen_ai.response.model": MODEL}


def test_cached_prompt_tokens(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    usage = Usage(input_tokens=120, output_tokens=3, cache_read_input_tokens=100)
    llm_stub.enqueue(text_reply("Hi", usage=usage))
    response = client.chat.complete(model=MODEL, messages=MESSAGES)
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.usage.input_tokens"] == 120  # Mistral's prompt_tokens include the cache
    if getattr(response.usage, "prompt_tokens_details", None) is None:
        # older mistralai releases drop the fields their model does not declare
        assert "gen_ai.usage.cache_read.input_tokens" not in attrs
    else:
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100


async def test_complete_async(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hi", usage=Usage(input_tokens=3, output_tokens=1)))
    await client.chat.complete_async(model=MODEL, messages=MESSAGES)
    span = only_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    attrs = span.attributes
    assert attrs is not None
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, 1)


def test_stream(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("one two three", usage=Usage(input_tokens=5, output_tokens=3)))
    stream = client.chat.stream(model=MODEL, messages=MESSAGES, max_tokens=50)
    assert span_exporter.get_finished_spans() == ()
    text = "".join(event.data.choices[0].delta.content for event in stream)
    assert text == "one two three"
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert attrs.pop("gen_ai.response.time_to_first_chunk") > 0  # type: ignore[operator]
    assert attrs == {
        **base(llm_stub),
        "gen_ai.request.stream": True,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.response.id": f"{1:032x}",
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 3,
    }
    [(_, ttfc)] = metric_points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1
    [(_, per_chunk)] = metric_points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 4  # one point per chunk after the first: 5 chunks


@STREAM_MANAGERS
async def test_stream_async_with_block(
    instrumented: MistralAIInstrumentor,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = await client.chat.stream_async(model=MODEL, messages=MESSAGES)
    async with stream:
        await stream.__anext__()
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert "llmotel.stream.abandoned" not in span.attributes


async def test_stream_async(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("async hello", usage=Usage(input_tokens=4, output_tokens=2)))
    stream = await client.chat.stream_async(model=MODEL, messages=MESSAGES)
    text = "".join([event.data.choices[0].delta.content async for event in stream])
    assert text == "async hello"
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.usage.output_tokens"] == 2
    assert attrs["gen_ai.request.stream"] is True


def test_stream_early_break_and_close(
    instrumented: MistralAIInstrumentor,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = client.chat.stream(model=MODEL, messages=MESSAGES)
    for _ in stream:
        break
    assert span_exporter.get_finished_spans() == ()
    stream.close()
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes is not None
    assert "llmotel.stream.abandoned" not in span.attributes


@STREAM_MANAGERS
def test_stream_with_block_exit(
    instrumented: MistralAIInstrumentor,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = client.chat.stream(model=MODEL, messages=MESSAGES)
    with stream:
        next(iter(stream))
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert "llmotel.stream.abandoned" not in span.attributes


def test_stream_abandoned(
    instrumented: MistralAIInstrumentor,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = client.chat.stream(model=MODEL, messages=MESSAGES)
    next(iter(stream))
    del stream
    gc.collect()
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["llmotel.stream.abandoned"] is True


def test_stream_cut_mid_way(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(cut_stream_reply(2))
    with pytest.raises(Exception) as caught:
        for _ in client.chat.stream(model=MODEL, messages=MESSAGES):
            pass
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == type(caught.value).__qualname__


@pytest.mark.parametrize("status", [400, 422, 429, 500])
def test_http_errors(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    status: int,
) -> None:
    llm_stub.enqueue(error_reply(status))
    with pytest.raises(Exception) as caught:
        client.chat.complete(model=MODEL, messages=MESSAGES)
    expected = "HTTPValidationError" if status == 422 else "SDKError"
    assert type(caught.value).__name__ == expected
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == expected
    assert [e.name for e in span.events] == ["exception"]
    [(attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs["error.type"] == expected
    assert metric_points(metric_reader, "gen_ai.client.token.usage") == []


def test_no_content_by_default(
    instrumented: MistralAIInstrumentor,
    client: Any,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    client.chat.complete(model=MODEL, messages=MESSAGES, tools=TOOLS)
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert [
        k for k in attrs if k.startswith(("gen_ai.input", "gen_ai.output.", "gen_ai.tool"))
    ] == []
    assert log_exporter.get_finished_logs() == ()


def test_tool_call_content_on_span_and_event(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="SPAN_AND_EVENT")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, id="call00001"))
    messages: Any = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    client.chat.complete(model=MODEL, messages=messages, tools=TOOLS)
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    ]
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call00001",
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
    [log] = log_exporter.get_finished_logs()
    assert log.log_record.event_name == "gen_ai.client.inference.operation.details"
    assert log.log_record.attributes is not None
    assert (
        log.log_record.attributes["gen_ai.output.messages"][0]["parts"][0]["name"] == "get_weather"
    )  # type: ignore[index]


def test_tool_round_trip_with_sdk_models(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, id="call00001"))
    first = client.chat.complete(model=MODEL, messages=MESSAGES, tools=TOOLS)
    assistant = first.choices[0].message  # an SDK model, passed back as is
    messages: Any = [
        *MESSAGES,
        assistant,
        {"role": "tool", "tool_call_id": "call00001", "name": "get_weather", "content": "Sunny"},
    ]
    client.chat.complete(model=MODEL, messages=messages, tools=TOOLS)
    second = span_exporter.get_finished_spans()[-1]
    assert second.attributes is not None
    assert json.loads(str(second.attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]},
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call00001",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call00001", "response": "Sunny"}],
        },
    ]


def test_streamed_tool_call_content(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, id="call00001", text="Ok."))
    for _ in client.chat.stream(model=MODEL, messages=MESSAGES, tools=TOOLS):
        pass
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Ok."},
                {
                    "type": "tool_call",
                    "id": "call00001",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                },
            ],
            "finish_reason": "tool_call",
        }
    ]


def test_embeddings(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    instrument(capture="SPAN_ONLY")
    result = client.embeddings.create(model="mistral-embed", inputs=["a cat", "a dog"])
    assert len(result.data) == 2
    span = only_span(span_exporter)
    assert span.name == "embeddings mistral-embed"
    attrs = dict(span.attributes or {})
    assert json.loads(str(attrs.pop("gen_ai.input.messages"))) == [
        {"role": "user", "parts": [{"type": "text", "content": "a cat"}]},
        {"role": "user", "parts": [{"type": "text", "content": "a dog"}]},
    ]
    assert attrs == {
        **base(llm_stub, "mistral-embed", "embeddings"),
        "gen_ai.response.id": result.id,
        "gen_ai.response.model": "mistral-embed",
        "gen_ai.usage.input_tokens": 4,
        "gen_ai.embeddings.dimension.count": 1024,
    }
    tokens = [
        (a["gen_ai.token.type"], p.sum)
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    ]
    assert tokens == [("input", 4)]


async def test_embeddings_async(
    instrumented: MistralAIInstrumentor,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    await client.embeddings.create_async(model="mistral-embed", inputs="one text")
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.usage.input_tokens"] == 2


def test_latest_experimental_names(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    metric_reader: InMemoryMetricReader,
) -> None:
    instrument(latest=True)
    llm_stub.enqueue(text_reply("Hi", usage=Usage(input_tokens=6, output_tokens=2)))
    client.chat.complete(model=MODEL, messages=MESSAGES)
    [(_, inputs)] = metric_points(metric_reader, "gen_ai.client.inference.operation.input_tokens")
    assert inputs.sum == 6
    assert metric_points(metric_reader, "gen_ai.client.token.usage") == []


def test_uninstrument_and_reinstrument(
    tracer_provider: TracerProvider,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    chat_class = type(client.chat)
    original = vars(chat_class)["complete"]
    instrumentor = MistralAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    client.chat.complete(model=MODEL, messages=MESSAGES)
    instrumentor.uninstrument()
    assert vars(chat_class)["complete"] is original
    client.chat.complete(model=MODEL, messages=MESSAGES)
    assert len(span_exporter.get_finished_spans()) == 1
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        client.chat.complete(model=MODEL, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    assert len(span_exporter.get_finished_spans()) == 2


def test_entry_point() -> None:
    [entry] = [
        e
        for e in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if e.name == "llmotel_mistralai"
    ]
    assert entry.load() is MistralAIInstrumentor


@pytest.mark.skipif(
    not has_module("mistralai.extra.observability.telemetry"),
    reason="this mistralai SDK has no configurable spans of its own",
)
def test_no_second_span_from_the_sdk_itself(
    instrumented: MistralAIInstrumentor,
    tracer_provider: TracerProvider,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    from mistralai.extra.observability.telemetry import configure_telemetry

    configure_telemetry(client, provider=tracer_provider, redaction=False)
    client.chat.complete(model=MODEL, messages=MESSAGES)
    assert [s.instrumentation_scope.name for s in span_exporter.get_finished_spans()] == [  # type: ignore[union-attr]
        "llmotel.instrumentation.mistralai"
    ]


def test_cost_from_genai_prices(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    client: Any,
    llm_stub: StubServer,
) -> None:
    check_cost(
        MistralAIInstrumentor(),
        (tracer_provider, meter_provider, metric_reader),
        llm_stub,
        lambda: client.chat.complete(model=MODEL, messages=MESSAGES),
        model=MODEL,
        provider_id="mistral",
    )


def test_parse_is_one_span(
    instrumented: MistralAIInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    if not hasattr(client.chat, "parse"):
        pytest.skip("this mistralai SDK has no chat.parse")
    from pydantic import BaseModel

    class Answer(BaseModel):
        city: str

    llm_stub.enqueue(text_reply({"city": "Paris"}))
    parsed = client.chat.parse(response_format=Answer, model=MODEL, messages=MESSAGES)
    assert parsed.choices[0].message.parsed == Answer(city="Paris")
    span = only_span(span_exporter)  # parse → complete: still one span
    assert span.attributes is not None
    assert span.attributes["gen_ai.output.type"] == "json"


async def test_stream_async_closed_early(
    instrumented: MistralAIInstrumentor,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = await client.chat.stream_async(model=MODEL, messages=MESSAGES)
    await stream.__anext__()
    # mistralai >= 2 returns an EventStreamAsync (close()), 1.x an async generator (aclose()).
    await (stream.close() if _event_stream_class() is not None else stream.aclose())
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert "llmotel.stream.abandoned" not in span.attributes
