"""The Anthropic endpoints: messages (plain and streamed) and messages/count_tokens."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from llmotel.testing._common import (
    Call,
    JsonResponse,
    Rendered,
    SseEvent,
    StreamResponse,
    default_text,
    under,
)
from llmotel.testing._replies import Reply, StreamError, ToolCall, Usage
from llmotel.testing._tokens import count_all, count_tokens, split_for_stream, truncate_tokens

_ERROR_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def owns(path: str) -> bool:
    """Whether ``path`` (without the ``/v1`` prefix) is an Anthropic endpoint."""
    return under(path, "/messages")


def error_body(status: int, message: str | None, type: str | None, seq: int) -> dict[str, Any]:
    """Anthropic's error body ``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    default_type, default_message = _ERROR_DEFAULTS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", f"Error {status}.")
    )
    return {
        "type": "error",
        "error": {"type": type or default_type, "message": message or default_message},
        "request_id": f"req_stub_{seq:06d}",
    }


def error_response(status: int, reply: Reply, seq: int) -> JsonResponse:
    return JsonResponse(status, error_body(status, reply.message, reply.error_type, seq))


def render(call: Call, path: str) -> Rendered:
    if call.method == "POST" and path == "/messages":
        return _messages(call)
    if call.method == "POST" and path == "/messages/count_tokens":
        return JsonResponse(200, {"input_tokens": sum(_prompt_counts(call.json))})
    body = error_body(404, f"Not found: {call.method} {call.path}", None, call.seq)
    return JsonResponse(404, body)


# --- prompt accounting ----------------------------------------------------------------------------
def _block_texts(block: Any) -> list[str]:
    if isinstance(block, str):
        return [block]
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return [block["text"]]
    if kind == "tool_use":
        return [str(block.get("name", "")), json.dumps(block.get("input", {}))]
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return [content]
        return [t for part in content or [] for t in _block_texts(part)]
    return []


def _prompt_blocks(request: dict[str, Any]) -> list[tuple[list[str], bool]]:
    """Every countable piece of the prompt in cache order (tools, system, messages), each with
    whether it carries ``cache_control``. Tool definitions count nothing but can hold a cache
    breakpoint.
    """
    tools = request.get("tools") or []
    blocks: list[tuple[list[str], bool]] = [
        ([], "cache_control" in tool) for tool in tools if isinstance(tool, dict)
    ]
    system = request.get("system")
    if isinstance(system, str):
        blocks.append(([system], False))
    elif isinstance(system, list):
        blocks += [(_block_texts(b), isinstance(b, dict) and "cache_control" in b) for b in system]
    for message in request.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            blocks.append(([content], False))
        elif isinstance(content, list):
            blocks += [
                (_block_texts(b), isinstance(b, dict) and "cache_control" in b) for b in content
            ]
    return blocks


def _prompt_counts(request: dict[str, Any]) -> tuple[int, int]:
    """(tokens up to and including the last ``cache_control`` block, tokens after it)."""
    blocks = _prompt_blocks(request)
    last = max((i for i, (_, cached) in enumerate(blocks) if cached), default=-1)
    prefix = count_all(t for texts, _ in blocks[: last + 1] for t in texts)
    rest = count_all(t for texts, _ in blocks[last + 1 :] for t in texts)
    return prefix, rest


def _cache_key(call: Call) -> str:
    blocks = _prompt_blocks(call.json)
    last = max((i for i, (_, cached) in enumerate(blocks) if cached), default=-1)
    prefix = json.dumps([call.request_model, [texts for texts, _ in blocks[: last + 1]]])
    return hashlib.sha256(prefix.encode()).hexdigest()


def _last_user_text(request: dict[str, Any]) -> str | None:
    for message in reversed(request.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            texts = (
                [content]
                if isinstance(content, str)
                else [
                    b["text"]
                    for b in content or []
                    if isinstance(b, dict) and b.get("type") == "text"
                ]
            )
            if texts:
                return " ".join(texts)
    return None


def _usage(call: Call, output_tokens: int) -> dict[str, Any]:
    """Usage the way Anthropic reports it: ``input_tokens`` excludes the cached prefix, which
    appears as ``cache_creation_input_tokens`` the first time a prefix is seen and
    ``cache_read_input_tokens`` after.
    """
    prefix, rest = _prompt_counts(call.json)
    created = read = 0
    if prefix:
        key = _cache_key(call)
        if key in call.cache_prefixes:
            read = prefix
        else:
            call.cache_prefixes.add(key)
            created = prefix
    over = call.reply.usage if call.reply is not None and call.reply.usage is not None else Usage()
    created = (
        over.cache_creation_input_tokens
        if over.cache_creation_input_tokens is not None
        else created
    )
    read = over.cache_read_input_tokens if over.cache_read_input_tokens is not None else read
    return {
        "input_tokens": over.input_tokens if over.input_tokens is not None else rest,
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": created, "ephemeral_1h_input_tokens": 0},
        "output_tokens": over.output_tokens if over.output_tokens is not None else output_tokens,
        "service_tier": "standard",
    }


# --- messages -------------------------------------------------------------------------------------
def _tool_id(call: Call, tc: ToolCall, index: int) -> str:
    return tc.id or f"toolu_stub{call.seq:06d}_{index}"


def _messages(call: Call) -> Rendered:
    request = call.json
    text = call.scripted_text()
    if text is None:
        text = default_text(call.request_model, _last_user_text(request))
    tool_calls = call.tool_calls()
    truncated = False
    limit = request.get("max_tokens")
    if isinstance(limit, int) and not tool_calls and count_tokens(text) > limit:
        text, truncated = truncate_tokens(text, limit), True
    if call.reply is not None and call.reply.finish_reason is not None:
        stop_reason = call.reply.finish_reason
    else:
        stop_reason = "tool_use" if tool_calls else "max_tokens" if truncated else "end_turn"
    output_tokens = count_tokens(text) + count_all(
        t for c in tool_calls for t in (c.name, c.arguments_json)
    )
    usage = _usage(call, output_tokens)
    content: list[dict[str, Any]] = []
    if text or not tool_calls:
        content.append({"type": "text", "text": text})
    for i, tc in enumerate(tool_calls):
        content.append(
            {"type": "tool_use", "id": _tool_id(call, tc, i), "name": tc.name, "input": _input(tc)}
        )
    message = {
        "id": f"msg_stub{call.seq:06d}",
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }
    if not call.stream:
        return JsonResponse(200, message)
    return _stream(call, message, text, tool_calls)


def _input(tc: ToolCall) -> Any:
    if isinstance(tc.arguments, str):
        try:
            return json.loads(tc.arguments)
        except ValueError:
            return {}
    return dict(tc.arguments)


def _stream(
    call: Call, message: dict[str, Any], text: str, tool_calls: tuple[ToolCall, ...]
) -> StreamResponse:
    usage = message["usage"]
    start_usage = {**usage, "output_tokens": min(1, usage["output_tokens"])}
    events: list[SseEvent] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    **message,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
    ]
    index = 0
    if text or not tool_calls:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
        )
        events.append(("ping", {"type": "ping"}))
        events += [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": t},
                },
            )
            for t in (split_for_stream(text) if text else [])
        ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    for i, tc in enumerate(tool_calls):
        block = {"type": "tool_use", "id": _tool_id(call, tc, i), "name": tc.name, "input": {}}
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block},
            )
        )
        arguments = tc.arguments_json
        events += [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": arguments[k : k + 8]},
                },
            )
            for k in range(0, len(arguments), 8)
        ]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    delta_usage = {
        k: usage[k]
        for k in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        )
    }
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": delta_usage,
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))

    def error_event(error: StreamError) -> SseEvent:
        body = error_body(error.status, error.message, error.type, call.seq)
        return ("error", {"type": "error", "error": body["error"]})

    return StreamResponse(events, error_event)
