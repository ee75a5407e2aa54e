"""The duplicate rule: one logical LiteLLM call is one span, whichever llmotel instrumentations are on.

LiteLLM's OpenAI route goes through the ``openai`` SDK (its Anthropic and Mistral routes use its
own HTTP client). With the llmotel openai and anthropic instrumentations on too, the LiteLLM span
is the one that stays: it names the provider and the model as the caller asked for them, and
the SDK call underneath sees the LiteLLM span current and makes none. Without LiteLLM's
instrumentation the SDK's span is made as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import litellm
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.litellm import LiteLLMInstrumentor
from llmotel.testing import StubServer, Usage, text_reply

from .conftest import ANTHROPIC_MODEL, OPENAI_MODEL

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
Route = Callable[[str], dict[str, Any]]
MODELS = pytest.mark.parametrize("model", [OPENAI_MODEL, ANTHROPIC_MODEL])


def one_litellm_span(exporter: InMemorySpanExporter, provider: str) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert [(s.instrumentation_scope.name if s.instrumentation_scope else None) for s in spans] == [
        "llmotel.instrumentation.litellm"
    ]
    attrs = dict(spans[0].attributes or {})
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.usage.input_tokens"] == 4
    return spans[0]


def reply(stub: StubServer) -> None:
    stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=4, output_tokens=2)))


@MODELS
def test_sync(
    sdk_instrumented: None,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    model: str,
) -> None:
    reply(llm_stub)
    litellm.completion(**route(model), messages=MESSAGES)
    one_litellm_span(span_exporter, model.split("/")[0])


@MODELS
async def test_async(
    sdk_instrumented: None,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    model: str,
) -> None:
    reply(llm_stub)
    await litellm.acompletion(**route(model), messages=MESSAGES)
    one_litellm_span(span_exporter, model.split("/")[0])


@MODELS
def test_stream(
    sdk_instrumented: None,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    model: str,
) -> None:
    reply(llm_stub)
    options = {"include_usage": True}
    list(litellm.completion(**route(model), messages=MESSAGES, stream=True, stream_options=options))
    one_litellm_span(span_exporter, model.split("/")[0])


@MODELS
async def test_async_stream(
    sdk_instrumented: None,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    model: str,
) -> None:
    reply(llm_stub)
    options = {"include_usage": True}
    stream = await litellm.acompletion(
        **route(model), messages=MESSAGES, stream=True, stream_options=options
    )
    _ = [chunk async for chunk in stream]
    one_litellm_span(span_exporter, model.split("/")[0])


def test_embedding(
    sdk_instrumented: None,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    span_exporter: InMemorySpanExporter,
) -> None:
    litellm.embedding(
        **route("openai/text-embedding-3-small"), input=["a"], encoding_format="float"
    )
    [span] = span_exporter.get_finished_spans()
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "llmotel.instrumentation.litellm"


def test_only_litellm_instrumented(
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    reply(llm_stub)
    litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
    one_litellm_span(span_exporter, "openai")


def test_only_the_sdk_instrumented(
    sdk_instrumented: None,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    # With an encoding_format LiteLLM's embedding route calls the SDK's embeddings.create (without
    # one, and on its chat route in recent releases, it posts through the SDK client's post()).
    litellm.embedding(
        **route("openai/text-embedding-3-small"), input=["a"], encoding_format="float"
    )
    [span] = span_exporter.get_finished_spans()
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "llmotel.instrumentation.openai"
    assert span.name == "embeddings text-embedding-3-small"


def test_direct_sdk_calls_keep_their_span(
    sdk_instrumented: None,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    reply(llm_stub)
    litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
    reply(llm_stub)
    client = openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test")
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    scopes = [
        s.instrumentation_scope.name if s.instrumentation_scope else None
        for s in span_exporter.get_finished_spans()
    ]
    assert scopes == ["llmotel.instrumentation.litellm", "llmotel.instrumentation.openai"]
