"""The real openai SDK against the stub: chat completions, plain and streamed, sync and async."""

from __future__ import annotations

import json

import openai
import pytest

from llmotel.testing import StubServer, Usage, count_tokens, text_reply, tool_call_reply

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hello, world!"},
]
PROMPT_TOKENS = count_tokens("You are terse.") + count_tokens("Hello, world!")


@pytest.fixture
def client(llm_stub: StubServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test-key", max_retries=0)


@pytest.fixture
def aclient(llm_stub: StubServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm_stub.openai_base_url, api_key="test-key", max_retries=0)


def test_default_reply_echoes_the_last_user_text(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    text = result.choices[0].message.content
    assert text == "Stub reply from gpt-4o-mini: Hello, world!"
    assert result.model == "gpt-4o-mini"
    assert result.id == "chatcmpl-stub000001"
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.prompt_tokens == PROMPT_TOKENS
    assert result.usage.completion_tokens == count_tokens(text)
    assert result.usage.total_tokens == PROMPT_TOKENS + count_tokens(text)


def test_scripted_text_and_usage_override(client: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(
        text_reply("First."), text_reply("Second.", usage=Usage(input_tokens=100, output_tokens=7))
    )
    first = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    second = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    third = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert first.choices[0].message.content == "First."
    assert first.usage is not None
    assert first.usage.completion_tokens == 2
    assert second.choices[0].message.content == "Second."
    assert second.usage is not None
    assert (second.usage.prompt_tokens, second.usage.completion_tokens) == (100, 7)
    assert third.choices[0].message.content == "Stub reply from gpt-4o: Hello, world!"


def test_n_choices(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=3)
    assert [c.index for c in result.choices] == [0, 1, 2]
    text = result.choices[0].message.content or ""
    assert result.usage is not None
    assert result.usage.completion_tokens == 3 * count_tokens(text)


def test_max_tokens_truncates_with_finish_reason_length(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=3)
    assert result.choices[0].message.content == "Stub reply from"
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None
    assert result.usage.completion_tokens == 3


def test_tool_call_reply(client: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    result = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.id == "call_stub000001_0"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    expected = count_tokens("get_weather") + count_tokens('{"city":"Paris"}')
    assert result.usage is not None
    assert result.usage.completion_tokens == expected


def test_stream_with_include_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Stub reply from gpt-4o: Hello, world!"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens == PROMPT_TOKENS
    assert last.usage.completion_tokens == count_tokens(text)
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_stream_tool_call_deltas(client: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("lookup", {"query": "a fairly long query string"}))
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    deltas = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id == "call_stub000001_0"
    assert deltas[0].function is not None
    assert deltas[0].function.name == "lookup"
    arguments = "".join(d.function.arguments or "" for d in deltas if d.function is not None)
    assert json.loads(arguments) == {"query": "a fairly long query string"}
    assert len(deltas) > 2
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_stream_helper_accumulates(client: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("lookup", {"q": 1}, text="Let me look."))
    completions = getattr(client.chat.completions, "stream", None) and client.chat.completions
    helper = completions or client.beta.chat.completions  # openai 1.x keeps the helper under beta
    with helper.stream(model="gpt-4o", messages=MESSAGES) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert message.content == "Let me look."
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.name == "lookup"


async def test_async_plain_and_stream(aclient: openai.AsyncOpenAI) -> None:
    result = await aclient.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert result.choices[0].message.content == "Stub reply from gpt-4o: Hello, world!"
    stream = await aclient.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == (
        "Stub reply from gpt-4o: Hello, world!"
    )
    assert chunks[-1].usage is not None


def test_recorded_request(client: openai.OpenAI, llm_stub: StubServer) -> None:
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, temperature=0.25)
    (request,) = llm_stub.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.json == {"model": "gpt-4o", "messages": MESSAGES, "temperature": 0.25}
