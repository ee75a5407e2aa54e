"""The real openai SDK against the stub: Responses, embeddings, completions, structured outputs."""

from __future__ import annotations

import base64
import json
import struct
from typing import Literal

import openai
import pydantic
import pytest

from llmotel.testing import StubServer, count_tokens, text_reply, tool_call_reply


class Weather(pydantic.BaseModel):
    city: str
    temperature: float
    tags: list[str]
    unit: Literal["celsius", "fahrenheit"]


@pytest.fixture
def client(llm_stub: StubServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test-key", max_retries=0)


@pytest.fixture
def aclient(llm_stub: StubServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm_stub.openai_base_url, api_key="test-key", max_retries=0)


needs_responses = pytest.mark.skipif(
    not hasattr(openai.OpenAI, "responses"), reason="this openai release has no Responses API"
)


# --- Responses API -------------------------------------------------------------------------------
@needs_responses
def test_responses_create_and_retrieve(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4.1", input="Hello there", instructions="Be kind."
    )
    assert response.id == "resp_stub000001"
    assert response.status == "completed"
    assert response.model == "gpt-4.1"
    assert response.output_text == "Stub reply from gpt-4.1: Hello there"
    assert response.usage is not None
    assert response.usage.input_tokens == count_tokens("Be kind.") + count_tokens("Hello there")
    assert response.usage.output_tokens == count_tokens(response.output_text)
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    again = client.responses.retrieve(response.id)
    assert again.output_text == response.output_text
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_unknown")


@needs_responses
def test_responses_message_items_and_function_call(
    client: openai.OpenAI, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    response = client.responses.create(
        model="gpt-4.1",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]}],
    )
    (item,) = response.output
    assert item.type == "function_call"
    assert (item.name, json.loads(item.arguments), item.call_id) == (
        "get_weather",
        {"city": "Paris"},
        "call_stub000001_0",
    )
    assert response.usage is not None
    assert response.usage.input_tokens == count_tokens("Weather in Paris?")


@needs_responses
def test_responses_stream_events(client: openai.OpenAI) -> None:
    stream = client.responses.create(model="gpt-4.1", input="Hi you", stream=True)
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Stub reply from gpt-4.1: Hi you"
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.usage is not None
    assert completed.response.usage.output_tokens == count_tokens(text)


@needs_responses
def test_responses_stream_helper_and_function_call_deltas(
    client: openai.OpenAI, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(
        tool_call_reply("search", {"query": "otel genai conventions"}, text="Searching.")
    )
    with client.responses.stream(model="gpt-4.1", input="find it") as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) > 1
    assert json.loads("".join(deltas)) == {"query": "otel genai conventions"}
    assert final.output_text == "Searching."
    assert [item.type for item in final.output] == ["message", "function_call"]


@needs_responses
async def test_responses_async_stream(aclient: openai.AsyncOpenAI) -> None:
    stream = await aclient.responses.create(model="gpt-4.1", input="async", stream=True)
    kinds = [e.type async for e in stream]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"


@needs_responses
def test_responses_parse(client: openai.OpenAI) -> None:
    parsed = client.responses.parse(model="gpt-4.1", input="weather", text_format=Weather)
    assert parsed.output_parsed == Weather(
        city="stub", temperature=1.0, tags=["stub"], unit="celsius"
    )


# --- structured outputs on chat -------------------------------------------------------------------
def test_chat_parse_with_a_pydantic_model(client: openai.OpenAI) -> None:
    completions = getattr(client.chat.completions, "parse", None) and client.chat.completions
    helper = completions or client.beta.chat.completions  # openai 1.x keeps parse() under beta
    result = helper.parse(
        model="gpt-4o", messages=[{"role": "user", "content": "weather"}], response_format=Weather
    )
    parsed = result.choices[0].message.parsed
    assert parsed == Weather(city="stub", temperature=1.0, tags=["stub"], unit="celsius")


def test_json_object_mode(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "json please"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(result.choices[0].message.content or "") == {
        "reply": "Stub reply from gpt-4o: json please"
    }


def test_scripted_json_text(client: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(
        text_reply({"city": "Oslo", "temperature": -3.5, "tags": [], "unit": "celsius"})
    )
    completions = getattr(client.chat.completions, "parse", None) and client.chat.completions
    helper = completions or client.beta.chat.completions
    result = helper.parse(
        model="gpt-4o", messages=[{"role": "user", "content": "weather"}], response_format=Weather
    )
    assert result.choices[0].message.parsed == Weather(
        city="Oslo", temperature=-3.5, tags=[], unit="celsius"
    )


# --- embeddings -----------------------------------------------------------------------------------
def test_embeddings_float_and_base64_agree(client: openai.OpenAI, llm_stub: StubServer) -> None:
    as_float = client.embeddings.create(
        model="text-embedding-3-small", input=["a b", "c"], encoding_format="float"
    )
    as_base64 = client.embeddings.create(
        model="text-embedding-3-small", input=["a b", "c"], encoding_format="base64"
    )
    assert [d.index for d in as_float.data] == [0, 1]
    assert len(as_float.data[0].embedding) == 16
    assert as_float.data[0].embedding != as_float.data[1].embedding
    # the SDK decodes base64 itself (when asked explicitly it hands over the string)
    raw = as_base64.data[0].embedding
    decoded = list(struct.unpack("<16f", base64.b64decode(raw))) if isinstance(raw, str) else raw
    assert decoded == as_float.data[0].embedding
    assert as_float.usage.prompt_tokens == count_tokens("a b") + count_tokens("c")
    assert as_float.usage.total_tokens == as_float.usage.prompt_tokens
    assert llm_stub.requests[1].json["encoding_format"] == "base64"


def test_embeddings_sdk_default_encoding_and_dimensions(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="text-embedding-3-large", input="hello", dimensions=5)
    assert result.model == "text-embedding-3-large"
    assert len(result.data[0].embedding) == 5
    again = client.embeddings.create(model="text-embedding-3-large", input="hello", dimensions=5)
    assert again.data[0].embedding == result.data[0].embedding


# --- legacy completions ---------------------------------------------------------------------------
def test_legacy_completions(client: openai.OpenAI) -> None:
    result = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    text = result.choices[0].text
    assert text == "Stub reply from gpt-3.5-turbo-instruct: Say hi"
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (2, count_tokens(text))


def test_legacy_completions_stream_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.completions.create(
            model="gpt-3.5-turbo-instruct",
            prompt="Say hi",
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == "Stub reply from gpt-3.5-turbo-instruct: Say hi"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == count_tokens(text)


def test_model_suffix_gives_a_dated_model(client: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.model_suffix = "-2024-08-06"
    result = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}]
    )
    assert result.model == "gpt-4o-2024-08-06"
    assert result.choices[0].message.content == "Stub reply from gpt-4o: x"
