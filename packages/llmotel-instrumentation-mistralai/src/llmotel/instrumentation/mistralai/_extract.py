"""From the mistralai SDK's arguments and replies to an :class:`Invocation`.

Reads defensively: a field may be missing, ``None``, the SDK's ``UNSET`` sentinel or of another
type; a value of an unexpected type is left out. Messages and tools may be plain dicts (the SDK's
TypedDicts) or its pydantic models; both are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmotel.semconv.attributes import GenAiProviderNameValues
from llmotel.semconv.calls import read_field as _get
from llmotel.semconv.calls import read_int as _int
from llmotel.semconv.calls import read_str as _str
from llmotel.semconv.calls import server_of_url
from llmotel.semconv.chat import chat_input as _chat_input
from llmotel.semconv.chat import chat_request as _chat_request
from llmotel.semconv.chat import chat_response as _chat_response
from llmotel.semconv.chat import embeddings_input as _embeddings_input
from llmotel.semconv.chat import output_message
from llmotel.semconv.inference import Invocation

PROVIDER = GenAiProviderNameValues.MISTRAL_AI.value
# Mistral finish reasons → the finish reasons of the semconv output-message schema.
_FINISH = {"tool_calls": "tool_call", "model_length": "length"}


def server_of(sdk: Any, kw: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """``(server.address, server.port)`` of a call: its ``server_url`` or the client's."""
    url = kw.get("server_url")
    if type(url) is not str:
        config = getattr(sdk, "sdk_configuration", None)
        # the client's own server_url when it has one (what get_server_details() returns, less
        # a trailing "/", which names the same host and port), else the named server's
        url = getattr(config, "server_url", None)
        if type(url) is not str or not url:
            details = config.get_server_details() if config is not None else None
            url = details[0] if isinstance(details, tuple) and details else None
    return server_of_url(url)


def chat_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``chat.complete`` / ``chat.stream`` (the seed is ``random_seed``)."""
    _chat_request(inv, kw, seed="random_seed")


def embeddings_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``embeddings.create``."""
    fmt = kw.get("encoding_format")
    fmt = getattr(fmt, "value", fmt)  # an SDK enum member or its string
    if type(fmt) is str:
        inv.encoding_formats = [fmt]


def _usage(inv: Invocation, usage: Any) -> None:
    if usage is None:
        return
    inv.input_tokens = _int(getattr(usage, "prompt_tokens", None))
    inv.output_tokens = _int(getattr(usage, "completion_tokens", None))
    details = getattr(usage, "prompt_tokens_details", None)  # an extra field: a plain dict
    if details is not None:
        inv.cache_read_input_tokens = _int(_get(details, "cached_tokens"))


def _reason(choice: Any) -> str | None:
    reason = getattr(choice, "finish_reason", None)
    reason = getattr(reason, "value", reason)
    return reason if type(reason) is str else None


def chat_response(inv: Invocation, result: Any, content: bool) -> None:
    """A ``ChatCompletionResponse`` of ``chat.complete``."""
    _chat_response(inv, result, content, reason=_reason, usage=_usage, output=_output)


def embeddings_response(inv: Invocation, result: Any, content: bool) -> None:
    """An ``EmbeddingResponse`` of ``embeddings.create``."""
    inv.response_id = _str(getattr(result, "id", None))
    inv.response_model = _str(getattr(result, "model", None))
    usage = getattr(result, "usage", None)
    if usage is not None:
        inv.input_tokens = _int(getattr(usage, "prompt_tokens", None))
    data = getattr(result, "data", None)
    if isinstance(data, list) and data:
        vector = getattr(data[0], "embedding", None)
        if isinstance(vector, list):
            inv.dimension_count = len(vector)


# -- streams --------------------------------------------------------------------------------------


class ChatEvents:
    """Accumulates the ``CompletionEvent``s of ``chat.stream`` (each ``.data`` a chunk; the last
    one carries the usage)."""

    __slots__ = ("calls", "content", "id", "model", "reasons", "texts", "usage")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.texts: dict[int, list[str]] = {}
        self.calls: dict[int, list[Any]] = {}

    def process(self, event: Any) -> bool:
        chunk = getattr(event, "data", None)
        if chunk is None:
            return False
        if self.id is None:
            self.id = _str(getattr(chunk, "id", None))
            self.model = _str(getattr(chunk, "model", None))
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        choices = getattr(chunk, "choices", None)
        if not isinstance(choices, list):
            return False
        content = self.content
        for choice in choices:
            # Without content only a choice's finish reason counts, and most chunks have none.
            reason = getattr(choice, "finish_reason", None)
            if reason is None and not content:
                continue
            index = getattr(choice, "index", 0)
            index = index if type(index) is int else 0
            if reason is not None:
                reason = getattr(reason, "value", reason)
                if type(reason) is str:
                    self.reasons[index] = reason
            if content:
                delta = getattr(choice, "delta", None)
                text = getattr(delta, "content", None)
                if type(text) is str:
                    self.texts.setdefault(index, []).append(text)
                calls = getattr(delta, "tool_calls", None)
                if isinstance(calls, list):
                    self.calls.setdefault(index, []).extend(calls)
        return False

    def apply(self, inv: Invocation) -> None:
        inv.response_id = self.id
        inv.response_model = self.model
        if self.reasons:
            inv.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        _usage(inv, self.usage)
        if self.content:
            indexes = sorted(set(self.texts) | set(self.calls) | set(self.reasons))
            inv.output_messages = [
                _output(
                    {"content": "".join(self.texts.get(i, ())), "tool_calls": self.calls.get(i)},
                    self.reasons.get(i),
                )
                for i in indexes
            ]


# -- content --------------------------------------------------------------------------------------


def _output(message: Any, reason: str | None) -> dict[str, Any]:
    return output_message(message, reason, _FINISH, thinking=True)


def chat_input(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """``gen_ai.input.messages``, ``system_instructions`` and ``tool.definitions`` of a chat call
    (a tool message's chunk list recorded as its texts)."""
    _chat_input(inv, kw, tool_reply_texts=True, thinking=True)


def embeddings_input(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """The texts an embeddings call embeds (its ``inputs``), as user messages."""
    _embeddings_input(inv, kw.get("inputs"))
