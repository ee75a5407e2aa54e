"""Scripting the stub: queued replies, raw bodies, latency, recorded requests, reset, threads."""

from __future__ import annotations

import itertools
import json
import threading
import time

import anthropic
import openai
import pytest

from llmotel.testing import (
    StubServer,
    ToolCall,
    Usage,
    count_tokens,
    error_reply,
    raw_reply,
    text_reply,
    tool_call_reply,
)

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {
    "model": "claude-test-1",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.fixture
def oai(llm_stub: StubServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test-key", max_retries=0)


@pytest.fixture
def claude(llm_stub: StubServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=llm_stub.anthropic_base_url, api_key="test-key", max_retries=0
    )


def test_queue_is_shared_across_endpoints_in_order(
    oai: openai.OpenAI, claude: anthropic.Anthropic, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(text_reply("for openai"), text_reply("for anthropic"))
    assert llm_stub.pending == 2
    assert oai.chat.completions.create(**CHAT).choices[0].message.content == "for openai"  # type: ignore[call-overload]
    message = claude.messages.create(**MESSAGE)  # type: ignore[call-overload]
    assert message.content[0].text == "for anthropic"
    assert llm_stub.pending == 0


def test_several_tool_calls(
    oai: openai.OpenAI, claude: anthropic.Anthropic, llm_stub: StubServer
) -> None:
    calls = [ToolCall("a", {"x": 1}), ToolCall("b", '{"y": 2}', id="call_custom")]
    llm_stub.enqueue(tool_call_reply(calls=calls), tool_call_reply(calls=calls))
    chat = oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    tool_calls = chat.choices[0].message.tool_calls
    assert [(c.id, c.function.name) for c in tool_calls] == [
        ("call_stub000001_0", "a"),
        ("call_custom", "b"),
    ]
    message = claude.messages.create(**MESSAGE)  # type: ignore[call-overload]
    assert [(b.id, b.name, b.input) for b in message.content] == [  # type: ignore[union-attr]
        ("toolu_stub000002_0", "a", {"x": 1}),
        ("call_custom", "b", {"y": 2}),
    ]


def test_tool_call_reply_needs_a_call() -> None:
    with pytest.raises(ValueError, match="name or calls"):
        tool_call_reply()


def test_enqueue_rejects_what_is_not_a_reply(llm_stub: StubServer) -> None:
    with pytest.raises(TypeError):
        llm_stub.enqueue("hello")  # type: ignore[arg-type]


def test_usage_override_on_anthropic(claude: anthropic.Anthropic, llm_stub: StubServer) -> None:
    usage = Usage(
        input_tokens=10,
        output_tokens=20,
        cache_read_input_tokens=30,
        cache_creation_input_tokens=40,
    )
    llm_stub.enqueue(text_reply("x", usage=usage))
    message = claude.messages.create(**MESSAGE)  # type: ignore[call-overload]
    got = message.usage
    assert (got.input_tokens, got.output_tokens) == (10, 20)
    assert (got.cache_read_input_tokens, got.cache_creation_input_tokens) == (30, 40)


def test_usage_override_cached_and_reasoning_tokens_on_openai(
    oai: openai.OpenAI, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(text_reply("x", usage=Usage(cache_read_input_tokens=1, reasoning_tokens=2)))
    usage = oai.chat.completions.create(**CHAT).usage  # type: ignore[call-overload]
    details = usage.model_dump()  # openai 1.40 has no typed *_details yet
    assert details["prompt_tokens_details"]["cached_tokens"] == 1
    assert details["completion_tokens_details"]["reasoning_tokens"] == 2
    assert usage.completion_tokens == 1


def test_finish_reason_override(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(text_reply("filtered", finish_reason="content_filter"))
    chat = oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert chat.choices[0].finish_reason == "content_filter"


def test_raw_reply_with_none_and_unknown_fields(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    body = {
        "id": "weird",
        "object": "chat.completion",
        "created": None,
        "model": None,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": None}
        ],
        "usage": None,
        "brand_new_field": {"nested": True},
    }
    llm_stub.enqueue(raw_reply(body, headers={"x-custom": "1"}))
    chat = oai.chat.completions.with_raw_response.create(**CHAT)  # type: ignore[call-overload]
    assert chat.headers["x-custom"] == "1"
    parsed = chat.parse()
    assert parsed.usage is None
    assert parsed.model is None
    assert parsed.choices[0].message.content is None


def test_raw_reply_malformed_json(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(raw_reply(b'{"id": "x", "choices": ['))
    with pytest.raises(json.JSONDecodeError):
        oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]


def test_raw_reply_truncated_body(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(raw_reply({"id": "x", "choices": []}, truncate_at=5))
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]


def test_raw_reply_any_status_and_text_body(
    claude: anthropic.Anthropic, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(raw_reply("<html>bad gateway</html>", status=502, content_type="text/html"))
    with pytest.raises(anthropic.InternalServerError) as caught:
        claude.messages.create(**MESSAGE)  # type: ignore[call-overload]
    assert caught.value.status_code == 502


def test_raw_reply_hand_written_stream(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hand"}, "finish_reason": None}],
        "surprise": 1,
    }
    body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
    llm_stub.enqueue(raw_reply(body, content_type="text/event-stream"))
    chunks = list(oai.chat.completions.create(**CHAT, stream=True))  # type: ignore[call-overload]
    assert [c.choices[0].delta.content for c in chunks] == ["hand"]


def test_per_reply_latency(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(text_reply("slow", latency=0.3), error_reply(500, latency=0.2))
    start = time.perf_counter()
    oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert time.perf_counter() - start >= 0.3
    start = time.perf_counter()
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert time.perf_counter() - start >= 0.2


def test_global_latency(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.latency = 0.2
    start = time.perf_counter()
    oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert time.perf_counter() - start >= 0.2


def test_chunk_delay_spaces_stream_events(
    claude: anthropic.Anthropic, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(text_reply("one two three", chunk_delay=0.05))
    stream = claude.messages.create(**MESSAGE, stream=True)  # type: ignore[call-overload]
    arrivals = [time.perf_counter() for _event in stream]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # start, block start, 3 deltas, block stop, message delta, stop (the SDK drops the ping)
    assert len(arrivals) == 8
    assert sum(gaps) >= 0.05 * (len(gaps) - 1)


def test_recorded_requests_keep_query_headers_and_body(
    oai: openai.OpenAI, llm_stub: StubServer
) -> None:
    oai.chat.completions.create(
        **CHAT, extra_headers={"x-trace": "abc"}, extra_query={"api-version": "1"}
    )  # type: ignore[call-overload]
    (request,) = llm_stub.requests
    assert request.query == {"api-version": ["1"]}
    assert request.headers["x-trace"] == "abc"
    assert json.loads(request.body) == request.json


def test_reset_forgets_everything(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(text_reply("queued"), text_reply("queued too"))
    oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    llm_stub.reset()
    assert llm_stub.requests == []
    assert llm_stub.pending == 0
    chat = oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert chat.id == "chatcmpl-stub000001"
    assert chat.choices[0].message.content == "Stub reply from gpt-4o: hi"


def test_concurrent_requests_get_distinct_ids_and_queued_replies(llm_stub: StubServer) -> None:
    client = openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="k", max_retries=0)
    llm_stub.enqueue(*[text_reply(f"reply {i}") for i in range(16)])
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def call() -> None:
        chat = client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        with lock:
            results.append((chat.id, chat.choices[0].message.content or ""))

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({chat_id for chat_id, _ in results}) == 16
    assert sorted(text for _, text in results) == sorted(f"reply {i}" for i in range(16))
    assert len(llm_stub.requests) == 16


def test_default_usage_matches_the_tokenizer(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model="claude-test-1",
        max_tokens=100,
        messages=[
            {"role": "user", "content": "First question?"},
            {"role": "assistant", "content": [{"type": "text", "text": "An answer."}]},
            {
                "role": "user",
                "content": [{"type": "text", "text": "Second, longer question: why?"}],
            },
        ],
    )
    text = message.content[0].text  # type: ignore[union-attr]
    assert text == "Stub reply from claude-test-1: Second, longer question: why?"
    prompt = ["First question?", "An answer.", "Second, longer question: why?"]
    assert message.usage.input_tokens == sum(count_tokens(t) for t in prompt)
    assert message.usage.output_tokens == count_tokens(text)


def test_server_can_restart_and_serve_two_at_once() -> None:
    with StubServer() as first, StubServer(latency=0.0) as second:
        assert first.port != second.port
        client = openai.OpenAI(base_url=second.openai_base_url, api_key="k", max_retries=0)
        client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        assert len(second.requests) == 1
        assert first.requests == []
    with pytest.raises(RuntimeError):
        _ = first.url
