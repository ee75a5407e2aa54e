"""The OpenAI endpoints: chat completions, completions, embeddings and the Responses API."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from typing import Any

from llmotel.testing._common import (
    Call,
    JsonResponse,
    Rendered,
    SseEvent,
    StreamResponse,
    default_text,
    embedding_vector,
    schema_instance,
)
from llmotel.testing._replies import Reply, StreamError, ToolCall, Usage
from llmotel.testing._tokens import count_all, count_tokens, split_for_stream, truncate_tokens

SYSTEM_FINGERPRINT = "fp_llmotel_stub"

_ERROR_DEFAULTS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Permission denied."),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: (
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again in 1s.",
    ),
    500: (
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}


def error_body(
    status: int, message: str | None, type: str | None, code: str | None, param: str | None
) -> dict[str, Any]:
    """OpenAI's error body ``{"error": {"message", "type", "param", "code"}}`` with defaults per
    status."""
    default_type, default_code, default_message = _ERROR_DEFAULTS.get(
        status,
        ("server_error" if status >= 500 else "invalid_request_error", None, f"Error {status}."),
    )
    return {
        "error": {
            "message": message or default_message,
            "type": type or default_type,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }


def error_response(status: int, reply: Reply, request: Any) -> JsonResponse:
    message = reply.message
    if (
        message is None
        and status == 404
        and isinstance(request, dict)
        and isinstance(request.get("model"), str)
    ):
        message = f"The model `{request['model']}` does not exist or you do not have access to it."
    return JsonResponse(
        status, error_body(status, message, reply.error_type, reply.code, reply.param)
    )


def _stream_error(error: StreamError) -> SseEvent:
    return (None, error_body(error.status, error.message, error.type, error.code, None))


def render(call: Call, path: str) -> Rendered:
    if call.method == "POST":
        handler = _POST_ROUTES.get(path)
        if handler is not None:
            return handler(call)
    if call.method == "GET" and path.startswith("/responses/") and path.count("/") == 2:
        return _retrieve_response(call, path.rsplit("/", 1)[1])
    body = error_body(
        404, f"Invalid URL ({call.method} {call.path})", "invalid_request_error", None, None
    )
    body["error"]["code"] = None  # what the real API says for an unknown path
    return JsonResponse(404, body)


# --- helpers --------------------------------------------------------------------------------------
def _content_texts(content: Any) -> list[str]:
    """Texts of a message ``content``: a string, or the ``text`` of its parts (other parts count
    nothing)."""
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif isinstance(part.get("refusal"), str):
                    texts.append(part["refusal"])
    return texts


def _chat_prompt_texts(messages: Any) -> list[str]:
    texts: list[str] = []
    if not isinstance(messages, list):
        return texts
    for message in messages:
        if not isinstance(message, dict):
            continue
        texts += _content_texts(message.get("content"))
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                texts += [str(function.get("name", "")), str(function.get("arguments", ""))]
    return texts


def _last_user_text(messages: Any, roles: tuple[str, ...] = ("user",)) -> str | None:
    if isinstance(messages, str):
        return messages
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") in roles:
            texts = _content_texts(message.get("content"))
            if texts:
                return " ".join(texts)
    return None


def _max_tokens(request: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = request.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _positive_int(request: dict[str, Any], name: str, default: int) -> int:
    value = request.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def _structured_text(call: Call, fmt: Any, last_user: str | None) -> str | None:
    """Default content for ``json_schema`` / ``json_object`` formats: JSON that ``parse()``
    accepts."""
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema", fmt)  # chat nests it; Responses' text.format is flat
        return json.dumps(schema_instance(spec.get("schema", {})))
    if fmt.get("type") == "json_object":
        return json.dumps({"reply": default_text(call.request_model, last_user)})
    return None


def _answer_text(
    call: Call, last_user: str | None, fmt: Any, limit: int | None
) -> tuple[str, bool]:
    """The answer's text and whether ``max_tokens`` truncated it."""
    text = call.scripted_text()
    if text is None:
        text = _structured_text(call, fmt, last_user) or default_text(call.request_model, last_user)
    if limit is not None and not call.tool_calls() and count_tokens(text) > limit:
        return truncate_tokens(text, limit), True
    return text, False


def _tool_call_id(call: Call, tool_call: ToolCall, index: int) -> str:
    return tool_call.id or f"call_stub{call.seq:06d}_{index}"


def _output_tokens(text: str, tool_calls: tuple[ToolCall, ...]) -> int:
    """Output tokens: the text's tokens plus each tool call's name and arguments."""
    return count_tokens(text) + count_all(t for c in tool_calls for t in (c.name, c.arguments_json))


def _usage_override(call: Call) -> Usage:
    return call.reply.usage if call.reply is not None and call.reply.usage is not None else Usage()


def _chat_usage(call: Call, prompt: int, completion: int) -> dict[str, Any]:
    over = _usage_override(call)
    prompt = over.input_tokens if over.input_tokens is not None else prompt
    completion = over.output_tokens if over.output_tokens is not None else completion
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {
            "cached_tokens": over.cache_read_input_tokens or 0,
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": over.reasoning_tokens or 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _include_usage(request: dict[str, Any]) -> bool:
    options = request.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _arguments_pieces(arguments: str) -> list[str]:
    size = 8
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


# --- chat completions -----------------------------------------------------------------------------
def _chat(call: Call) -> Rendered:
    request = call.json
    messages = request.get("messages")
    n = _positive_int(request, "n", 1)
    limit = _max_tokens(request, "max_completion_tokens", "max_tokens")
    text, truncated = _answer_text(
        call, _last_user_text(messages), request.get("response_format"), limit
    )
    tool_calls = call.tool_calls()
    if call.reply is not None and call.reply.finish_reason is not None:
        finish = call.reply.finish_reason
    else:
        finish = "tool_calls" if tool_calls else "length" if truncated else "stop"
    prompt_tokens = count_all(_chat_prompt_texts(messages))
    completion_tokens = n * _output_tokens(text, tool_calls)
    usage = _chat_usage(call, prompt_tokens, completion_tokens)
    chat_id = f"chatcmpl-stub{call.seq:06d}"
    if call.stream:
        return _chat_stream(call, chat_id, n, text, tool_calls, finish, usage)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": _tool_call_id(call, tc, i),
                "type": "function",
                "function": {"name": tc.name, "arguments": tc.arguments_json},
            }
            for i, tc in enumerate(tool_calls)
        ]
    body = {
        "id": chat_id,
        "object": "chat.completion",
        "created": call.created,
        "model": call.model,
        "choices": [
            {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
            for i in range(n)
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    return JsonResponse(200, body)


def _chat_stream(
    call: Call,
    chat_id: str,
    n: int,
    text: str,
    tool_calls: tuple[ToolCall, ...],
    finish: str,
    usage: dict[str, Any],
) -> StreamResponse:
    include_usage = _include_usage(call.json)

    def chunk(choices: list[dict[str, Any]], with_usage: dict[str, Any] | None = None) -> SseEvent:
        data: dict[str, Any] = {
            "id": chat_id,
            "object": "chat.completion.chunk",
            "created": call.created,
            "model": call.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if include_usage:
            data["usage"] = with_usage
        return (None, data)

    def choice(
        index: int, delta: dict[str, Any], finish_reason: str | None = None
    ) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    events: list[SseEvent] = []
    for i in range(n):
        events.append(chunk([choice(i, {"role": "assistant", "content": "", "refusal": None})]))
        if text:
            events += [chunk([choice(i, {"content": piece})]) for piece in split_for_stream(text)]
        for j, tc in enumerate(tool_calls):
            head = {
                "index": j,
                "id": _tool_call_id(call, tc, j),
                "type": "function",
                "function": {"name": tc.name, "arguments": ""},
            }
            events.append(chunk([choice(i, {"tool_calls": [head]})]))
            events += [
                chunk([choice(i, {"tool_calls": [{"index": j, "function": {"arguments": piece}}]})])
                for piece in _arguments_pieces(tc.arguments_json)
            ]
        events.append(chunk([choice(i, {}, finish)]))
    if include_usage:
        events.append(chunk([], usage))
    events.append((None, "[DONE]"))
    return StreamResponse(events, _stream_error)


# --- legacy completions ---------------------------------------------------------------------------
def _completions(call: Call) -> Rendered:
    request = call.json
    prompt = request.get("prompt")
    prompts = (
        [prompt] if isinstance(prompt, str) else [p for p in prompt or [] if isinstance(p, str)]
    )
    n = _positive_int(request, "n", 1)
    last = prompts[-1] if prompts else None
    text, truncated = _answer_text(call, last, None, _max_tokens(request, "max_tokens"))
    finish = (
        call.reply.finish_reason
        if call.reply and call.reply.finish_reason
        else "length"
        if truncated
        else "stop"
    )
    choices_count = n * max(len(prompts), 1)
    usage = _chat_usage(call, count_all(prompts), choices_count * count_tokens(text))
    usage.pop("prompt_tokens_details")
    usage.pop("completion_tokens_details")
    cmpl_id = f"cmpl-stub{call.seq:06d}"

    def body(choices: list[dict[str, Any]], with_usage: dict[str, Any] | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": cmpl_id,
            "object": "text_completion",
            "created": call.created,
            "model": call.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if with_usage is not None or not call.stream or _include_usage(request):
            data["usage"] = with_usage
        return data

    if not call.stream:
        choices = [
            {"text": text, "index": i, "logprobs": None, "finish_reason": finish}
            for i in range(choices_count)
        ]
        return JsonResponse(200, body(choices, usage))
    events: list[SseEvent] = []
    for i in range(choices_count):
        events += [
            (
                None,
                body([{"text": piece, "index": i, "logprobs": None, "finish_reason": None}], None),
            )
            for piece in split_for_stream(text)
        ]
        events.append(
            (
                None,
                body([{"text": "", "index": i, "logprobs": None, "finish_reason": finish}], None),
            )
        )
    if _include_usage(request):
        events.append((None, body([], usage)))
    events.append((None, "[DONE]"))
    return StreamResponse(events, _stream_error)


# --- embeddings -----------------------------------------------------------------------------------
def _embeddings(call: Call) -> Rendered:
    request = call.json
    raw_input = request.get("input")
    if isinstance(raw_input, str):
        inputs: list[Any] = [raw_input]
    elif isinstance(raw_input, list) and raw_input and all(isinstance(x, int) for x in raw_input):
        inputs = [raw_input]  # one pre-tokenized input
    elif isinstance(raw_input, list):
        inputs = raw_input
    else:
        return JsonResponse(
            400, error_body(400, "'input' is a required property", None, None, "input")
        )
    dims = _positive_int(request, "dimensions", 16)
    b64 = request.get("encoding_format") == "base64"
    data = []
    tokens = 0
    for i, item in enumerate(inputs):
        key = item if isinstance(item, str) else json.dumps(item)
        tokens += (
            count_tokens(item)
            if isinstance(item, str)
            else len(item)
            if isinstance(item, list)
            else 0
        )
        vector = embedding_vector(key, dims)
        value: Any = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if b64 else vector
        data.append({"object": "embedding", "index": i, "embedding": value})
    over = _usage_override(call)
    tokens = over.input_tokens if over.input_tokens is not None else tokens
    body = {
        "object": "list",
        "data": data,
        "model": call.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return JsonResponse(200, body)


# --- Responses API --------------------------------------------------------------------------------
def _responses_prompt(request: dict[str, Any]) -> tuple[list[str], str | None]:
    """Texts counted as input tokens, and the last user text."""
    texts: list[str] = []
    instructions = request.get("instructions")
    if isinstance(instructions, str):
        texts.append(instructions)
    items = request.get("input")
    if isinstance(items, str):
        return [*texts, items], items
    last_user: str | None = None
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            item_texts = _content_texts(item.get("content"))
            texts += item_texts
            if item.get("role") == "user" and item_texts:
                last_user = " ".join(item_texts)
        elif kind == "function_call":
            texts += [str(item.get("name", "")), str(item.get("arguments", ""))]
        elif kind == "function_call_output":
            output = item.get("output")
            texts += [output] if isinstance(output, str) else _content_texts(output)
    return texts, last_user


def _responses(call: Call) -> Rendered:
    request = call.json
    texts, last_user = _responses_prompt(request)
    text_config = request.get("text")
    fmt = text_config.get("format") if isinstance(text_config, dict) else None
    text, truncated = _answer_text(call, last_user, fmt, _max_tokens(request, "max_output_tokens"))
    tool_calls = call.tool_calls()
    over = _usage_override(call)
    input_tokens = over.input_tokens if over.input_tokens is not None else count_all(texts)
    output_tokens = (
        over.output_tokens if over.output_tokens is not None else _output_tokens(text, tool_calls)
    )
    usage = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": over.cache_read_input_tokens or 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": over.reasoning_tokens or 0},
        "total_tokens": input_tokens + output_tokens,
    }
    resp_id = f"resp_stub{call.seq:06d}"
    message_id = f"msg_stub{call.seq:06d}"
    output: list[dict[str, Any]] = []
    if text or not tool_calls:
        output.append(_message_item(message_id, text, "completed"))
    for i, tc in enumerate(tool_calls):
        output.append(_function_call_item(call, tc, i, tc.arguments_json, "completed"))
    final = _response_object(
        call, resp_id, "incomplete" if truncated else "completed", output, usage
    )
    if truncated:
        final["incomplete_details"] = {"reason": "max_output_tokens"}
    if request.get("store", True) is not False:
        call.responses_store[resp_id] = final
    if not call.stream:
        return JsonResponse(200, final)
    return _responses_stream(call, final, text, tool_calls)


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = (
        [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        if status == "completed"
        else []
    )
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _function_call_item(
    call: Call, tc: ToolCall, index: int, arguments: str, status: str
) -> dict[str, Any]:
    return {
        "id": f"fc_stub{call.seq:06d}_{index}",
        "type": "function_call",
        "status": status,
        "call_id": _tool_call_id(call, tc, index),
        "name": tc.name,
        "arguments": arguments,
    }


def _response_object(
    call: Call,
    resp_id: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    request = call.json
    text_config = (
        request.get("text")
        if isinstance(request.get("text"), dict)
        else {"format": {"type": "text"}}
    )
    return {
        "id": resp_id,
        "object": "response",
        "created_at": call.created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": call.model,
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": text_config,
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools", []),
        "top_p": request.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": request.get("metadata", {}),
    }


def _responses_stream(
    call: Call, final: dict[str, Any], text: str, tool_calls: tuple[ToolCall, ...]
) -> StreamResponse:
    seq = 0
    events: list[SseEvent] = []

    def emit(kind: str, **fields: Any) -> None:
        nonlocal seq
        events.append((kind, {"type": kind, "sequence_number": seq, **fields}))
        seq += 1

    initial = {
        **final,
        "status": "in_progress",
        "output": [],
        "usage": None,
        "incomplete_details": None,
    }
    emit("response.created", response=initial)
    emit("response.in_progress", response=initial)
    for output_index, item in enumerate(final["output"]):
        if item["type"] == "message":
            item_id = item["id"]
            emit(
                "response.output_item.added",
                output_index=output_index,
                item=_message_item(item_id, "", "in_progress"),
            )
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            emit(
                "response.content_part.added",
                item_id=item_id,
                output_index=output_index,
                content_index=0,
                part=part,
            )
            for piece in split_for_stream(text) if text else []:
                emit(
                    "response.output_text.delta",
                    item_id=item_id,
                    output_index=output_index,
                    content_index=0,
                    delta=piece,
                    logprobs=[],
                )
            emit(
                "response.output_text.done",
                item_id=item_id,
                output_index=output_index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            emit(
                "response.content_part.done",
                item_id=item_id,
                output_index=output_index,
                content_index=0,
                part={**part, "text": text},
            )
        else:
            item_id = item["id"]
            emit(
                "response.output_item.added",
                output_index=output_index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for piece in _arguments_pieces(item["arguments"]):
                emit(
                    "response.function_call_arguments.delta",
                    item_id=item_id,
                    output_index=output_index,
                    delta=piece,
                )
            emit(
                "response.function_call_arguments.done",
                item_id=item_id,
                output_index=output_index,
                name=item["name"],
                arguments=item["arguments"],
            )
        emit("response.output_item.done", output_index=output_index, item=item)
    emit(
        "response.incomplete" if final["status"] == "incomplete" else "response.completed",
        response=final,
    )

    def error_event(error: StreamError) -> SseEvent:
        body = error_body(error.status, error.message, error.type, error.code, None)["error"]
        return (
            "error",
            {
                "type": "error",
                "code": body["code"] or body["type"],
                "message": body["message"],
                "param": None,
                "sequence_number": seq,
            },
        )

    return StreamResponse(events, error_event)


def _retrieve_response(call: Call, resp_id: str) -> Rendered:
    stored = call.responses_store.get(resp_id)
    if stored is None:
        body = error_body(
            404, f"Response with id '{resp_id}' not found.", "invalid_request_error", None, None
        )
        return JsonResponse(404, body)
    return JsonResponse(200, stored)


_POST_ROUTES: dict[str, Callable[[Call], Rendered]] = {
    "/chat/completions": _chat,
    "/completions": _completions,
    "/embeddings": _embeddings,
    "/responses": _responses,
}
