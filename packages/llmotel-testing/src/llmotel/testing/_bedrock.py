"""The Amazon Bedrock Runtime endpoints (Converse and InvokeModel, plain and streamed), served under
``/bedrock`` as botocore sends them: ``POST /model/{modelId}/converse``, ``/converse-stream``,
``/invoke`` and ``/invoke-with-response-stream`` (the model id percent-encoded in the path).

Like the real service: Converse answers ``output.message``, ``stopReason`` (``end_turn``,
``tool_use``, ``max_tokens``), ``usage`` (``inputTokens`` without the cache tokens, which are
``cacheReadInputTokens`` / ``cacheWriteInputTokens``) and ``metrics``; InvokeModel answers the
model family's own body (Anthropic messages, Meta Llama, Amazon Titan text and embeddings, Amazon
Nova, Mistral prompt and chat) with the ``x-amzn-bedrock-input-token-count`` /
``-output-token-count`` headers. Streams are ``application/vnd.amazon.eventstream`` messages
(prelude with total and header lengths and its CRC32, headers ``:event-type``, ``:content-type``,
``:message-type``, a JSON payload, the message CRC32); InvokeModel's stream sends ``chunk`` events
whose ``bytes`` hold the model's own chunk JSON (base64), the last with
``amazon-bedrock-invocationMetrics``. Errors are ``{"message": ...}`` with the error code in
``x-amzn-errortype`` (``ValidationException``, ``ThrottlingException`` …); an error in a stream is
an exception message (``:message-type: exception``, ``:exception-type``), which botocore raises
as ``EventStreamError``.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from typing import Any
from urllib.parse import unquote

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
from llmotel.testing._replies import Reply, StreamError, Usage
from llmotel.testing._tokens import count_all, count_tokens, split_for_stream, truncate_tokens

FAMILY = "bedrock"
#: The path prefix of the Bedrock endpoints: ``boto3.client("bedrock-runtime",
#: endpoint_url=stub.bedrock_base_url)``.
PREFIX = "/bedrock"
REQUEST_ID_HEADER = "x-amzn-requestid"
CONTENT_TYPE = "application/vnd.amazon.eventstream"
_OPERATIONS = ("converse", "converse-stream", "invoke", "invoke-with-response-stream")
#: Fake credentials and region for a ``bedrock-runtime`` client on the stub (set them in the
#: environment); no shared config or credentials file is read, no instance metadata is asked.
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDSTUBSTUBSTUBSTUB",
    "AWS_SECRET_ACCESS_KEY": "stub-secret",
    "AWS_SESSION_TOKEN": "stub-token",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_MAX_ATTEMPTS": "1",
}
_TITAN_DIMENSIONS = 1024  # amazon.titan-embed-text-v2's default

_ERROR_CODES: dict[int, tuple[str, str]] = {
    400: (
        "ValidationException",
        "Malformed input request, please reformat your input and try again.",
    ),
    403: (
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ),
    404: ("ResourceNotFoundException", "The requested resource could not be found."),
    408: ("ModelTimeoutException", "Model has timed out in processing the request."),
    424: ("ModelErrorException", "The model returned an error."),
    429: ("ThrottlingException", "Too many requests, please wait before trying again."),
    500: ("InternalServerException", "The server encountered an internal error."),
    503: ("ServiceUnavailableException", "The service is unavailable. Try again later."),
}


def owns(path: str) -> bool:
    """Whether the request path (as received) is a Bedrock endpoint."""
    return under(path, PREFIX)


def _code(status: int, code: str | None) -> tuple[str, str]:
    default = _ERROR_CODES.get(
        status,
        ("InternalServerException" if status >= 500 else "ValidationException", f"Error {status}."),
    )
    return (code or default[0]), default[1]


def error_response(status: int, reply: Reply, seq: int) -> JsonResponse:
    code, message = _code(status, reply.error_type or reply.code)
    return JsonResponse(
        status,
        {"message": reply.message or message},
        {"x-amzn-errortype": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


# --- event-stream framing -------------------------------------------------------------------------
def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    # name length, name, value type 7 (string), value length, value
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + struct.pack("!BH", 7, len(raw_value))
        + raw_value
    )


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (total length, headers length, prelude CRC32), headers,
    payload, message CRC32."""
    raw_headers = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", binascii.crc32(message) & 0xFFFFFFFF)


def encode_event(event: SseEvent) -> bytes:
    """An ``(event type, payload)`` pair as an event-stream message; a type ending in
    ``Exception`` is an exception message."""
    name, data = event
    name = name or "chunk"
    payload = json.dumps(data, separators=(",", ":")).encode()
    if name.endswith("Exception"):
        headers = {
            ":exception-type": name,
            ":content-type": "application/json",
            ":message-type": "exception",
        }
    else:
        headers = {
            ":event-type": name,
            ":content-type": "application/json",
            ":message-type": "event",
        }
    return encode_message(headers, payload)


def event_stream(events: list[tuple[str, Any]]) -> bytes:
    """``(event type, JSON payload)`` pairs framed as an ``application/vnd.amazon.eventstream``
    body, for a :func:`~llmotel.testing.raw_reply` (a type ending in ``Exception`` is an exception
    message)."""
    return b"".join(encode_event(event) for event in events)


def _error_event(error: StreamError) -> SseEvent:
    code, message = _code(error.status, error.type or error.code)
    # The stream's exception members are the error names in lower camel case; a model's failure
    # mid-stream is modelStreamErrorException.
    code = "ModelStreamErrorException" if code == "ModelErrorException" else code
    return (code[0].lower() + code[1:], {"message": error.message or message})


# --- routing --------------------------------------------------------------------------------------
def _route(path: str) -> tuple[str, str] | None:
    rest = path.removeprefix(PREFIX)
    if not rest.startswith("/model/"):
        return None
    model, _, operation = rest.removeprefix("/model/").rpartition("/")
    if not model or operation not in _OPERATIONS:
        return None
    return unquote(model), operation


def render(call: Call) -> Rendered:
    route = _route(call.path) if call.method == "POST" else None
    if route is None:
        return error_response(
            404, Reply(kind="error", message=f"Not found: {call.method} {call.path}"), call.seq
        )
    model, operation = route
    if operation.startswith("converse"):
        return _converse(call, model, operation == "converse-stream")
    return _invoke(call, model, operation == "invoke-with-response-stream")


def _vendor(model_id: str) -> str:
    """``anthropic`` for ``anthropic.claude-…``, ``us.anthropic.claude-…`` or an ARN ending in one."""
    name = model_id.rsplit("/", 1)[-1]
    for vendor in ("anthropic", "meta", "amazon", "mistral"):
        if name.startswith(vendor + ".") or f".{vendor}." in name:
            return vendor
    return ""


def _claude_name(model_id: str) -> str:
    """The ``model`` of an Anthropic reply on Bedrock: the model id after ``anthropic.``."""
    return model_id.rsplit("anthropic.", 1)[-1]


# --- shared ---------------------------------------------------------------------------------------
def _over(call: Call) -> Usage:
    return call.reply.usage if call.reply is not None and call.reply.usage is not None else Usage()


def _answer(call: Call, model: str, last_user: str | None, limit: Any) -> tuple[str, bool]:
    text = call.scripted_text()
    if text is None:
        text = default_text(model, last_user)
    if isinstance(limit, int) and not call.tool_calls() and count_tokens(text) > limit:
        return truncate_tokens(text, limit), True
    return text, False


def _completion_tokens(call: Call, text: str) -> int:
    return count_tokens(text) + count_all(
        t for tc in call.tool_calls() for t in (tc.name, tc.arguments_json)
    )


def _tool_id(call: Call, index: int, given: str | None) -> str:
    return given or f"tooluse_stub{call.seq:06d}_{index}"


def _token_headers(prompt: int, completion: int) -> dict[str, str]:
    return {
        "x-amzn-bedrock-input-token-count": str(prompt),
        "x-amzn-bedrock-output-token-count": str(completion),
        "x-amzn-bedrock-invocation-latency": "1",
    }


def _metrics(prompt: int, completion: int) -> dict[str, int]:
    return {
        "inputTokenCount": prompt,
        "outputTokenCount": completion,
        "invocationLatency": 1,
        "firstByteLatency": 1,
    }


# --- Converse -------------------------------------------------------------------------------------
def _block_texts(blocks: Any) -> list[str]:
    out: list[str] = []
    for block in blocks if isinstance(blocks, list) else ():
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            out.append(block["text"])
        use = block.get("toolUse")
        if isinstance(use, dict):
            out += [str(use.get("name", "")), json.dumps(use.get("input"))]
        result = block.get("toolResult")
        if isinstance(result, dict):
            out += _block_texts(result.get("content"))
    return out


def _last_user_blocks(messages: Any) -> str | None:
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            texts = [
                b["text"]
                for b in message.get("content") or ()
                if isinstance(b, dict) and isinstance(b.get("text"), str)
            ]
            if texts:
                return " ".join(texts)
    return None


def _converse(call: Call, model: str, stream: bool) -> Rendered:
    request = call.json
    messages = request.get("messages")
    config = request.get("inferenceConfig") or {}
    text, truncated = _answer(call, model, _last_user_blocks(messages), config.get("maxTokens"))
    tools = call.tool_calls()
    if call.reply is not None and call.reply.finish_reason is not None:
        reason = call.reply.finish_reason
    else:
        reason = "tool_use" if tools else "max_tokens" if truncated else "end_turn"
    over = _over(call)
    texts = _block_texts(request.get("system"))
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict):
            texts += _block_texts(message.get("content"))
    prompt = count_all(texts)
    prompt = over.input_tokens if over.input_tokens is not None else prompt
    completion = _completion_tokens(call, text)
    completion = over.output_tokens if over.output_tokens is not None else completion
    usage: dict[str, Any] = {"inputTokens": prompt, "outputTokens": completion}
    total = prompt + completion
    if over.cache_read_input_tokens is not None:
        usage["cacheReadInputTokens"] = over.cache_read_input_tokens
        total += over.cache_read_input_tokens
    if over.cache_creation_input_tokens is not None:
        usage["cacheWriteInputTokens"] = over.cache_creation_input_tokens
        total += over.cache_creation_input_tokens
    usage["totalTokens"] = total
    content: list[dict[str, Any]] = [{"text": text}] if text or not tools else []
    for i, tc in enumerate(tools):
        content.append(
            {
                "toolUse": {
                    "toolUseId": _tool_id(call, i, tc.id),
                    "name": tc.name,
                    "input": json.loads(tc.arguments_json),
                }
            }
        )
    if not stream:
        return JsonResponse(
            200,
            {
                "output": {"message": {"role": "assistant", "content": content}},
                "stopReason": reason,
                "usage": usage,
                "metrics": {"latencyMs": 1},
            },
        )
    events: list[SseEvent] = [("messageStart", {"role": "assistant"})]
    for index, block in enumerate(content):
        if "text" in block:
            events += [
                ("contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": index})
                for piece in split_for_stream(block["text"])
            ]
        else:
            use = block["toolUse"]
            start = {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}
            events.append(("contentBlockStart", {"start": start, "contentBlockIndex": index}))
            arguments = json.dumps(use["input"], separators=(",", ":"))
            events.append(
                (
                    "contentBlockDelta",
                    {"delta": {"toolUse": {"input": arguments}}, "contentBlockIndex": index},
                )
            )
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
    events.append(("messageStop", {"stopReason": reason}))
    events.append(("metadata", {"usage": usage, "metrics": {"latencyMs": 1}}))
    return StreamResponse(events, _error_event, CONTENT_TYPE, encode_event)


# --- InvokeModel ----------------------------------------------------------------------------------
def _family(model: str, body: dict[str, Any]) -> str:
    vendor = _vendor(model)
    if vendor == "anthropic":
        return "anthropic"
    if vendor == "meta":
        return "llama"
    if vendor == "amazon":
        return "titan-embed" if "titan-embed" in model else "titan" if "titan" in model else "nova"
    if vendor == "mistral":
        return "mistral-chat" if "messages" in body else "mistral"
    if "anthropic_version" in body:
        return "anthropic"
    if "inputText" in body:
        return "titan"
    if "messages" in body:
        return "nova"
    return "llama"


def _user_text(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [
        b["text"]
        for b in (content if isinstance(content, list) else ())
        if isinstance(b, dict) and isinstance(b.get("text"), str)
    ]


def _last_user(messages: Any) -> str | None:
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            texts = _user_text(message.get("content"))
            if texts:
                return " ".join(texts)
    return None


def _message_texts(messages: Any, system: Any) -> list[str]:
    out = _user_text(system)
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict):
            out += _user_text(message.get("content"))
    return out


class _Invoke:
    """One InvokeModel answer: the text, stop reason and token counts, in a family's shapes."""

    def __init__(self, call: Call, model: str, family: str) -> None:
        body = call.json
        self.call, self.model, self.family = call, model, family
        if family in ("anthropic", "nova", "mistral-chat"):
            messages = body.get("messages")
            last, prompt_texts = _last_user(messages), _message_texts(messages, body.get("system"))
        elif family in ("titan", "titan-embed"):
            last = body.get("inputText") if isinstance(body.get("inputText"), str) else None
            prompt_texts = [last] if last else []
        else:
            last = body.get("prompt") if isinstance(body.get("prompt"), str) else None
            prompt_texts = [last] if last else []
        limit = {
            "anthropic": body.get("max_tokens"),
            "llama": body.get("max_gen_len"),
            "titan": (body.get("textGenerationConfig") or {}).get("maxTokenCount"),
            "nova": (body.get("inferenceConfig") or {}).get("maxTokens")
            or (body.get("inferenceConfig") or {}).get("max_new_tokens"),
            "mistral": body.get("max_tokens"),
            "mistral-chat": body.get("max_tokens"),
        }.get(family)
        self.text, self.truncated = _answer(call, model, last, limit)
        over = _over(call)
        prompt = count_all(prompt_texts)
        self.prompt = over.input_tokens if over.input_tokens is not None else prompt
        completion = 0 if family == "titan-embed" else _completion_tokens(call, self.text)
        self.completion = over.output_tokens if over.output_tokens is not None else completion
        self.cache_read = over.cache_read_input_tokens
        self.cache_write = over.cache_creation_input_tokens
        tools = call.tool_calls()
        if call.reply is not None and call.reply.finish_reason is not None:
            self.reason = call.reply.finish_reason
        elif family in ("anthropic", "nova"):
            self.reason = "tool_use" if tools else "max_tokens" if self.truncated else "end_turn"
        elif family == "titan":
            self.reason = "LENGTH" if self.truncated else "FINISH"
        elif family == "mistral-chat":
            self.reason = "tool_calls" if tools else "length" if self.truncated else "stop"
        else:
            self.reason = "length" if self.truncated else "stop"

    def headers(self) -> dict[str, str]:
        return _token_headers(self.prompt, self.completion)

    def anthropic_usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = {"input_tokens": self.prompt, "output_tokens": self.completion}
        if self.cache_read is not None:
            usage["cache_read_input_tokens"] = self.cache_read
        if self.cache_write is not None:
            usage["cache_creation_input_tokens"] = self.cache_write
        return usage

    def nova_usage(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "inputTokens": self.prompt,
            "outputTokens": self.completion,
            "totalTokens": self.prompt + self.completion,
        }
        if self.cache_read is not None:
            usage["cacheReadInputTokenCount"] = self.cache_read
        if self.cache_write is not None:
            usage["cacheWriteInputTokenCount"] = self.cache_write
        return usage

    def anthropic_content(self) -> list[dict[str, Any]]:
        tools = self.call.tool_calls()
        content: list[dict[str, Any]] = (
            [{"type": "text", "text": self.text}] if self.text or not tools else []
        )
        for i, tc in enumerate(tools):
            content.append(
                {
                    "type": "tool_use",
                    "id": _tool_id(self.call, i, tc.id),
                    "name": tc.name,
                    "input": json.loads(tc.arguments_json),
                }
            )
        return content

    def body(self) -> dict[str, Any]:
        seq = self.call.seq
        if self.family == "anthropic":
            return {
                "id": f"msg_bdrk_stub{seq:06d}",
                "type": "message",
                "role": "assistant",
                "model": _claude_name(self.model),
                "content": self.anthropic_content(),
                "stop_reason": self.reason,
                "stop_sequence": None,
                "usage": self.anthropic_usage(),
            }
        if self.family == "llama":
            return {
                "generation": self.text,
                "prompt_token_count": self.prompt,
                "generation_token_count": self.completion,
                "stop_reason": self.reason,
            }
        if self.family == "titan":
            return {
                "inputTextTokenCount": self.prompt,
                "results": [
                    {
                        "tokenCount": self.completion,
                        "outputText": self.text,
                        "completionReason": self.reason,
                    }
                ],
            }
        if self.family == "titan-embed":
            body = self.call.json
            size = body.get("dimensions")
            size = size if isinstance(size, int) and size > 0 else _TITAN_DIMENSIONS
            return {
                "embedding": embedding_vector(str(body.get("inputText", "")), size),
                "inputTextTokenCount": self.prompt,
            }
        if self.family == "nova":
            return {
                "output": {"message": {"role": "assistant", "content": [{"text": self.text}]}},
                "stopReason": self.reason,
                "usage": self.nova_usage(),
            }
        if self.family == "mistral-chat":
            message: dict[str, Any] = {"role": "assistant", "content": self.text}
            tools = self.call.tool_calls()
            if tools:
                message["tool_calls"] = [
                    {
                        "id": _tool_id(self.call, i, tc.id),
                        "function": {"name": tc.name, "arguments": tc.arguments_json},
                    }
                    for i, tc in enumerate(tools)
                ]
            return {"choices": [{"index": 0, "message": message, "stop_reason": self.reason}]}
        return {"outputs": [{"text": self.text, "stop_reason": self.reason}]}

    def chunks(self) -> list[dict[str, Any]]:
        """The model's own stream chunks; the caller adds the invocation metrics to the last."""
        pieces = split_for_stream(self.text) if self.text else []
        seq = self.call.seq
        if self.family == "anthropic":
            start_usage = {k: v for k, v in self.anthropic_usage().items() if k != "output_tokens"}
            out: list[dict[str, Any]] = [
                {
                    "type": "message_start",
                    "message": {
                        "id": f"msg_bdrk_stub{seq:06d}",
                        "type": "message",
                        "role": "assistant",
                        "model": _claude_name(self.model),
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {**start_usage, "output_tokens": 1},
                    },
                }
            ]
            for index, block in enumerate(self.anthropic_content()):
                if block["type"] == "text":
                    out.append(
                        {
                            "type": "content_block_start",
                            "index": index,
                            "content_block": {"type": "text", "text": ""},
                        }
                    )
                    out += [
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": p},
                        }
                        for p in split_for_stream(block["text"])
                    ]
                else:
                    out.append(
                        {
                            "type": "content_block_start",
                            "index": index,
                            "content_block": {**block, "input": {}},
                        }
                    )
                    out.append(
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {
                                "type": "input_json_delta",
                                "partial_json": json.dumps(block["input"]),
                            },
                        }
                    )
                out.append({"type": "content_block_stop", "index": index})
            out.append(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self.reason, "stop_sequence": None},
                    "usage": {"output_tokens": self.completion},
                }
            )
            out.append({"type": "message_stop"})
            return out
        if self.family == "nova":
            out = [{"messageStart": {"role": "assistant"}}]
            out += [
                {"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": 0}}
                for p in pieces
            ]
            out.append({"contentBlockStop": {"contentBlockIndex": 0}})
            out.append({"messageStop": {"stopReason": self.reason}})
            out.append({"metadata": {"usage": self.nova_usage()}})
            return out
        pieces = pieces or [""]
        last = len(pieces) - 1
        if self.family == "llama":
            return [
                {
                    "generation": p,
                    "prompt_token_count": self.prompt if i == 0 else None,
                    "generation_token_count": count_all(pieces[: i + 1]),
                    "stop_reason": self.reason if i == last else None,
                }
                for i, p in enumerate(pieces)
            ]
        if self.family == "titan":
            return [
                {
                    "outputText": p,
                    "index": 0,
                    "totalOutputTextTokenCount": count_all(pieces[: i + 1]),
                    "completionReason": self.reason if i == last else None,
                    "inputTextTokenCount": self.prompt if i == 0 else None,
                }
                for i, p in enumerate(pieces)
            ]
        if self.family == "mistral-chat":
            return [
                {
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": p},
                            "stop_reason": self.reason if i == last else None,
                        }
                    ]
                }
                for i, p in enumerate(pieces)
            ]
        return [
            {"outputs": [{"text": p, "stop_reason": self.reason if i == last else None}]}
            for i, p in enumerate(pieces)
        ]


def _invoke(call: Call, model: str, stream: bool) -> Rendered:
    family = _family(model, call.json)
    answer = _Invoke(call, model, family)
    if not stream:
        return JsonResponse(200, answer.body(), answer.headers())
    if family == "titan-embed":
        return error_response(
            400, Reply(kind="error", message="The model does not support streaming."), call.seq
        )
    chunks = answer.chunks()
    chunks[-1] = {
        **chunks[-1],
        "amazon-bedrock-invocationMetrics": _metrics(answer.prompt, answer.completion),
    }
    events: list[SseEvent] = [
        ("chunk", {"bytes": base64.b64encode(json.dumps(c).encode()).decode()}) for c in chunks
    ]
    return StreamResponse(events, _error_event, CONTENT_TYPE, encode_event)
