"""From the openai SDK's arguments and replies to an :class:`Invocation`.

Everything here reads defensively: the SDK builds its models without validation, so any field may be
missing, ``None`` or of another type. A value of an unexpected type is left out, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmotel.semconv import attributes as semconv_attrs
from llmotel.semconv.calls import read_float as _num
from llmotel.semconv.calls import read_int as _int
from llmotel.semconv.calls import read_str as _str
from llmotel.semconv.inference import Invocation

_AZURE = "azure.ai.openai"
# Hosts that speak the OpenAI API, by semconv provider name.
_HOSTS = {
    "api.openai.com": "openai",
    "api.deepseek.com": "deepseek",
    "api.groq.com": "groq",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",
    "api.moonshot.ai": "moonshot_ai",
    "api.moonshot.cn": "moonshot_ai",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "api.cohere.ai": "cohere",
    "api.cohere.com": "cohere",
}
_SUFFIXES = (
    (".openai.azure.com", _AZURE),
    (".services.ai.azure.com", "azure.ai.inference"),
    (".cognitiveservices.azure.com", _AZURE),
)
_DEFAULT_PORTS = {"https": 443, "http": 80}
# id(base URL object) → (that object, client class, server_of): a client keeps its URL object
# until base_url is set again; the entry holds it, so the id is not reused meanwhile.
_url_cache: dict[int, tuple[Any, type, tuple[str, str | None, int | None]]] = {}


def server_of(client: Any) -> tuple[str, str | None, int | None]:
    """``(provider name, server.address, server.port)`` of an SDK client, from its base URL."""
    url = getattr(client, "base_url", None)
    cached = _url_cache.get(id(url))
    if cached is not None and cached[0] is url and cached[1] is type(client):
        return cached[2]
    found = _server_of(client, url)
    if len(_url_cache) > 256:
        _url_cache.clear()
    _url_cache[id(url)] = (url, type(client), found)
    return found


def _server_of(client: Any, url: Any) -> tuple[str, str | None, int | None]:
    host = getattr(url, "host", None)
    if not isinstance(host, str):
        return "openai", None, None
    scheme = getattr(url, "scheme", "https")
    port = getattr(url, "port", None)
    if type(client).__name__ in ("AzureOpenAI", "AsyncAzureOpenAI"):
        provider = _AZURE
    else:
        known = _HOSTS.get(host.lower())
        provider = (
            known
            if known is not None
            else next((p for s, p in _SUFFIXES if host.lower().endswith(s)), "openai")
        )
    return provider, host or None, port if port is not None else _DEFAULT_PORTS.get(scheme)


def _stop(v: object) -> list[str] | None:
    if type(v) is str:
        return [v]
    if isinstance(v, list) and all(type(s) is str for s in v):
        return v
    return None


def _output_type(response_format: object) -> str | None:
    if isinstance(response_format, Mapping):
        kind = response_format.get("type")
        if kind in ("json_object", "json_schema"):
            return "json"
        if kind == "text":
            return "text"
        return None
    if isinstance(response_format, type):  # parse(response_format=SomeModel)
        return "json"
    return None


def openai_request(inv: Invocation, kw: Mapping[str, Any], api_type: str | None) -> None:
    """The ``openai.*`` request attributes: ``openai.api.type`` and a requested service tier."""
    tier = kw.get("service_tier")
    if api_type is None and tier is None:
        return
    attrs = inv.attributes = {}
    if api_type is not None:
        attrs[semconv_attrs.OPENAI_API_TYPE] = api_type
    if type(tier) is str and tier != "auto":  # semconv: required unless absent or 'auto'
        attrs[semconv_attrs.OPENAI_REQUEST_SERVICE_TIER] = tier


def _openai_response(inv: Invocation, tier: object, fingerprint: object) -> None:
    if type(tier) is not str and type(fingerprint) is not str:
        return
    attrs = inv.attributes
    if attrs is None:
        attrs = inv.attributes = {}
    if type(tier) is str:
        attrs[semconv_attrs.OPENAI_RESPONSE_SERVICE_TIER] = tier
    if type(fingerprint) is str:
        attrs[semconv_attrs.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint


# OpenAI finish reasons → the finish reasons of the semconv output-message schema.
_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}


def chat_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``chat.completions.create/parse`` and legacy ``completions.create``."""
    # Most calls set few of these: an absent one costs a dict lookup, not a reader call.
    get = kw.get
    if (v := get("max_completion_tokens")) is not None or (v := get("max_tokens")) is not None:
        inv.max_tokens = _int(v) or _int(get("max_tokens"))
    if (v := get("n")) is not None:
        inv.choice_count = _int(v)
    if (v := get("temperature")) is not None:
        inv.temperature = _num(v)
    if (v := get("top_p")) is not None:
        inv.top_p = _num(v)
    if (v := get("frequency_penalty")) is not None:
        inv.frequency_penalty = _num(v)
    if (v := get("presence_penalty")) is not None:
        inv.presence_penalty = _num(v)
    if (v := get("seed")) is not None:
        inv.seed = _int(v)
    if "stop" in kw:
        inv.stop_sequences = _stop(kw["stop"])
    if "response_format" in kw:
        inv.output_type = _output_type(kw["response_format"])


def responses_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``responses.create/parse``."""
    inv.max_tokens = _int(kw.get("max_output_tokens"))
    inv.temperature = _num(kw.get("temperature"))
    inv.top_p = _num(kw.get("top_p"))
    conversation = kw.get("conversation")
    if type(conversation) is str:
        inv.conversation_id = conversation
    elif isinstance(conversation, Mapping):
        inv.conversation_id = _str(conversation.get("id"))
    text = kw.get("text")
    if isinstance(text, Mapping):
        inv.output_type = _output_type(text.get("format"))
    elif isinstance(kw.get("text_format"), type):
        inv.output_type = "json"


def embeddings_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``embeddings.create``."""
    fmt = _str(kw.get("encoding_format"))
    if fmt is not None:
        inv.encoding_formats = [fmt]


def _usage_chat(inv: Invocation, usage: Any) -> None:
    if usage is None:
        return
    inv.input_tokens = _int(getattr(usage, "prompt_tokens", None))
    inv.output_tokens = _int(getattr(usage, "completion_tokens", None))
    details = getattr(usage, "prompt_tokens_details", None)
    if details is not None:
        inv.cache_read_input_tokens = _int(getattr(details, "cached_tokens", None))
    details = getattr(usage, "completion_tokens_details", None)
    if details is not None:
        inv.reasoning_output_tokens = _int(getattr(details, "reasoning_tokens", None))


def _usage_responses(inv: Invocation, usage: Any) -> None:
    if usage is None:
        return
    inv.input_tokens = _int(getattr(usage, "input_tokens", None))
    inv.output_tokens = _int(getattr(usage, "output_tokens", None))
    details = getattr(usage, "input_tokens_details", None)
    if details is not None:
        inv.cache_read_input_tokens = _int(getattr(details, "cached_tokens", None))
    details = getattr(usage, "output_tokens_details", None)
    if details is not None:
        inv.reasoning_output_tokens = _int(getattr(details, "reasoning_tokens", None))


def _finish_reasons(choices: object) -> list[str] | None:
    if not isinstance(choices, list):
        return None
    reasons = [r for c in choices if (r := _str(getattr(c, "finish_reason", None)))]
    return reasons or None


def chat_response(inv: Invocation, result: Any, content: bool) -> None:
    """Response of ``chat.completions.create/parse`` (``ChatCompletion``) or legacy ``Completion``."""
    inv.response_id = _str(getattr(result, "id", None))
    inv.response_model = _str(getattr(result, "model", None))
    choices = getattr(result, "choices", None)
    inv.finish_reasons = _finish_reasons(choices)
    _usage_chat(inv, getattr(result, "usage", None))
    _openai_response(
        inv, getattr(result, "service_tier", None), getattr(result, "system_fingerprint", None)
    )
    if content and isinstance(choices, list):
        inv.output_messages = [_chat_choice(c) for c in choices]


def embeddings_response(inv: Invocation, result: Any) -> None:
    """Response of ``embeddings.create``."""
    inv.response_model = _str(getattr(result, "model", None))
    usage = getattr(result, "usage", None)
    if usage is not None:
        inv.input_tokens = _int(getattr(usage, "prompt_tokens", None))
    data = getattr(result, "data", None)
    if isinstance(data, list) and data:
        vector = getattr(data[0], "embedding", None)
        if isinstance(vector, list):
            inv.dimension_count = len(vector)


def responses_response(inv: Invocation, result: Any, content: bool) -> None:
    """A ``Response`` of the Responses API (from create/parse/retrieve or a stream's final event)."""
    inv.response_id = _str(getattr(result, "id", None))
    inv.response_model = _str(getattr(result, "model", None))
    if inv.request_model is None:
        inv.request_model = inv.response_model  # retrieve: the stored response names its model
    output = getattr(result, "output", None)
    reason = _responses_finish(result, output)
    if reason is not None:
        inv.finish_reasons = [reason]
    _usage_responses(inv, getattr(result, "usage", None))
    _openai_response(inv, getattr(result, "service_tier", None), None)
    if content and isinstance(output, list):
        inv.output_messages = [_responses_output(output, reason)]


# Why a Response ended (its status and incomplete_details.reason) → a semconv finish reason.
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _responses_finish(result: Any, output: object) -> str | None:
    """The Responses API has a status, not a finish reason: ``completed`` is ``stop`` (``tool_call``
    when it ends in function calls), ``incomplete`` its reason, ``failed`` ``error``."""
    status = getattr(result, "status", None)
    if status == "completed":
        if isinstance(output, list) and any(
            getattr(item, "type", None) == "function_call" for item in output
        ):
            return "tool_call"
        return "stop"
    if status == "incomplete":
        incomplete = getattr(result, "incomplete_details", None)
        reason = _str(getattr(incomplete, "reason", None)) if incomplete is not None else None
        return _INCOMPLETE.get(reason, reason) if reason else "length"
    if status == "failed":
        return "error"
    return None


# -- streams --------------------------------------------------------------------------------------


class ChatChunks:
    """Accumulates ``ChatCompletionChunk``s (and legacy ``Completion`` chunks)."""

    __slots__ = (
        "content",
        "fingerprint",
        "hide_usage",
        "id",
        "model",
        "reasons",
        "texts",
        "tier",
        "tools",
        "usage",
    )

    def __init__(self, content: bool, hide_usage: bool) -> None:
        self.content = content
        self.hide_usage = hide_usage
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.tier: Any = None
        self.fingerprint: Any = None
        self.reasons: dict[int, str] = {}
        self.texts: dict[int, list[str]] = {}
        self.tools: dict[int, dict[int, dict[str, Any]]] = {}

    def process(self, chunk: Any) -> bool:
        if self.id is None:
            self.id = _str(getattr(chunk, "id", None))
            self.model = _str(getattr(chunk, "model", None))
            self.tier = getattr(chunk, "service_tier", None)
            self.fingerprint = getattr(chunk, "system_fingerprint", None)
        # Once per chunk: plain attribute reads (a chunk model has these), getattr() when not.
        try:
            choices = chunk.choices
            usage = chunk.usage
        except AttributeError:
            choices = getattr(chunk, "choices", None)
            usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        if not choices:
            # The usage-only chunk exists because we asked for it: the caller never sees it.
            return self.hide_usage and usage is not None
        content = self.content
        for choice in choices:
            try:
                reason = choice.finish_reason
            except AttributeError:
                reason = None
            if type(reason) is str:  # a malformed chunk may carry anything
                self.reasons[getattr(choice, "index", 0)] = reason
            if content:
                self._content(getattr(choice, "index", 0), choice)
        return False

    def _content(self, index: int, choice: Any) -> None:
        delta = getattr(choice, "delta", None)
        text = (
            getattr(delta, "content", None) if delta is not None else getattr(choice, "text", None)
        )
        if type(text) is str:
            self.texts.setdefault(index, []).append(text)
        calls = getattr(delta, "tool_calls", None) if delta is not None else None
        if isinstance(calls, list):
            slots = self.tools.setdefault(index, {})
            for call in calls:
                slot = slots.setdefault(
                    getattr(call, "index", 0), {"id": None, "name": None, "arguments": []}
                )
                if getattr(call, "id", None):
                    slot["id"] = call.id
                function = getattr(call, "function", None)
                if function is not None:
                    if getattr(function, "name", None):
                        slot["name"] = function.name
                    if type(getattr(function, "arguments", None)) is str:
                        slot["arguments"].append(function.arguments)

    def apply(self, inv: Invocation) -> None:
        inv.response_id = self.id
        inv.response_model = self.model
        if self.reasons:
            inv.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        _usage_chat(inv, self.usage)
        _openai_response(inv, self.tier, self.fingerprint)
        if self.content:
            indexes = sorted(set(self.texts) | set(self.tools) | set(self.reasons))
            inv.output_messages = [self._message(i) for i in indexes]

    def _message(self, index: int) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        text = "".join(self.texts.get(index, ()))
        tools = self.tools.get(index)
        if text or (index in self.texts and not tools):  # no empty text before tool calls
            parts.append({"type": "text", "content": text})
        for _, slot in sorted((tools or {}).items()):
            parts.append(
                {
                    "type": "tool_call",
                    "id": slot["id"],
                    "name": slot["name"],
                    "arguments": _json_or_text("".join(slot["arguments"])),
                }
            )
        reason = self.reasons.get(index, "error")
        return {"role": "assistant", "parts": parts, "finish_reason": _FINISH.get(reason, reason)}


class ResponseEvents:
    """Accumulates Responses API stream events; the final ``response.*`` event carries it all."""

    __slots__ = ("content", "final")

    _FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def __init__(self, content: bool) -> None:
        self.content = content
        self.final: Any = None

    def process(self, chunk: Any) -> bool:
        kind = getattr(chunk, "type", None)
        if kind in self._FINAL or (kind == "response.created" and self.final is None):
            self.final = getattr(chunk, "response", None)
        return False

    def apply(self, inv: Invocation) -> None:
        if self.final is not None:
            responses_response(inv, self.final, self.content)


# -- content --------------------------------------------------------------------------------------


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _text_parts(content: object) -> list[dict[str, Any]]:
    if type(content) is str:
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for item in content:
            if not isinstance(item, Mapping):
                continue
            kind = item.get("type")
            if kind in ("text", "input_text", "output_text"):
                parts.append({"type": "text", "content": item.get("text")})
            elif kind in ("image_url", "input_image"):
                image = item.get("image_url")
                url = image.get("url") if isinstance(image, Mapping) else image
                parts.append(_image(url))
            else:
                parts.append({"type": str(kind)})
    return parts


def _image(url: object) -> dict[str, Any]:
    """An image by URL → ``uri``; inline (``data:<mime>;base64,<data>``) → ``blob`` with its data."""
    if type(url) is str and url.startswith("data:"):
        header, _, data = url.partition(",")
        mime = header[5:].split(";", 1)[0]
        part: dict[str, Any] = {"type": "blob", "modality": "image", "content": data}
        if mime:
            part["mime_type"] = mime
        return part
    return {"type": "uri", "modality": "image", "uri": url}


def chat_input(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """``gen_ai.input.messages`` / ``system_instructions`` / ``tool.definitions`` of a chat request."""
    messages = kw.get("messages")
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    if isinstance(messages, list):
        for m in messages:
            if not isinstance(m, Mapping):
                continue
            role = m.get("role")
            if role in ("system", "developer"):
                system.extend(_text_parts(m.get("content")))
                continue
            if role == "tool":
                out.append(
                    {
                        "role": "tool",
                        "parts": [
                            {
                                "type": "tool_call_response",
                                "id": m.get("tool_call_id"),
                                "response": m.get("content"),
                            }
                        ],
                    }
                )
                continue
            parts = _text_parts(m.get("content"))
            for call in m.get("tool_calls") or ():
                if isinstance(call, Mapping):
                    function = call.get("function") or {}
                    parts.append(
                        {
                            "type": "tool_call",
                            "id": call.get("id"),
                            "name": function.get("name"),
                            "arguments": _json_or_text(str(function.get("arguments", ""))),
                        }
                    )
            out.append({"role": str(role), "parts": parts})
    inv.input_messages = out
    if system:
        inv.system_instructions = system
    prompt = kw.get("prompt")
    if prompt is not None and messages is None:
        prompts = prompt if isinstance(prompt, list) else [prompt]
        inv.input_messages = [
            {"role": "user", "parts": [{"type": "text", "content": p}]}
            for p in prompts
            if type(p) is str
        ]
    _tools(inv, kw.get("tools"))


def _tools(inv: Invocation, tools: object) -> None:
    if not isinstance(tools, list) or not tools:
        return
    defs: list[dict[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, Mapping):
            continue
        function = tool.get("function")
        spec = function if isinstance(function, Mapping) else tool
        entry: dict[str, Any] = {"type": tool.get("type", "function"), "name": spec.get("name")}
        if spec.get("description") is not None:
            entry["description"] = spec.get("description")
        if spec.get("parameters") is not None:
            entry["parameters"] = spec.get("parameters")
        defs.append(entry)
    inv.tool_definitions = defs


def responses_input(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Content of a Responses API request (``input``, ``instructions``, ``tools``)."""
    instructions = kw.get("instructions")
    if type(instructions) is str:
        inv.system_instructions = [{"type": "text", "content": instructions}]
    items = kw.get("input")
    out: list[dict[str, Any]] = []
    if type(items) is str:
        out.append({"role": "user", "parts": [{"type": "text", "content": items}]})
    elif isinstance(items, list):
        for item in items:
            if not isinstance(item, Mapping):
                continue
            kind = item.get("type", "message")
            if kind == "message" or "role" in item:
                out.append(
                    {"role": str(item.get("role")), "parts": _text_parts(item.get("content"))}
                )
            elif kind == "function_call":
                part = {
                    "type": "tool_call",
                    "id": item.get("call_id"),
                    "name": item.get("name"),
                    "arguments": _json_or_text(str(item.get("arguments", ""))),
                }
                out.append({"role": "assistant", "parts": [part]})
            elif kind == "function_call_output":
                part = {
                    "type": "tool_call_response",
                    "id": item.get("call_id"),
                    "response": item.get("output"),
                }
                out.append({"role": "tool", "parts": [part]})
    inv.input_messages = out
    _tools(inv, kw.get("tools"))


def _chat_choice(choice: Any) -> dict[str, Any]:
    message = getattr(choice, "message", None)
    parts: list[dict[str, Any]] = []
    text = (
        getattr(message, "content", None) if message is not None else getattr(choice, "text", None)
    )
    calls = getattr(message, "tool_calls", None)
    if type(text) is str and (text or not calls):  # no empty text before tool calls
        parts.append({"type": "text", "content": text})
    if isinstance(calls, list):
        for call in calls:
            function = getattr(call, "function", None)
            parts.append(
                {
                    "type": "tool_call",
                    "id": getattr(call, "id", None),
                    "name": getattr(function, "name", None),
                    "arguments": _json_or_text(str(getattr(function, "arguments", ""))),
                }
            )
    reason = _str(getattr(choice, "finish_reason", None)) or "error"
    return {"role": "assistant", "parts": parts, "finish_reason": _FINISH.get(reason, reason)}


def _responses_output(output: list[Any], reason: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for item in output:
        kind = getattr(item, "type", None)
        if kind == "message":
            parts.extend(
                {"type": "text", "content": getattr(c, "text", None)}
                for c in getattr(item, "content", None) or ()
                if getattr(c, "type", None) == "output_text"
            )
        elif kind == "function_call":
            parts.append(
                {
                    "type": "tool_call",
                    "id": getattr(item, "call_id", None),
                    "name": getattr(item, "name", None),
                    "arguments": _json_or_text(str(getattr(item, "arguments", ""))),
                }
            )
        elif kind == "reasoning":
            parts.extend(
                {"type": "reasoning", "content": getattr(s, "text", None)}
                for s in getattr(item, "summary", None) or ()
            )
    return {"role": "assistant", "parts": parts, "finish_reason": reason or "stop"}
