"""The Mistral AI endpoints (chat completions, plain and streamed, and embeddings), served under
``/mistral`` so they do not collide with the OpenAI paths of the same name.

Like the real API: the usage is in every non-streamed reply and in the last chunk of a stream (no
``include_usage`` needed), tool-call arguments are JSON strings, stop reasons are ``stop``,
``length`` and ``tool_calls``, errors are ``{"object": "error", "message", "type", "param",
"code"}`` and a 422 is a validation error with ``detail``.
"""

from __future__ import annotations

import json
from typing import Any

from llmotel.testing._common import (
    Call,
    JsonResponse,
    Rendered,
    SseEvent,
    StreamResponse,
    default_text,
    embedding_vector,
    under,
)
from llmotel.testing._replies import Reply, StreamError, ToolCall, Usage
from llmotel.testing._tokens import count_all, count_tokens, split_for_stream, truncate_tokens

FAMILY = "mistral"
#: The path prefix of the Mistral endpoints: ``Mistral(server_url=stub.mistral_base_url)``.
PREFIX = "/mistral"
_EMBEDDING_DIMENSIONS = 1024  # mistral-embed's

_ERROR_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("invalid_request_error", "Unauthorized"),
    404: ("invalid_request_error", "Invalid model"),
    429: ("rate_limited", "Requests rate limit exceeded"),
    500: ("internal_server_error", "Internal server error"),
    503: ("internal_server_error", "Service unavailable"),
}


def owns(path: str) -> bool:
    """Whether the request path (as received) is a Mistral endpoint."""
    return under(path, PREFIX)


def error_body(status: int, message: str | None, type: str | None, code: str | None) -> Any:
    """Mistral's error body; a 422 is a ``HTTPValidationError`` (``{"detail": [...]}``)."""
    if status == 422:
        return {
            "detail": [{"loc": ["body"], "msg": message or "Invalid body.", "type": "value_error"}]
        }
    default_type, default_message = _ERROR_DEFAULTS.get(
        status,
        ("internal_server_error" if status >= 500 else "invalid_request_error", f"Error {status}."),
    )
    return {
        "object": "error",
        "message": message or default_message,
        "type": type or default_type,
        "param": None,
        "code": code,
    }


def error_response(status: int, reply: Reply, seq: int) -> JsonResponse:
    return JsonResponse(status, error_body(status, reply.message, reply.error_type, reply.code))


def render(call: Call) -> Rendered:
    path = call.path.removeprefix(PREFIX)
    if call.method == "POST" and path == "/v1/chat/completions":
        return _chat(call)
    if call.method == "POST" and path == "/v1/embeddings":
        return _embeddings(call)
    return JsonResponse(404, error_body(404, f"Not found: {call.method} {call.path}", None, None))


# --- prompt accounting ----------------------------------------------------------------------------
def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            c["text"] for c in content if isinstance(c, dict) and isinstance(c.get("text"), str)
        ]
    return []


def _prompt_texts(messages: Any) -> list[str]:
    out: list[str] = []
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict):
            continue
        out += _texts(message.get("content"))
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                arguments = function.get("arguments")
                out += [
                    str(function.get("name", "")),
                    arguments if isinstance(arguments, str) else json.dumps(arguments),
                ]
    return out


def _last_user_text(messages: Any) -> str | None:
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            texts = _texts(message.get("content"))
            if texts:
                return " ".join(texts)
    return None


def _usage(call: Call, prompt: int, completion: int) -> dict[str, Any]:
    over = call.reply.usage if call.reply is not None and call.reply.usage is not None else Usage()
    prompt = over.input_tokens if over.input_tokens is not None else prompt
    completion = over.output_tokens if over.output_tokens is not None else completion
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if over.cache_read_input_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": over.cache_read_input_tokens}
    return usage


# --- chat -----------------------------------------------------------------------------------------
def _tool_id(call: Call, tc: ToolCall, index: int) -> str:
    # Mistral's tool-call ids are nine alphanumeric characters.
    return tc.id or f"t{call.seq:06d}{index:02d}"[:9]


def _tool_calls(call: Call) -> list[dict[str, Any]]:
    return [
        {
            "id": _tool_id(call, tc, i),
            "type": "function",
            "function": {"name": tc.name, "arguments": tc.arguments_json},
            "index": i,
        }
        for i, tc in enumerate(call.tool_calls())
    ]


def _chat(call: Call) -> Rendered:
    request = call.json
    messages = request.get("messages")
    text = call.scripted_text()
    if text is None:
        text = default_text(call.request_model, _last_user_text(messages))
    tool_calls = _tool_calls(call)
    truncated = False
    limit = request.get("max_tokens")
    if isinstance(limit, int) and not tool_calls and count_tokens(text) > limit:
        text, truncated = truncate_tokens(text, limit), True
    if call.reply is not None and call.reply.finish_reason is not None:
        reason = call.reply.finish_reason
    else:
        reason = "tool_calls" if tool_calls else "length" if truncated else "stop"
    completion = count_tokens(text) + count_all(
        t for tc in call.tool_calls() for t in (tc.name, tc.arguments_json)
    )
    usage = _usage(call, count_all(_prompt_texts(messages)), completion)
    response_id = f"{call.seq:032x}"
    if call.stream:
        return _stream(call, response_id, text, tool_calls, reason, usage)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text,
        "tool_calls": tool_calls or None,
        "prefix": False,
    }
    return JsonResponse(
        200,
        {
            "id": response_id,
            "object": "chat.completion",
            "model": call.model,
            "created": call.created,
            "usage": usage,
            "choices": [{"index": 0, "message": message, "finish_reason": reason}],
        },
    )


def _stream(
    call: Call,
    response_id: str,
    text: str,
    tool_calls: list[dict[str, Any]],
    reason: str,
    usage: dict[str, Any],
) -> StreamResponse:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> SseEvent:
        body = {
            "id": response_id,
            "object": "chat.completion.chunk",
            "created": call.created,
            "model": call.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return (None, body)

    events: list[SseEvent] = [chunk({"role": "assistant", "content": ""})]
    pieces = split_for_stream(text) if text else []
    events += [chunk({"content": piece}) for piece in pieces]
    if tool_calls:
        # Mistral sends each tool call whole, in one chunk.
        events.append(chunk({"tool_calls": tool_calls}))
    events.append(chunk({"content": ""}, reason, usage=usage))
    events.append((None, "[DONE]"))

    def error_event(error: StreamError) -> SseEvent:
        return (None, error_body(error.status, error.message, error.type, error.code))

    return StreamResponse(events, error_event)


# --- embeddings -----------------------------------------------------------------------------------
def _embeddings(call: Call) -> Rendered:
    request = call.json
    raw = request.get("input")
    inputs = [raw] if isinstance(raw, str) else [t for t in raw or [] if isinstance(t, str)]
    dimensions = request.get("output_dimension")
    size = dimensions if isinstance(dimensions, int) and dimensions > 0 else _EMBEDDING_DIMENSIONS
    prompt = count_all(inputs)
    usage = _usage(call, prompt, 0)
    return JsonResponse(
        200,
        {
            "id": f"emb{call.seq:06d}",
            "object": "list",
            "model": call.model,
            "data": [
                {"object": "embedding", "embedding": embedding_vector(t, size), "index": i}
                for i, t in enumerate(inputs)
            ],
            "usage": usage,
        },
    )
