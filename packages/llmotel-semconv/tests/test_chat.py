"""The OpenAI-compatible chat readers of llmotel.semconv.chat, dict and model forms alike."""

from __future__ import annotations

from types import SimpleNamespace

from llmotel.semconv.chat import (
    chat_input,
    chat_request,
    chat_response,
    content_parts,
    embeddings_input,
    output_message,
    output_type,
    stop_sequences,
)
from llmotel.semconv.inference import Invocation


def _inv() -> Invocation:
    return Invocation(operation="chat", provider="openai")


def test_stop_sequences_and_output_type() -> None:
    assert stop_sequences("END") == ["END"]
    assert stop_sequences(["a", "b"]) == ["a", "b"]
    assert stop_sequences(["a", 1]) is None
    assert output_type({"type": "json_schema"}) == "json"
    assert output_type(SimpleNamespace(type="text")) == "text"
    assert output_type({"type": "other"}) is None
    assert output_type(None) is None


def test_thinking_chunks_only_when_asked() -> None:
    content = [{"type": "thinking", "thinking": [{"type": "text", "text": "hm"}]}]
    assert content_parts(content, thinking=True) == [{"type": "reasoning", "content": "hm"}]
    assert content_parts(content) == [{"type": "thinking"}]
    assert content_parts("") == []
    assert content_parts(7) == []


def test_output_message_reasoning_field_and_finish_map() -> None:
    message = SimpleNamespace(
        content="hi",
        reasoning_content="why",
        tool_calls=[{"id": "c1", "function": {"name": "f", "arguments": '{"x": 1}'}}],
    )
    out = output_message(
        message, "tool_calls", {"tool_calls": "tool_call"}, reasoning_field="reasoning_content"
    )
    assert out == {
        "role": "assistant",
        "parts": [
            {"type": "reasoning", "content": "why"},
            {"type": "text", "content": "hi"},
            {"type": "tool_call", "id": "c1", "name": "f", "arguments": {"x": 1}},
        ],
        "finish_reason": "tool_call",
    }
    assert output_message(message, None, {})["parts"][0] == {"type": "text", "content": "hi"}
    assert output_message(None, None, {}) == {
        "role": "assistant",
        "parts": [],
        "finish_reason": "error",
    }


def test_chat_input_roles_tool_replies_and_tools() -> None:
    kw = {
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [{"type": "image_url", "image_url": "https://x/i.png"}]},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "42"}]},
        ],
        "tools": [
            {
                "type": "function",
                "function": {"name": "f", "description": "d", "parameters": {"type": "object"}},
            }
        ],
    }
    inv = _inv()
    chat_input(inv, kw, system_roles=("system", "developer"))
    assert inv.system_instructions == [{"type": "text", "content": "be brief"}]
    assert inv.input_messages == [
        {"role": "user", "parts": [{"type": "uri", "modality": "image", "uri": "https://x/i.png"}]},
        {
            "role": "tool",
            "parts": [
                {
                    "type": "tool_call_response",
                    "id": "c1",
                    "response": [{"type": "text", "text": "42"}],
                }
            ],
        },
    ]
    assert inv.tool_definitions == [
        {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}}
    ]
    texts = _inv()
    chat_input(texts, kw, tool_reply_texts=True)
    assert texts.system_instructions is None
    assert texts.input_messages[0] == {
        "role": "developer",
        "parts": [{"type": "text", "content": "be brief"}],
    }
    assert texts.input_messages[2]["parts"][0]["response"] == ["42"]


def test_embeddings_input_keeps_strings_only() -> None:
    inv = _inv()
    embeddings_input(inv, ["a", 3, "b"])
    assert inv.input_messages == [
        {"role": "user", "parts": [{"type": "text", "content": "a"}]},
        {"role": "user", "parts": [{"type": "text", "content": "b"}]},
    ]


def test_chat_request_keys() -> None:
    inv = _inv()
    kw = {"max_completion_tokens": 0, "max_tokens": 9, "random_seed": 4, "seed": 5, "top_k": 3}
    chat_request(inv, kw, max_tokens=("max_completion_tokens", "max_tokens"), seed="random_seed")
    assert (inv.max_tokens, inv.seed, inv.top_k) == (9, 4, 3.0)
    plain = _inv()
    chat_request(
        plain, {"max_tokens": 0, "seed": True, "stop": "x", "response_format": {"type": "text"}}
    )
    assert (plain.max_tokens, plain.seed, plain.stop_sequences, plain.output_type) == (
        0,
        None,
        ["x"],
        "text",
    )


def test_chat_response_reads_choices_through_the_callers_readers() -> None:
    reply = SimpleNamespace(
        id="r1",
        model="m",
        usage=SimpleNamespace(prompt_tokens=3),
        choices=[
            SimpleNamespace(finish_reason="stop", message={"content": "hi"}),
            SimpleNamespace(finish_reason=None, message=None),
        ],
    )
    inv = _inv()

    def usage(inv: Invocation, u: object) -> None:
        inv.input_tokens = getattr(u, "prompt_tokens", None)

    def output(message: object, reason: str | None) -> dict[str, object]:
        return output_message(message, reason, {})

    chat_response(inv, reply, True, reason=lambda c: c.finish_reason, usage=usage, output=output)
    assert (inv.response_id, inv.response_model, inv.input_tokens) == ("r1", "m", 3)
    assert inv.finish_reasons == ["stop"]
    assert inv.output_messages == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "hi"}],
            "finish_reason": "stop",
        },
        {"role": "assistant", "parts": [], "finish_reason": "error"},
    ]
    quiet = _inv()
    chat_response(quiet, reply, False, reason=lambda c: c.finish_reason, usage=usage, output=output)
    assert quiet.output_messages is None
