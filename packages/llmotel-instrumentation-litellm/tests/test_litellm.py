"""LiteLLM, instrumented, over real HTTP to the stub server (its OpenAI, Anthropic and Mistral APIs)."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from typing import Any

import litellm
import pytest
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.litellm import LiteLLMInstrumentor
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

from .conftest import ANTHROPIC_MODEL, OPENAI_MODEL, Instrument

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
Route = Callable[[str], dict[str, Any]]


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [(s.name, s.instrumentation_scope) for s in spans]
    assert_semconv(spans[0])
    return spans[0]


def base(stub: StubServer, provider: str, model: str, operation: str = "chat") -> dict[str, Any]:
    return {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "server.address": "127.0.0.1",
        "server.port": stub.port,
    }


def test_completion_openai(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=12, output_tokens=3)))
    response = litellm.completion(
        **route(OPENAI_MODEL),
        messages=MESSAGES,
        temperature=0.2,
        top_p=0.9,
        max_tokens=100,
        stop=["END"],
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.3,
    )
    assert response.choices[0].message.content == "Hello!"
    span = only_span(span_exporter)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "llmotel.instrumentation.litellm"
    assert dict(span.attributes or {}) == {
        **base(llm_stub, "openai", "gpt-4o-mini"),
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.seed": 7,
        "gen_ai.request.presence_penalty": 0.1,
        "gen_ai.request.frequency_penalty": 0.3,
        "gen_ai.response.id": response.id,
        "gen_ai.response.model": "gpt-4o-mini",
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
    assert attrs == {
        **base(llm_stub, "openai", "gpt-4o-mini"),
        "gen_ai.response.model": "gpt-4o-mini",
    }


def test_completion_anthropic_cache_tokens(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    usage = Usage(
        input_tokens=20,
        output_tokens=4,
        cache_read_input_tokens=100,
        cache_creation_input_tokens=30,
    )
    llm_stub.enqueue(text_reply("Hi", usage=usage))
    response = litellm.completion(**route(ANTHROPIC_MODEL), messages=MESSAGES, max_tokens=50)
    assert llm_stub.requests[-1].path == "/v1/messages"  # LiteLLM's own client, not the SDK
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-sonnet-4-20250514"
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    # LiteLLM's prompt_tokens include the cache reads (and, since about 1.100, the cache writes).
    assert attrs["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert response.usage.prompt_tokens in (120, 150)
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 30
    assert attrs["gen_ai.usage.output_tokens"] == 4


def test_mistral_provider_name(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Bonjour"))
    litellm.completion(**route("mistral/mistral-small-latest"), messages=MESSAGES)
    span = only_span(span_exporter)
    assert span.name == "chat mistral-small-latest"
    assert (span.attributes or {})["gen_ai.provider.name"] == "mistral_ai"


def test_positional_model_and_messages(
    instrumented: LiteLLMInstrumentor,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hello!"))
    litellm.completion(
        "gpt-4o-mini", MESSAGES, api_base=llm_stub.openai_base_url, api_key="test", max_tokens=9
    )
    span = only_span(span_exporter)
    assert span.name == "chat gpt-4o-mini"
    assert (span.attributes or {})["gen_ai.provider.name"] == "openai"
    assert (span.attributes or {})["gen_ai.request.max_tokens"] == 9


async def test_acompletion(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=5, output_tokens=2)))
    response = await litellm.acompletion(**route(ANTHROPIC_MODEL), messages=MESSAGES)
    assert response.choices[0].message.content == "Hello!"
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.usage.input_tokens"] == 5
    assert attrs["gen_ai.usage.output_tokens"] == 2


@pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])
def test_stream(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    model: str,
) -> None:
    llm_stub.enqueue(text_reply("Hello there!", usage=Usage(input_tokens=7, output_tokens=3)))
    stream = litellm.completion(
        **route(model), messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert span_exporter.get_finished_spans() == ()  # open while the stream is read
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello there!"
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == 7
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert [
        p.count for _, p in metric_points(metric_reader, "gen_ai.client.operation.duration")
    ] == [1]
    assert metric_points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")


async def test_async_stream(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hello there!", usage=Usage(input_tokens=7, output_tokens=3)))
    stream = await litellm.acompletion(
        **route(OPENAI_MODEL),
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello there!"
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == 7
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_stream_without_usage_sends_what_the_caller_sent(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hello"))
    list(litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True))
    assert "stream_options" not in llm_stub.requests[-1].json
    attrs = dict(only_span(span_exporter).attributes or {})
    assert "gen_ai.usage.input_tokens" not in attrs
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


STREAM_CLOSE = pytest.mark.skipif(
    not hasattr(CustomStreamWrapper, "close"), reason="LiteLLM < 1.108 streams have no close/with"
)


@STREAM_CLOSE
def test_stream_break_then_close(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("one two three four five"))
    stream = litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True)
    for _ in stream:
        break
    assert span_exporter.get_finished_spans() == ()
    stream.close()
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert "llmotel.stream.abandoned" not in (span.attributes or {})


@STREAM_CLOSE
def test_stream_context_exit(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("one two three"))
    with litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True) as stream:
        next(iter(stream))
    only_span(span_exporter)


@pytest.mark.skipif(not hasattr(CustomStreamWrapper, "aclose"), reason="no aclose")
async def test_async_stream_aclose(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("one two three"))
    stream = await litellm.acompletion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True)
    async for _ in stream:
        break
    await stream.aclose()
    only_span(span_exporter)


def test_stream_abandoned(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("one two three"))
    stream = litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    span = only_span(span_exporter)
    assert (span.attributes or {})["llmotel.stream.abandoned"] is True


def test_stream_cut_midway_fails_the_span(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(cut_stream_reply(2, text="one two three four"))
    with pytest.raises(Exception) as caught:  # whatever LiteLLM raises, unchanged
        list(litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True))
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == type(caught.value).__qualname__


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, litellm.exceptions.RateLimitError),
        (401, litellm.exceptions.AuthenticationError),
        (500, litellm.exceptions.InternalServerError),
    ],
)
def test_errors_by_litellm_exception_class(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    status: int,
    error: type[Exception],
) -> None:
    llm_stub.enqueue(error_reply(status))
    with pytest.raises(error):
        litellm.completion(**route(ANTHROPIC_MODEL), messages=MESSAGES, num_retries=0)
    error_type = error.__qualname__
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == error_type
    assert attrs["gen_ai.provider.name"] == "anthropic"
    [(point_attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert point_attrs["error.type"] == error_type


def test_unknown_provider(
    instrument: Instrument,
    span_exporter: InMemorySpanExporter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def call() -> str:
        with pytest.raises(litellm.exceptions.BadRequestError):
            litellm.completion(model="no-such-model", messages=MESSAGES)
        return capsys.readouterr().out

    plain = call()
    instrument()
    assert call() == plain  # LiteLLM's provider-list hint, printed as often as without us
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.provider.name"] == "litellm"
    assert attrs["error.type"] == "BadRequestError"


def test_embedding(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    response = litellm.embedding(
        **route("openai/text-embedding-3-small"), input=["a", "b"], encoding_format="float"
    )
    span = only_span(span_exporter)
    assert span.name == "embeddings text-embedding-3-small"
    attrs = dict(span.attributes or {})
    assert attrs == {
        **base(llm_stub, "openai", "text-embedding-3-small", "embeddings"),
        "gen_ai.request.encoding_formats": ("float",),
        "gen_ai.response.model": response.model,
        "gen_ai.usage.input_tokens": response.usage.prompt_tokens,
        "gen_ai.embeddings.dimension.count": len(response.data[0]["embedding"]),
    }


async def test_aembedding(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    span_exporter: InMemorySpanExporter,
) -> None:
    await litellm.aembedding(**route("openai/text-embedding-3-small"), input="a")
    span = only_span(span_exporter)
    assert span.name == "embeddings text-embedding-3-small"


def test_content_on_span(
    instrument: Instrument,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, text="Let me check"))
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages = [{"role": "system", "content": "Be brief"}, *MESSAGES]
    litellm.completion(**route(OPENAI_MODEL), messages=messages, tools=tools)
    attrs = dict(only_span(span_exporter).attributes or {})
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief"}
    ]
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    [output] = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output["finish_reason"] == "tool_call"
    assert output["parts"][0] == {"type": "text", "content": "Let me check"}
    call = output["parts"][1]
    assert (call["type"], call["name"], call["arguments"]) == (
        "tool_call",
        "get_weather",
        {"city": "Paris"},
    )
    assert json.loads(str(attrs["gen_ai.tool.definitions"]))[0]["name"] == "get_weather"


def test_streamed_content_on_span(
    instrument: Instrument,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    list(litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True))
    attrs = dict(only_span(span_exporter).attributes or {})
    [output] = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output["finish_reason"] == "tool_call"
    [call] = [p for p in output["parts"] if p["type"] == "tool_call"]
    assert (call["name"], call["arguments"]) == ("get_weather", {"city": "Paris"})


def test_no_content_by_default(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("secret reply"))
    litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
    attrs = dict(only_span(span_exporter).attributes or {})
    assert not [k for k in attrs if k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.sys"))]


def test_uninstrument_restores_litellm(
    instrument: Instrument,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    original = litellm.completion
    instrumentor = instrument()
    assert litellm.completion is not original
    kept = litellm.completion  # imported while instrumented
    instrumentor.uninstrument()
    assert litellm.completion is original
    llm_stub.enqueue(text_reply("a"), text_reply("b"))
    litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
    kept(**route(OPENAI_MODEL), messages=MESSAGES)
    assert span_exporter.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("model", "provider_id"),
    [
        (ANTHROPIC_MODEL, "anthropic"),
        (OPENAI_MODEL, "openai"),
        ("mistral/mistral-small-latest", "mistral"),
    ],
)
def test_cost_by_the_provider_underneath(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    route: Route,
    llm_stub: StubServer,
    model: str,
    provider_id: str,
) -> None:
    check_cost(
        LiteLLMInstrumentor(),
        (tracer_provider, meter_provider, metric_reader),
        llm_stub,
        lambda: litellm.completion(**route(model), messages=MESSAGES),
        model=model.split("/", 1)[1],
        provider_id=provider_id,
    )


async def test_router_calls_are_covered(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    router = litellm.Router(
        model_list=[{"model_name": "fast", "litellm_params": route(OPENAI_MODEL)}]
    )
    llm_stub.enqueue(text_reply("Hello!"), text_reply("Hello again!"))
    router.completion(model="fast", messages=MESSAGES)
    await router.acompletion(model="fast", messages=MESSAGES)
    spans = span_exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat gpt-4o-mini", "chat gpt-4o-mini"]
    assert [(s.attributes or {})["gen_ai.provider.name"] for s in spans] == ["openai", "openai"]
