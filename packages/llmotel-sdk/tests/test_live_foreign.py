"""The normalizer on spans a real foreign instrumentation emits right now (not only the dumps)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from openinference.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.sdk import ConventionNormalizer, PipelineSpanExporter
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import StubServer, tool_call_reply


@pytest.fixture
def openinference_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    pipeline = PipelineSpanExporter([ConventionNormalizer("replace")], span_exporter)
    provider.add_span_processor(SimpleSpanProcessor(pipeline))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield provider
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def test_openinference_openai_live(
    openinference_provider: TracerProvider,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    client = openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test")
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello."}],
        temperature=0.3,
    )
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}]
    )
    chat, tool = span_exporter.get_finished_spans()
    for span in (chat, tool):
        assert_semconv(span)
        assert span.name == "chat gpt-4o-mini"
    assert chat.attributes is not None
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    assert chat.attributes["gen_ai.request.temperature"] == 0.3
    assert chat.attributes["gen_ai.input.messages"] == (
        '[{"role":"user","parts":[{"type":"text","content":"Say hello."}]}]'
    )
    assert tool.attributes is not None
    (message,) = json.loads(str(tool.attributes["gen_ai.output.messages"]))
    (part,) = message["parts"]
    assert part.pop("id").startswith("call_")
    assert part == {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}}
    assert message["finish_reason"] == "tool_call"
