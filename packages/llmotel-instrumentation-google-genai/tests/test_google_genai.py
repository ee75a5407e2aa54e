"""The google-genai SDK, instrumented, over real HTTP to the stub server."""

from __future__ import annotations

import gc
import importlib.metadata
import json
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.google_genai import GoogleGenAIInstrumentor
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

from .conftest import NO_RETRY, Instrument

MODEL = "gemini-2.5-flash"
WEATHER = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Weather of a city",
            parameters=types.Schema(
                type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}
            ),
        )
    ]
)


def spans(exporter: InMemorySpanExporter, count: int = 1) -> list[ReadableSpan]:
    found = list(exporter.get_finished_spans())
    assert len(found) == count, [s.name for s in found]
    for span in found:
        assert_semconv(span)
    return found


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    return spans(exporter)[0]


def base(
    stub: StubServer, provider: str = "gcp.gemini", operation: str = "generate_content"
) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": MODEL if operation == "generate_content" else "text-embedding-004",
        "server.address": "127.0.0.1",
        "server.port": stub.port,
    }


def test_generate_content(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=12, output_tokens=3)))
    config = types.GenerateContentConfig(
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_output_tokens=100,
        stop_sequences=["END"],
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.3,
        response_mime_type="application/json",
    )
    response = client.models.generate_content(model=MODEL, contents="Say hello", config=config)
    assert response.text == "Hello!"
    span = only_span(span_exporter)
    assert span.name == f"generate_content {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        **base(llm_stub),
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40.0,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.seed": 7,
        "gen_ai.request.presence_penalty": 0.1,
        "gen_ai.request.frequency_penalty": 0.3,
        "gen_ai.output.type": "json",
        "gen_ai.response.id": "stub-000001",
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
    }
    tokens = {
        a["gen_ai.token.type"]: p.sum
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    }
    assert tokens == {"input": 12, "output": 3}
    [(attrs, duration)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.count == 1
    assert attrs == {**base(llm_stub), "gen_ai.response.model": MODEL}


def test_vertex_ai_client_is_its_own_provider(
    instrumented: GoogleGenAIInstrumentor,
    vertex_client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    vertex_client.models.generate_content(model=MODEL, contents="Say hello")
    assert (
        llm_stub.requests[-1].path == f"/v1beta1/publishers/google/models/{MODEL}:generateContent"
    )
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"


def test_cached_content_and_thinking_tokens(
    instrument: Instrument,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    instrument(capture="SPAN_ONLY")
    usage = Usage(
        input_tokens=150, output_tokens=20, cache_read_input_tokens=100, reasoning_tokens=30
    )
    llm_stub.enqueue(text_reply("Answer.", usage=usage))
    config = types.GenerateContentConfig(
        cached_content="cachedContents/doc-1",
        thinking_config=types.ThinkingConfig(include_thoughts=True),
    )
    client.models.generate_content(model=MODEL, contents="Summarise the doc", config=config)
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.usage.input_tokens"] == 150  # Gemini's prompt count includes the cache
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.usage.output_tokens"] == 50  # candidates + thoughts: both billed as output
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 30
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "reasoning", "content": "Stub thought."},
                {"type": "text", "content": "Answer."},
            ],
            "finish_reason": "stop",
        }
    ]
    tokens = {
        a["gen_ai.token.type"]: p.sum
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    }
    assert tokens == {"input": 150, "output": 50}


async def test_generate_content_async(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hi", usage=Usage(input_tokens=3, output_tokens=1)))
    await client.aio.models.generate_content(model=MODEL, contents="Say hello")
    span = only_span(span_exporter)
    assert span.name == f"generate_content {MODEL}"
    attrs = span.attributes
    assert attrs is not None
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (3, 1)


def test_stream(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("one two three", usage=Usage(input_tokens=5, output_tokens=3)))
    stream = client.models.generate_content_stream(model=MODEL, contents="Say hello")
    text = "".join(chunk.text or "" for chunk in stream)
    assert text == "one two three"
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert attrs.pop("gen_ai.response.time_to_first_chunk") > 0  # type: ignore[operator]
    assert attrs == {
        **base(llm_stub),
        "gen_ai.request.stream": True,
        "gen_ai.response.id": "stub-000001",
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 5,
        "gen_ai.usage.output_tokens": 3,
    }
    [(_, ttfc)] = metric_points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1


async def test_stream_async(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("async hello", usage=Usage(input_tokens=4, output_tokens=2)))
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Say hello")
    text = "".join([chunk.text or "" async for chunk in stream])
    assert text == "async hello"
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.usage.output_tokens"] == 2
    assert attrs["gen_ai.request.stream"] is True


def test_stream_early_break_and_close(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = client.models.generate_content_stream(model=MODEL, contents="Say hello")
    for _ in stream:
        break
    assert span_exporter.get_finished_spans() == ()
    # The SDK's generator drops the per-request stream it was reading: its span ends right away,
    # as a stream not read to the end.
    stream.close()  # type: ignore[attr-defined]
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes is not None
    assert span.attributes["llmotel.stream.abandoned"] is True
    assert span.attributes["gen_ai.usage.input_tokens"] == 2  # what the first chunk said


def test_stream_abandoned(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    span_exporter: InMemorySpanExporter,
) -> None:
    stream = client.models.generate_content_stream(model=MODEL, contents="Say hello")
    next(iter(stream))
    del stream
    gc.collect()
    span = only_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["llmotel.stream.abandoned"] is True


def test_stream_cut_mid_way(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(cut_stream_reply(2))
    with pytest.raises(Exception) as caught:
        for _ in client.models.generate_content_stream(model=MODEL, contents="Say hello"):
            pass
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == type(caught.value).__qualname__


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, errors.ClientError), (429, errors.ClientError), (500, errors.ServerError)],
)
def test_http_errors(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    status: int,
    error: type[Exception],
) -> None:
    llm_stub.enqueue(error_reply(status))
    with pytest.raises(error):
        client.models.generate_content(model=MODEL, contents="Say hello", config=NO_RETRY)
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == error.__qualname__
    assert [e.name for e in span.events] == ["exception"]
    [(attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs["error.type"] == error.__qualname__


def test_no_content_by_default(
    instrumented: GoogleGenAIInstrumentor,
    client: genai.Client,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    client.models.generate_content(
        model=MODEL, contents="Say hello", config=types.GenerateContentConfig(tools=[WEATHER])
    )
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert [
        k
        for k in attrs
        if k.startswith(("gen_ai.input", "gen_ai.output.", "gen_ai.tool", "gen_ai.system"))
    ] == []
    assert log_exporter.get_finished_logs() == ()


def test_function_call_content_on_span_and_event(
    instrument: Instrument,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="SPAN_AND_EVENT")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, id="fc-1"))
    config = types.GenerateContentConfig(system_instruction="Be brief.", tools=[WEATHER])
    response = client.models.generate_content(
        model=MODEL, contents="Weather in Paris?", config=config
    )
    assert response.function_calls is not None
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
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
                    "name": "get_weather",
                    "id": "fc-1",
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
            "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
        }
    ]
    [log] = log_exporter.get_finished_logs()
    assert log.log_record.event_name == "gen_ai.client.inference.operation.details"


def get_weather(city: str) -> str:
    """Weather of a city."""
    return f"Sunny in {city}"


# Real types, not this module's postponed (string) annotations: older SDKs call isinstance on them.
get_weather.__annotations__ = {"city": str, "return": str}


def test_automatic_function_calling_is_one_span_per_model_request(
    instrument: Instrument,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(
        tool_call_reply(
            "get_weather", {"city": "Paris"}, usage=Usage(input_tokens=10, output_tokens=4)
        ),
        text_reply("It is sunny.", usage=Usage(input_tokens=30, output_tokens=5)),
    )
    response = client.models.generate_content(
        model=MODEL,
        contents="Weather in Paris?",
        config=types.GenerateContentConfig(tools=[get_weather]),
    )
    assert response.text == "It is sunny."
    first, second = spans(span_exporter, 2)
    assert first.attributes is not None
    assert second.attributes is not None
    assert (
        first.attributes["gen_ai.usage.input_tokens"],
        second.attributes["gen_ai.usage.input_tokens"],
    ) == (10, 30)
    history = json.loads(str(second.attributes["gen_ai.input.messages"]))
    assert [m["role"] for m in history] == ["user", "assistant", "tool"]
    assert history[2]["parts"][0]["type"] == "tool_call_response"
    assert history[2]["parts"][0]["response"] == {"result": "Sunny in Paris"}
    assert json.loads(str(first.attributes["gen_ai.tool.definitions"])) == [
        {"type": "function", "name": "get_weather", "description": "Weather of a city."}
    ]


def test_chat_turns(
    instrument: Instrument,
    client: genai.Client,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    chat = client.chats.create(model=MODEL)
    chat.send_message("Hello")
    "".join(chunk.text or "" for chunk in chat.send_message_stream("And again"))
    first, second = spans(span_exporter, 2)
    assert first.attributes is not None
    assert second.attributes is not None
    assert second.attributes["gen_ai.request.stream"] is True
    history = json.loads(str(second.attributes["gen_ai.input.messages"]))
    assert [(m["role"], m["parts"][0]["content"]) for m in history] == [
        ("user", "Hello"),
        ("assistant", f"Stub reply from {MODEL}: Hello"),
        ("user", "And again"),
    ]


def test_embed_content_gemini(
    instrument: Instrument,
    client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    result = client.models.embed_content(model="text-embedding-004", contents=["a cat", "a dog"])
    assert result.embeddings is not None
    assert len(result.embeddings) == 2
    span = only_span(span_exporter)
    assert span.name == "embeddings text-embedding-004"
    attrs = dict(span.attributes or {})
    assert json.loads(str(attrs.pop("gen_ai.input.messages"))) == [
        {"role": "user", "parts": [{"type": "text", "content": "a cat"}]},
        {"role": "user", "parts": [{"type": "text", "content": "a dog"}]},
    ]
    assert attrs == {
        **base(llm_stub, operation="embeddings"),
        "gen_ai.embeddings.dimension.count": 768,
    }


async def test_embed_content_vertex_counts_tokens(
    instrumented: GoogleGenAIInstrumentor,
    vertex_client: genai.Client,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    await vertex_client.aio.models.embed_content(
        model="text-embedding-004", contents=["a cat", "a dog"]
    )
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attrs["gen_ai.usage.input_tokens"] == 4  # statistics.token_count of each instance


def test_latest_experimental_names(
    instrument: Instrument,
    client: genai.Client,
    llm_stub: StubServer,
    metric_reader: InMemoryMetricReader,
) -> None:
    instrument(latest=True)
    llm_stub.enqueue(text_reply("Hi", usage=Usage(input_tokens=6, output_tokens=2)))
    client.models.generate_content(model=MODEL, contents="Say hello")
    [(_, inputs)] = metric_points(metric_reader, "gen_ai.client.inference.operation.input_tokens")
    assert inputs.sum == 6
    [(_, duration)] = metric_points(metric_reader, "gen_ai.client.inference.duration")
    assert duration.count == 1


def test_uninstrument_and_reinstrument(
    tracer_provider: TracerProvider,
    client: genai.Client,
    span_exporter: InMemorySpanExporter,
) -> None:
    models = genai.models.Models
    original = vars(models)["_generate_content"]
    instrumentor = GoogleGenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    client.models.generate_content(model=MODEL, contents="Hi")
    instrumentor.uninstrument()
    assert vars(models)["_generate_content"] is original
    client.models.generate_content(model=MODEL, contents="Hi")
    assert len(span_exporter.get_finished_spans()) == 1
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        client.models.generate_content(model=MODEL, contents="Hi")
    finally:
        instrumentor.uninstrument()
    assert len(span_exporter.get_finished_spans()) == 2


def test_entry_point() -> None:
    [entry] = [
        e
        for e in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if e.name == "llmotel_google_genai"
    ]
    assert entry.load() is GoogleGenAIInstrumentor


def test_cost_from_genai_prices(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    client: genai.Client,
    llm_stub: StubServer,
) -> None:
    check_cost(
        GoogleGenAIInstrumentor(),
        (tracer_provider, meter_provider, metric_reader),
        llm_stub,
        lambda: client.models.generate_content(model=MODEL, contents="Say hello"),
        model=MODEL,
        provider_id="google",
        cache_read_tokens=400,
    )


def test_event_only_keeps_content_off_the_span(
    instrument: Instrument,
    client: genai.Client,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="EVENT_ONLY")
    client.models.generate_content(model=MODEL, contents="Say hello")
    attrs = only_span(span_exporter).attributes
    assert attrs is not None
    assert "gen_ai.input.messages" not in attrs
    [log] = log_exporter.get_finished_logs()
    record = log.log_record
    assert record.attributes is not None
    # Log attributes hold the structure (lists come back as tuples): compare as JSON.
    assert json.loads(json.dumps(record.attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    assert json.loads(json.dumps(record.attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": f"Stub reply from {MODEL}: Say hello"}],
            "finish_reason": "stop",
        }
    ]
    span_context = only_span(span_exporter).context
    assert span_context is not None
    assert record.span_id == span_context.span_id
