"""The real anthropic SDK against the stub: messages, plain and streamed, sync and async, tool use,
cache."""

from __future__ import annotations

import json

import anthropic
import pytest

from llmotel.testing import StubServer, count_tokens, text_reply, tool_call_reply

MESSAGES = [{"role": "user", "content": "What is the weather in Paris?"}]
PROMPT_TOKENS = count_tokens("What is the weather in Paris?")
DEFAULT = "Stub reply from claude-test-1: What is the weather in Paris?"


@pytest.fixture
def client(llm_stub: StubServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=llm_stub.anthropic_base_url, api_key="test-key", max_retries=0
    )


@pytest.fixture
def aclient(llm_stub: StubServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=llm_stub.anthropic_base_url, api_key="test-key", max_retries=0
    )


def test_default_reply(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="claude-test-1", max_tokens=100, messages=MESSAGES)
    assert message.id == "msg_stub000001"
    assert message.model == "claude-test-1"
    assert message.stop_reason == "end_turn"
    assert [b.type for b in message.content] == ["text"]
    text = message.content[0].text  # type: ignore[union-attr]
    assert text == DEFAULT
    assert message.usage.input_tokens == PROMPT_TOKENS
    assert message.usage.output_tokens == count_tokens(DEFAULT)
    assert message.usage.cache_read_input_tokens == 0
    assert message.usage.cache_creation_input_tokens == 0


def test_max_tokens_stop_reason(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="claude-test-1", max_tokens=2, messages=MESSAGES)
    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == "Stub reply"  # type: ignore[union-attr]
    assert message.usage.output_tokens == 2


def test_system_counts_as_input(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model="claude-test-1", max_tokens=100, system="Be brief.", messages=MESSAGES
    )
    assert message.usage.input_tokens == PROMPT_TOKENS + count_tokens("Be brief.")


def test_tool_use(client: anthropic.Anthropic, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, text="Checking."))
    message = client.messages.create(model="claude-test-1", max_tokens=100, messages=MESSAGES)
    assert message.stop_reason == "tool_use"
    assert [b.type for b in message.content] == ["text", "tool_use"]
    block = message.content[1]
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == (
        "toolu_stub000001_0",
        "get_weather",
        {"city": "Paris"},
    )
    expected = (
        count_tokens("Checking.") + count_tokens("get_weather") + count_tokens('{"city":"Paris"}')
    )
    assert message.usage.output_tokens == expected


def test_cache_control_creates_then_reads(client: anthropic.Anthropic) -> None:
    system = [
        {
            "type": "text",
            "text": "A long, stable instruction.",
            "cache_control": {"type": "ephemeral"},
        }
    ]
    cached = count_tokens("A long, stable instruction.")
    first = client.messages.create(
        model="claude-test-1", max_tokens=100, system=system, messages=MESSAGES
    )
    second = client.messages.create(
        model="claude-test-1", max_tokens=100, system=system, messages=MESSAGES
    )
    assert first.usage.cache_creation_input_tokens == cached
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == cached
    assert first.usage.input_tokens == second.usage.input_tokens == PROMPT_TOKENS


def test_raw_stream_events(client: anthropic.Anthropic) -> None:
    events = list(
        client.messages.create(
            model="claude-test-1", max_tokens=100, messages=MESSAGES, stream=True
        )
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start"
    assert kinds[1] == "content_block_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    text = "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == DEFAULT
    delta = events[-2]
    assert delta.type == "message_delta"
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == count_tokens(DEFAULT)


def test_stream_helper_final_message(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model="claude-test-1", max_tokens=100, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == DEFAULT
    assert final.content[0].text == DEFAULT  # type: ignore[union-attr]
    assert final.usage.input_tokens == PROMPT_TOKENS
    assert final.usage.output_tokens == count_tokens(DEFAULT)


def test_stream_tool_use_input_json_delta(
    client: anthropic.Anthropic, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris", "unit": "celsius"}))
    with client.messages.stream(model="claude-test-1", max_tokens=100, messages=MESSAGES) as stream:
        events = list(stream)
        final = stream.get_final_message()
    partials = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len(partials) > 1
    assert json.loads("".join(partials)) == {"city": "Paris", "unit": "celsius"}
    assert final.stop_reason == "tool_use"
    block = final.content[0]
    assert block.type == "tool_use"
    assert block.input == {"city": "Paris", "unit": "celsius"}


async def test_async_plain_and_stream(
    aclient: anthropic.AsyncAnthropic, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(text_reply("One."), text_reply("Two words."))
    message = await aclient.messages.create(
        model="claude-test-1", max_tokens=100, messages=MESSAGES
    )
    assert message.content[0].text == "One."  # type: ignore[union-attr]
    async with aclient.messages.stream(
        model="claude-test-1", max_tokens=100, messages=MESSAGES
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Two words."
    assert final.usage.output_tokens == 3


def test_recorded_request(client: anthropic.Anthropic, llm_stub: StubServer) -> None:
    client.messages.create(model="claude-test-1", max_tokens=100, messages=MESSAGES)
    (request,) = llm_stub.requests
    assert request.path == "/v1/messages"
    # 2.x authenticates with a bearer token, older releases with x-api-key
    assert "test-key" in (
        request.headers.get("x-api-key"),
        request.headers.get("authorization", "").removeprefix("Bearer "),
    )
    assert request.json == {"model": "claude-test-1", "max_tokens": 100, "messages": MESSAGES}
