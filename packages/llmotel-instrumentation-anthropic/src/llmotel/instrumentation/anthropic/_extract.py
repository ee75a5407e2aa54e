"""From the anthropic SDK's arguments and replies to an :class:`Invocation`.

Reads defensively: the SDK builds its models without validation, so any field may be missing,
``None`` or of another type; a value of an unexpected type is left out.

Anthropic reports ``usage.input_tokens`` *without* the cached tokens; semconv's
``gen_ai.usage.input_tokens`` includes them, so the three counts are added up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmotel.semconv.calls import read_float as _num
from llmotel.semconv.calls import read_int as _int
from llmotel.semconv.calls import read_str as _str
from llmotel.semconv.inference import Invocation

PROVIDER = "anthropic"

# No semantic convention covers these yet: the names are those of the anthropic SDK's own call span
# (anthropic/_tracing.py), so that both describe a call alike.
ANTHROPIC_REQUEST_ID = "anthropic.request.id"
ANTHROPIC_REQUEST_SERVICE_TIER = "anthropic.request.service_tier"
ANTHROPIC_RESPONSE_SERVICE_TIER = "anthropic.response.service_tier"
ANTHROPIC_THINKING_TYPE = "anthropic.thinking.type"
ANTHROPIC_THINKING_BUDGET_TOKENS = "anthropic.thinking.budget_tokens"
ANTHROPIC_CACHE_CREATION_5M = "anthropic.usage.cache_creation.ephemeral_5m_input_tokens"
ANTHROPIC_CACHE_CREATION_1H = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"
_REQUEST_ID_HEADER = "request-id"
_DEFAULT_PORTS = {"https": 443, "http": 80}
_servers: dict[int, tuple[Any, str, int | None]] = {}
# Anthropic stop reasons → the finish reasons of the semconv output-message schema.
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def server_of(client: Any) -> tuple[str | None, int | None]:
    """``(server.address, server.port)`` of an SDK client, from its base URL (cached per URL
    object: a client keeps one until its base URL is set anew)."""
    url = getattr(client, "base_url", None)
    found = _servers.get(id(url))
    if found is not None and found[0] is url:
        return found[1], found[2]
    host = getattr(url, "host", None)
    if not isinstance(host, str) or not host:
        return None, None
    port = getattr(url, "port", None)
    port = port if port is not None else _DEFAULT_PORTS.get(getattr(url, "scheme", ""))
    if len(_servers) > 256:
        _servers.clear()
    _servers[id(url)] = (url, host, port)  # holding the URL keeps its id from being reused
    return host, port


def request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``messages.create`` / ``messages.stream``."""
    inv.max_tokens = _int(kw.get("max_tokens"))
    inv.temperature = _num(kw.get("temperature"))
    inv.top_p = _num(kw.get("top_p"))
    inv.top_k = _num(kw.get("top_k"))
    stop = kw.get("stop_sequences")
    if isinstance(stop, list) and all(type(s) is str for s in stop):
        inv.stop_sequences = stop
    tier = kw.get("service_tier")
    thinking = kw.get("thinking")
    if tier is None and thinking is None:
        return
    attrs: dict[str, Any] = {}
    if type(tier) is str:
        attrs[ANTHROPIC_REQUEST_SERVICE_TIER] = tier
    if isinstance(thinking, Mapping):
        kind = _str(thinking.get("type"))
        if kind is not None:
            attrs[ANTHROPIC_THINKING_TYPE] = kind
        budget = _int(thinking.get("budget_tokens"))
        if budget is not None:
            attrs[ANTHROPIC_THINKING_BUDGET_TOKENS] = budget
    if attrs:
        inv.attributes = attrs


def _attributes(inv: Invocation) -> dict[str, Any]:
    attrs = inv.attributes
    if attrs is None:
        attrs = inv.attributes = {}
    return attrs


def request_id(inv: Invocation, result: Any) -> None:
    """``anthropic.request.id`` from what the SDK returned: a ``Message`` (its ``_request_id``), a
    raw response or a stream (the ``request-id`` response header)."""
    rid = getattr(result, "_request_id", None)
    if rid is None:
        headers = getattr(result, "headers", None)
        if headers is None:
            headers = getattr(getattr(result, "response", None), "headers", None)
        if headers is not None and hasattr(headers, "get"):
            rid = headers.get(_REQUEST_ID_HEADER)
    if type(rid) is str:
        _attributes(inv)[ANTHROPIC_REQUEST_ID] = rid


def usage(inv: Invocation, *reports: Any) -> None:
    """Token counts from ``Usage`` reports; a later report's counts win where it has them (a
    stream's ``message_delta`` usage completes the ``message_start`` one)."""
    uncached = read = created = output = None
    extra: dict[str, Any] = {}
    for report in reports:
        if report is None:
            continue
        value = _int(getattr(report, "input_tokens", None))
        if value is not None:
            uncached = value
        value = _int(getattr(report, "cache_read_input_tokens", None))
        if value is not None:
            read = value
        value = _int(getattr(report, "cache_creation_input_tokens", None))
        if value is not None:
            created = value
        value = _int(getattr(report, "output_tokens", None))
        if value is not None:
            output = value
        _usage_extra(report, extra)
        details = getattr(report, "output_tokens_details", None)
        if details is not None:
            thinking = _int(getattr(details, "thinking_tokens", None))
            if thinking is not None:
                inv.reasoning_output_tokens = thinking
    if uncached is not None:
        inv.input_tokens = uncached + (read or 0) + (created or 0)
    inv.cache_read_input_tokens = read
    inv.cache_creation_input_tokens = created
    inv.output_tokens = output
    if extra:
        _attributes(inv).update(extra)


def _usage_extra(report: Any, extra: dict[str, Any]) -> None:
    # The 5-minute / 1-hour split of the cache writes, and the tier that served the call.
    tier = _str(getattr(report, "service_tier", None))
    if tier is not None:
        extra[ANTHROPIC_RESPONSE_SERVICE_TIER] = tier
    creation = getattr(report, "cache_creation", None)
    if creation is not None:
        # a model on SDKs that know the field, the plain dict of an extra field on older ones
        get = creation.get if isinstance(creation, Mapping) else creation.__getattribute__
        for name, key in (
            ("ephemeral_5m_input_tokens", ANTHROPIC_CACHE_CREATION_5M),
            ("ephemeral_1h_input_tokens", ANTHROPIC_CACHE_CREATION_1H),
        ):
            try:
                value = _int(get(name))
            except AttributeError:
                continue
            if value is not None:
                extra[key] = value


def response(inv: Invocation, message: Any, content: bool) -> None:
    """A ``Message`` returned by ``messages.create``."""
    inv.response_id = _str(getattr(message, "id", None))
    inv.response_model = _str(getattr(message, "model", None))
    reason = _str(getattr(message, "stop_reason", None))
    if reason is not None:
        inv.finish_reasons = [reason]
    usage(inv, getattr(message, "usage", None))
    if content:
        blocks = getattr(message, "content", None)
        parts = [_block(b) for b in blocks] if isinstance(blocks, list) else []
        inv.output_messages = [_message(parts, reason)]


def _message(parts: list[dict[str, Any]], reason: str | None) -> dict[str, Any]:
    finish = _FINISH.get(reason, reason) if reason else "error"
    return {"role": "assistant", "parts": parts, "finish_reason": finish}


def _block(block: Any) -> dict[str, Any]:
    kind = getattr(block, "type", None)
    if kind == "text":
        return {"type": "text", "content": getattr(block, "text", None)}
    if kind == "tool_use":
        return {
            "type": "tool_call",
            "id": getattr(block, "id", None),
            "name": getattr(block, "name", None),
            "arguments": getattr(block, "input", None),
        }
    if kind == "thinking":
        return {"type": "reasoning", "content": getattr(block, "thinking", None)}
    return {"type": str(kind)}


class Events:
    """Accumulates ``RawMessageStreamEvent``s into the final message."""

    __slots__ = ("blocks", "content", "id", "model", "reason", "usage_end", "usage_start")

    def __init__(self, content: bool, _hide: bool = False) -> None:
        self.content = content
        self.id: str | None = None
        self.model: str | None = None
        self.reason: str | None = None
        self.usage_start: Any = None
        self.usage_end: Any = None
        self.blocks: dict[int, dict[str, Any]] = {}

    def process(self, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            message = getattr(event, "message", None)
            self.id = _str(getattr(message, "id", None))
            self.model = _str(getattr(message, "model", None))
            self.usage_start = getattr(message, "usage", None)
        elif kind == "message_delta":
            delta = getattr(event, "delta", None)
            self.reason = _str(getattr(delta, "stop_reason", None)) or self.reason
            self.usage_end = getattr(event, "usage", None)
        elif self.content:
            self._content(kind, event)
        return False

    def _content(self, kind: object, event: Any) -> None:
        index = getattr(event, "index", 0)
        if kind == "content_block_start":
            block = getattr(event, "content_block", None)
            part = _block(block)
            if part["type"] == "tool_call":
                part["arguments"] = []
            elif part["type"] in ("text", "reasoning"):
                part["content"] = [part.get("content") or ""]
            self.blocks[index] = part
        elif kind == "content_block_delta":
            open_part = self.blocks.get(index)
            delta = getattr(event, "delta", None)
            if open_part is None or delta is None:
                return
            piece = (
                getattr(delta, "text", None)
                or getattr(delta, "partial_json", None)
                or getattr(delta, "thinking", None)
            )
            if type(piece) is str:
                key = "arguments" if open_part["type"] == "tool_call" else "content"
                open_part.get(key, []).append(piece)

    def apply(self, inv: Invocation) -> None:
        inv.response_id = self.id
        inv.response_model = self.model
        if self.reason is not None:
            inv.finish_reasons = [self.reason]
        usage(inv, self.usage_start, self.usage_end)
        if self.content:
            parts = []
            for _, part in sorted(self.blocks.items()):
                if part["type"] == "tool_call":
                    text = "".join(part["arguments"])
                    part["arguments"] = _json_or_text(text) if text else {}
                elif isinstance(part.get("content"), list):
                    part["content"] = "".join(part["content"])
                parts.append(part)
            if len(parts) > 1:  # an empty text block before tool calls says nothing
                parts = [p for p in parts if p["type"] != "text" or p.get("content")]
            inv.output_messages = [_message(parts, self.reason)]


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parts(content: object) -> list[dict[str, Any]]:
    if type(content) is str:
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    if not isinstance(content, list):
        return parts
    for block in content:
        if not isinstance(block, Mapping):
            parts.append(_block(block))  # SDK model objects passed back in
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": block.get("text")})
        elif kind == "tool_use":
            parts.append(
                {
                    "type": "tool_call",
                    "id": block.get("id"),
                    "name": block.get("name"),
                    "arguments": block.get("input"),
                }
            )
        elif kind == "tool_result":
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": block.get("tool_use_id"),
                    "response": block.get("content"),
                }
            )
        elif kind in ("image", "document"):
            parts.append(_media(block))
        else:
            parts.append({"type": str(kind)})
    return parts


def _media(block: Mapping[str, Any]) -> dict[str, Any]:
    """An image/document block by its source: inline data → ``blob``, a URL → ``uri``, a Files API
    id → ``file``."""
    modality = "image" if block.get("type") == "image" else "document"
    source = block.get("source")
    source = source if isinstance(source, Mapping) else {}
    kind = source.get("type")
    if kind == "base64":
        part = {"type": "blob", "modality": modality, "content": source.get("data")}
    elif kind == "url":
        part = {"type": "uri", "modality": modality, "uri": source.get("url")}
    elif kind == "file":
        part = {"type": "file", "modality": modality, "file_id": source.get("file_id")}
    else:
        return {"type": str(block.get("type"))}
    if _str(source.get("media_type")) is not None:
        part["mime_type"] = source["media_type"]
    return part


def content(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """``gen_ai.input.messages``, ``system_instructions`` and ``tool.definitions`` of a request."""
    system = kw.get("system")
    if system is not None and (type(system) is str or isinstance(system, list)):
        inv.system_instructions = _parts(system)
    messages = kw.get("messages")
    if isinstance(messages, list):
        inv.input_messages = [
            {"role": str(m.get("role")), "parts": _parts(m.get("content"))}
            for m in messages
            if isinstance(m, Mapping)
        ]
    tools = kw.get("tools")
    if isinstance(tools, list) and tools:
        defs = []
        for tool in tools:
            if isinstance(tool, Mapping):
                entry: dict[str, Any] = {"type": "function", "name": tool.get("name")}
                if tool.get("description") is not None:
                    entry["description"] = tool.get("description")
                if tool.get("input_schema") is not None:
                    entry["parameters"] = tool.get("input_schema")
                defs.append(entry)
        inv.tool_definitions = defs
