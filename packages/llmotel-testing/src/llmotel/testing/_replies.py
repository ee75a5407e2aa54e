"""Scripted replies: what the stub answers to the next request(s), queued with
``StubServer.enqueue``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Usage:
    """Token counts that override the computed ones; a field left ``None`` keeps the tokenizer's
    count.

    ``input_tokens`` is the provider's own field: for OpenAI it is ``prompt_tokens`` (cached tokens
    included), for Anthropic ``input_tokens`` (cached tokens excluded, as the real API reports
    them).
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model "makes": rendered as OpenAI ``tool_calls`` / ``function_call`` items or
    an Anthropic ``tool_use`` block. ``arguments`` may be a mapping (JSON-encoded on the wire) or a
    raw string (sent as is, so it can be invalid JSON). ``id`` defaults to a stable id derived from
    the request number.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(",", ":"))


@dataclass(frozen=True)
class StreamError:
    """An error event sent in a stream after ``after_events`` events (the stream then ends)."""

    after_events: int
    status: int = 500
    message: str | None = None
    type: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted reply. Build it with :func:`text_reply`, :func:`tool_call_reply`,
    :func:`error_reply`, :func:`raw_reply`, :func:`cut_stream_reply` or :func:`stream_error_reply`
    rather than by hand.

    ``kind`` is ``"content"`` (a normal answer in the called endpoint's format), ``"error"`` (an
    HTTP error in the endpoint's provider format) or ``"raw"`` (exactly the given status, headers
    and bytes).
    """

    kind: Literal["content", "error", "raw"] = "content"
    # content
    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    cut_after: int | None = None
    stream_error: StreamError | None = None
    # error and raw
    status: int = 200
    message: str | None = None
    error_type: str | None = None
    code: str | None = None
    param: str | None = None
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    truncate_at: int | None = None
    # timing
    latency: float | None = None
    chunk_delay: float | None = None


def _text(value: str | Mapping[str, Any] | list[Any]) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def text_reply(
    text: str | Mapping[str, Any] | list[Any],
    *,
    usage: Usage | None = None,
    finish_reason: str | None = None,
    latency: float | None = None,
    chunk_delay: float | None = None,
) -> Reply:
    """Answer with ``text`` (a mapping or list is JSON-encoded, handy for structured outputs).

    ``finish_reason`` overrides the provider's stop reason (OpenAI ``finish_reason``/Anthropic
    ``stop_reason``); ``latency`` delays the response, ``chunk_delay`` every stream event.
    """
    return Reply(
        text=_text(text),
        usage=usage,
        finish_reason=finish_reason,
        latency=latency,
        chunk_delay=chunk_delay,
    )


def tool_call_reply(
    name: str | None = None,
    arguments: Mapping[str, Any] | str | None = None,
    *,
    calls: list[ToolCall] | tuple[ToolCall, ...] = (),
    id: str | None = None,
    text: str | None = None,
    usage: Usage | None = None,
    latency: float | None = None,
    chunk_delay: float | None = None,
) -> Reply:
    """Answer with one tool call (``name``, ``arguments``) or several (``calls``), optionally
    preceded by ``text``.

    The stop reason is ``tool_calls`` (OpenAI chat), ``tool_use`` (Anthropic). Streams send the
    arguments as deltas (``tool_calls[].function.arguments`` / ``input_json_delta`` /
    ``function_call_arguments.delta``).
    """
    all_calls = list(calls)
    if name is not None:
        all_calls.insert(0, ToolCall(name, {} if arguments is None else arguments, id))
    if not all_calls:
        raise ValueError("tool_call_reply needs a name or calls")
    return Reply(
        text=text if text is not None else "",
        tool_calls=tuple(all_calls),
        usage=usage,
        latency=latency,
        chunk_delay=chunk_delay,
    )


def error_reply(
    status: int,
    message: str | None = None,
    *,
    type: str | None = None,
    code: str | None = None,
    param: str | None = None,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
    latency: float | None = None,
) -> Reply:
    """Answer with an HTTP error in the provider's error format.

    OpenAI endpoints get ``{"error": {"message", "type", "param", "code"}}``, Anthropic ones
    ``{"type": "error", "error": {"type", "message"}, "request_id"}``. ``type``/``code``/``message``
    default to what the real API sends for ``status`` (e.g. 429 →
    ``rate_limit_exceeded``/``rate_limit_error``, 529 → ``overloaded_error``). 429 responses carry
    ``retry-after`` (``retry_after``, default 1 second).
    """
    extra = dict(headers or {})
    if retry_after is not None or status == 429:
        extra.setdefault("retry-after", _num(1 if retry_after is None else retry_after))
    return Reply(
        kind="error",
        status=status,
        message=message,
        error_type=type,
        code=code,
        param=param,
        headers=tuple(extra.items()),
        latency=latency,
    )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def raw_reply(
    body: bytes | str | Mapping[str, Any] | list[Any] = b"",
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
    truncate_at: int | None = None,
    latency: float | None = None,
) -> Reply:
    """Answer with exactly these bytes (a mapping/list is JSON-encoded as is, ``None`` values
    included).

    For malformed JSON, unknown fields, ``None`` where a field is expected, odd statuses or headers.
    ``truncate_at`` announces the full ``Content-Length`` but sends only that many bytes, then
    closes the connection (a truncated body).
    """
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()
    all_headers = {"content-type": content_type, **(headers or {})}
    return Reply(
        kind="raw",
        status=status,
        body=data,
        headers=tuple(all_headers.items()),
        truncate_at=truncate_at,
        latency=latency,
    )


def cut_stream_reply(after_events: int, text: str | None = None, **kwargs: Any) -> Reply:
    """A streamed answer whose connection is closed after ``after_events`` SSE events (no
    terminating chunk, so the SDK sees an incomplete body). Non-streaming requests get the normal
    answer. ``text`` defaults to the stub's default text; other keyword arguments as in
    :func:`text_reply`.
    """
    base = text_reply(text, **kwargs) if text is not None else Reply(**kwargs)
    return _replace(base, cut_after=after_events)


def stream_error_reply(
    after_events: int,
    message: str | None = None,
    *,
    status: int = 500,
    type: str | None = None,
    code: str | None = None,
    text: str | None = None,
) -> Reply:
    """A streamed answer that sends a provider error event after ``after_events`` events, then ends.

    OpenAI chat/completions: ``data: {"error": {...}}``; Responses: an ``error`` event; Anthropic:
    ``event: error`` with ``{"type": "error", "error": {"type", "message"}}`` (``status`` picks the
    default type, e.g. 529 → ``overloaded_error``). Non-streaming requests get an HTTP error of that
    ``status``.
    """
    return Reply(
        text=text,
        stream_error=StreamError(after_events, status, message, type, code),
    )


def _replace(reply: Reply, **changes: Any) -> Reply:
    from dataclasses import replace

    return replace(reply, **changes)
