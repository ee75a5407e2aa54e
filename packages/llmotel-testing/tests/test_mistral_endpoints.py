"""The real mistralai SDK against the stub: chat (plain and streamed, sync and async), tool calls,
embeddings, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmotel.testing import (
    StubServer,
    Usage,
    count_tokens,
    error_reply,
    text_reply,
    tool_call_reply,
)

try:  # mistralai >= 2
    from mistralai.client import Mistral
except ImportError:  # mistralai 1.x
    from mistralai import Mistral  # type: ignore[attr-defined,no-redef,unused-ignore]

MESSAGES: Any = [{"role": "user", "content": "What is the weather in Paris?"}]
PROMPT_TOKENS = count_tokens("What is the weather in Paris?")
DEFAULT = "Stub reply from mistral-test: What is the weather in Paris?"


@pytest.fixture
def client(llm_stub: StubServer) -> Any:
    return Mistral(api_key="test-key", server_url=llm_stub.mistral_base_url)


def test_default_reply(client: Any, llm_stub: StubServer) -> None:
    response = client.chat.complete(model="mistral-test", messages=MESSAGES)
    assert response.id == f"{1:032x}"
    assert response.model == "mistral-test"
    [choice] = response.choices
    assert choice.finish_reason == "stop"
    assert choice.message.content == DEFAULT
    assert response.usage.prompt_tokens == PROMPT_TOKENS
    assert response.usage.completion_tokens == count_tokens(DEFAULT)
    assert response.usage.total_tokens == PROMPT_TOKENS + count_tokens(DEFAULT)
    request = llm_stub.requests[-1]
    assert request.path == "/mistral/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"


def test_max_tokens_length(client: Any) -> None:
    response = client.chat.complete(model="mistral-test", messages=MESSAGES, max_tokens=2)
    assert response.choices[0].finish_reason == "length"
    assert response.choices[0].message.content == "Stub reply"


def test_scripted_usage_with_cache(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(text_reply("Hi", usage=Usage(input_tokens=50, cache_read_input_tokens=40)))
    usage = client.chat.complete(model="mistral-test", messages=MESSAGES).usage
    assert usage.prompt_tokens == 50
    assert usage.completion_tokens == 1
    assert usage.prompt_tokens_details == {"cached_tokens": 40}  # an extra field of the model


def test_tool_call(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    choice = client.chat.complete(model="mistral-test", messages=MESSAGES).choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.id == "t00000100"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_stream(client: Any) -> None:
    events = list(client.chat.stream(model="mistral-test", messages=MESSAGES))
    text = "".join(e.data.choices[0].delta.content for e in events)
    assert text == DEFAULT
    assert [e.data.usage is not None for e in events] == [False] * (len(events) - 1) + [True]
    assert events[-1].data.choices[0].finish_reason == "stop"
    assert events[-1].data.usage.completion_tokens == count_tokens(DEFAULT)


def test_stream_tool_call_whole_in_one_chunk(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, text="Ok."))
    events = list(client.chat.stream(model="mistral-test", messages=MESSAGES))
    calls = [c for e in events for c in (e.data.choices[0].delta.tool_calls or [])]
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city":"Paris"}')
    ]
    assert events[-1].data.choices[0].finish_reason == "tool_calls"


async def test_async(client: Any) -> None:
    response = await client.chat.complete_async(model="mistral-test", messages=MESSAGES)
    assert response.choices[0].message.content == DEFAULT
    stream = await client.chat.stream_async(model="mistral-test", messages=MESSAGES)
    text = "".join([e.data.choices[0].delta.content async for e in stream])
    assert text == DEFAULT


def test_embeddings(client: Any, llm_stub: StubServer) -> None:
    response = client.embeddings.create(model="mistral-embed", inputs=["a cat", "a dog"])
    assert [d.index for d in response.data] == [0, 1]
    assert len(response.data[0].embedding) == 1024
    assert response.data[0].embedding != response.data[1].embedding
    assert response.usage.prompt_tokens == 4
    assert llm_stub.requests[-1].json["input"] == ["a cat", "a dog"]


@pytest.mark.parametrize(("status", "error"), [(429, "SDKError"), (422, "HTTPValidationError")])
def test_errors(client: Any, llm_stub: StubServer, status: int, error: str) -> None:
    llm_stub.enqueue(error_reply(status, "nope"))
    with pytest.raises(Exception) as caught:
        client.chat.complete(model="mistral-test", messages=MESSAGES)
    assert type(caught.value).__name__ == error
    assert "nope" in str(caught.value)


def test_openai_paths_unchanged(llm_stub: StubServer) -> None:
    import urllib.request

    body = json.dumps({"model": "gpt-test", "messages": MESSAGES}).encode()
    request = urllib.request.Request(
        llm_stub.openai_base_url + "/chat/completions",
        body,
        {"content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        reply = json.loads(response.read())
    assert reply["object"] == "chat.completion"
    assert reply["system_fingerprint"] == "fp_llmotel_stub"
