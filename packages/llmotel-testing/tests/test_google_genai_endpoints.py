"""The real google-genai SDK against the stub: generateContent (plain and streamed, sync and async,
Gemini API and Vertex AI paths), function calls, thinking and cached tokens, embeddings, errors."""

from __future__ import annotations

from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from llmotel.testing import (
    StubServer,
    Usage,
    count_tokens,
    error_reply,
    text_reply,
    tool_call_reply,
)

MODEL = "gemini-test"
DEFAULT = f"Stub reply from {MODEL}: What is the weather in Paris?"
PROMPT = "What is the weather in Paris?"


@pytest.fixture(params=["gemini", "vertex"])
def client(request: Any, llm_stub: StubServer) -> genai.Client:
    options = {"base_url": llm_stub.google_genai_base_url}
    if request.param == "vertex":
        return genai.Client(vertexai=True, api_key="test-key", http_options=options)
    return genai.Client(api_key="test-key", http_options=options)


def test_default_reply(client: genai.Client, llm_stub: StubServer) -> None:
    response = client.models.generate_content(model=MODEL, contents=PROMPT)
    assert response.text == DEFAULT
    assert response.response_id == "stub-000001"
    assert response.model_version == MODEL
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == count_tokens(PROMPT)
    assert usage.candidates_token_count == count_tokens(DEFAULT)
    assert usage.total_token_count == count_tokens(PROMPT) + count_tokens(DEFAULT)
    assert llm_stub.requests[-1].headers["x-goog-api-key"] == "test-key"
    assert llm_stub.requests[-1].path.endswith(f"models/{MODEL}:generateContent")


def test_system_instruction_counts_and_max_tokens(client: genai.Client) -> None:
    config = types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=2)
    response = client.models.generate_content(model=MODEL, contents=PROMPT, config=config)
    assert response.text == "Stub reply"
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert response.usage_metadata is not None
    assert response.usage_metadata.prompt_token_count == count_tokens(PROMPT + " Be brief.")


def test_thinking_and_cached_tokens(client: genai.Client, llm_stub: StubServer) -> None:
    usage = Usage(input_tokens=50, cache_read_input_tokens=40, reasoning_tokens=9)
    llm_stub.enqueue(text_reply("Done.", usage=usage))
    config = types.GenerateContentConfig(
        cached_content="cachedContents/c1",
        thinking_config=types.ThinkingConfig(include_thoughts=True),
    )
    response = client.models.generate_content(model=MODEL, contents=PROMPT, config=config)
    assert response.candidates is not None
    parts = response.candidates[0].content.parts  # type: ignore[union-attr]
    assert [(p.thought, p.text) for p in parts or []] == [(True, "Stub thought."), (None, "Done.")]
    meta = response.usage_metadata
    assert meta is not None
    assert (meta.prompt_token_count, meta.cached_content_token_count) == (50, 40)
    assert meta.thoughts_token_count == 9
    assert meta.total_token_count == 50 + count_tokens("Done.") + 9


def test_function_call(client: genai.Client, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, id="fc-1"))
    response = client.models.generate_content(model=MODEL, contents=PROMPT)
    [call] = response.function_calls or []
    assert (call.name, call.args, call.id) == ("get_weather", {"city": "Paris"}, "fc-1")


def test_stream(client: genai.Client) -> None:
    chunks = list(client.models.generate_content_stream(model=MODEL, contents=PROMPT))
    assert "".join(c.text or "" for c in chunks) == DEFAULT
    assert [c.candidates[0].finish_reason for c in chunks][-1] == types.FinishReason.STOP  # type: ignore[index]
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])  # type: ignore[index]
    last = chunks[-1].usage_metadata
    assert last is not None
    assert last.candidates_token_count == count_tokens(DEFAULT)


async def test_async(client: genai.Client) -> None:
    response = await client.aio.models.generate_content(model=MODEL, contents=PROMPT)
    assert response.text == DEFAULT
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents=PROMPT)
    assert "".join([c.text or "" async for c in stream]) == DEFAULT


def test_embeddings(client: genai.Client) -> None:
    result = client.models.embed_content(model="text-embedding-004", contents=["a cat", "a dog"])
    embeddings = result.embeddings or []
    assert len(embeddings) == 2
    assert len(embeddings[0].values or []) == 768
    assert embeddings[0].values != embeddings[1].values


def test_vertex_embeddings_report_token_counts(llm_stub: StubServer) -> None:
    client = genai.Client(
        vertexai=True, api_key="k", http_options={"base_url": llm_stub.google_genai_base_url}
    )
    result = client.models.embed_content(model="text-embedding-004", contents=["a cat"])
    [embedding] = result.embeddings or []
    assert embedding.statistics is not None
    assert embedding.statistics.token_count == 2
    assert (
        llm_stub.requests[-1].path == "/v1beta1/publishers/google/models/text-embedding-004:predict"
    )


@pytest.mark.parametrize(
    ("status", "error"), [(429, errors.ClientError), (503, errors.ServerError)]
)
def test_errors(
    client: genai.Client, llm_stub: StubServer, status: int, error: type[Exception]
) -> None:
    for _ in range(5):  # whatever the SDK's retries take
        llm_stub.enqueue(error_reply(status, "nope"))
    with pytest.raises(error) as caught:
        client.models.generate_content(model=MODEL, contents=PROMPT)
    assert caught.value.code == status  # type: ignore[attr-defined]
    assert "nope" in str(caught.value)
