"""Raw / streaming-response streams: the caller gets exactly the chunks it would uninstrumented."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.testing import StubServer, Usage, text_reply

from .conftest import Instrument

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
USAGE = Usage(input_tokens=9, output_tokens=3)


def _ser(chunk: Any) -> str:
    """The chunk serialized, minus the stub's per-request counters (id, created)."""
    return chunk.model_dump_json(exclude={"id", "created"})


def _raw(client: openai.OpenAI) -> list[str]:
    response = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    return [_ser(c) for c in response.parse()]


def _streaming(client: openai.OpenAI) -> list[str]:
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as response:
        return [_ser(c) for c in response.parse()]


async def _araw(client: openai.AsyncOpenAI) -> list[str]:
    response = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    return [_ser(c) async for c in response.parse()]


async def _astreaming(client: openai.AsyncOpenAI) -> list[str]:
    async with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as response:
        return [_ser(c) async for c in await response.parse()]


@pytest.mark.parametrize("call", [_raw, _streaming])
def test_raw_stream_chunks_unchanged(
    call: Any,
    instrument: Instrument,
    client: openai.OpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("one two three", usage=USAGE))
    plain = call(client)
    instrument()
    llm_stub.enqueue(text_reply("one two three", usage=USAGE))
    # A fresh client: with_raw_response binds ``create`` once per client (cached).
    traced = call(openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="t", max_retries=0))
    assert traced == plain
    assert "stream_options" not in llm_stub.requests[-1].json
    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1
    assert spans[0].end_time is not None


@pytest.mark.parametrize("call", [_araw, _astreaming])
async def test_raw_stream_chunks_unchanged_async(
    call: Any,
    instrument: Instrument,
    aclient: openai.AsyncOpenAI,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("one two three", usage=USAGE))
    plain = await call(aclient)
    instrument()
    llm_stub.enqueue(text_reply("one two three", usage=USAGE))
    fresh = openai.AsyncOpenAI(base_url=llm_stub.openai_base_url, api_key="t", max_retries=0)
    traced = await call(fresh)
    assert traced == plain
    assert "stream_options" not in llm_stub.requests[-1].json
    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1
    assert spans[0].end_time is not None
