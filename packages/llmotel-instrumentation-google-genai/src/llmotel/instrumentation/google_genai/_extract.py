"""From the google-genai SDK's arguments and replies to an :class:`Invocation`.

Reads defensively: ``config`` may be a ``GenerateContentConfig`` or a dict, ``contents`` a string,
a part, a ``Content``, a dict or a list of those; any field may be missing or ``None``. A value of
an unexpected type is left out.

Gemini's ``prompt_token_count`` already includes the cached-content tokens (semconv's
``gen_ai.usage.input_tokens`` does too); thinking tokens (``thoughts_token_count``) are billed as
output, so ``gen_ai.usage.output_tokens`` is candidates + thoughts and the thoughts are also
``gen_ai.usage.reasoning.output_tokens``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from llmotel.semconv.attributes import GenAiProviderNameValues
from llmotel.semconv.calls import read_field as _get
from llmotel.semconv.calls import read_float as _num
from llmotel.semconv.calls import read_int as _int
from llmotel.semconv.calls import read_str as _str
from llmotel.semconv.calls import server_of_url
from llmotel.semconv.inference import Invocation

GEMINI = GenAiProviderNameValues.GCP_GEMINI.value
VERTEX = GenAiProviderNameValues.GCP_VERTEX_AI.value
# Gemini finish reasons → the finish reasons of the semconv output-message schema.
_FINISH = {
    "stop": "stop",
    "max_tokens": "length",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "spii": "content_filter",
    "image_safety": "content_filter",
    "malformed_function_call": "error",
}


def server_of(module: Any, kw: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    """``(provider name, server.address, server.port)`` of a ``Models`` / ``AsyncModels`` call:
    Vertex AI or the Gemini API by the client's mode, the address from its base URL."""
    api = getattr(module, "_api_client", None)
    provider = VERTEX if getattr(api, "vertexai", None) is True else GEMINI
    return (
        provider,
        *server_of_url(_get(getattr(api, "_http_options", None), "base_url")),
    )


def _stop(v: object) -> list[str] | None:
    if isinstance(v, list) and all(type(s) is str for s in v):
        return v
    return None


def generate_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Request parameters of ``generate_content`` (from its ``config``)."""
    config = kw.get("config")
    if config is None:
        return
    inv.temperature = _num(_get(config, "temperature"))
    inv.top_p = _num(_get(config, "top_p"))
    inv.top_k = _num(_get(config, "top_k"))
    inv.max_tokens = _int(_get(config, "max_output_tokens"))
    inv.choice_count = _int(_get(config, "candidate_count"))
    inv.seed = _int(_get(config, "seed"))
    inv.presence_penalty = _num(_get(config, "presence_penalty"))
    inv.frequency_penalty = _num(_get(config, "frequency_penalty"))
    inv.stop_sequences = _stop(_get(config, "stop_sequences"))
    mime = _get(config, "response_mime_type")
    if mime == "application/json":
        inv.output_type = "json"
    elif mime == "text/plain":
        inv.output_type = "text"


def embed_request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """Nothing of ``embed_content``'s config has a semconv attribute: dimensions come back."""


def _reason(candidate: Any) -> str | None:
    reason = getattr(candidate, "finish_reason", None)
    reason = getattr(reason, "value", reason)  # a FinishReason enum member or its string
    return reason.lower() if type(reason) is str else None


def _usage(inv: Invocation, usage: Any) -> None:
    if usage is None:
        return
    prompt = _int(getattr(usage, "prompt_token_count", None))
    tool_prompt = _int(getattr(usage, "tool_use_prompt_token_count", None))
    if prompt is not None or tool_prompt is not None:
        inv.input_tokens = (prompt or 0) + (tool_prompt or 0)
    candidates = _int(getattr(usage, "candidates_token_count", None))
    thoughts = _int(getattr(usage, "thoughts_token_count", None))
    if candidates is not None or thoughts is not None:
        inv.output_tokens = (candidates or 0) + (thoughts or 0)
    inv.reasoning_output_tokens = thoughts
    inv.cache_read_input_tokens = _int(getattr(usage, "cached_content_token_count", None))


def generate_response(inv: Invocation, result: Any, content: bool) -> None:
    """A ``GenerateContentResponse``."""
    inv.response_id = _str(getattr(result, "response_id", None))
    inv.response_model = _str(getattr(result, "model_version", None))
    candidates = getattr(result, "candidates", None)
    if isinstance(candidates, list):
        reasons = [r for c in candidates if (r := _reason(c))]
        inv.finish_reasons = reasons or None
    _usage(inv, getattr(result, "usage_metadata", None))
    if content and isinstance(candidates, list):
        inv.output_messages = [
            _output(_parts(_get(getattr(c, "content", None), "parts")), _reason(c))
            for c in candidates
        ]


def embed_response(inv: Invocation, result: Any, content: bool) -> None:
    """An ``EmbedContentResponse``: dimensions, and the token counts Vertex AI reports."""
    usage = getattr(result, "usage_metadata", None)
    if usage is not None:
        inv.input_tokens = _int(getattr(usage, "prompt_token_count", None))
    embeddings = getattr(result, "embeddings", None)
    if not isinstance(embeddings, list) or not embeddings:
        return
    values = getattr(embeddings[0], "values", None)
    if isinstance(values, list):
        inv.dimension_count = len(values)
    if inv.input_tokens is None:
        counts = [getattr(getattr(e, "statistics", None), "token_count", None) for e in embeddings]
        if counts and all(isinstance(c, int | float) and not isinstance(c, bool) for c in counts):
            inv.input_tokens = int(sum(counts))  # type: ignore[arg-type]


# -- streams --------------------------------------------------------------------------------------


class Chunks:
    """Accumulates the ``GenerateContentResponse`` chunks of a stream: ids and the model from any,
    the usage of the last that has one, the finish reason, and the parts when content is on."""

    __slots__ = ("content", "id", "model", "parts", "reasons", "usage")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.id: str | None = None
        self.model: str | None = None
        self.usage: Any = None
        self.reasons: dict[int, str] = {}
        self.parts: dict[int, list[dict[str, Any]]] = {}

    def process(self, chunk: Any) -> bool:
        if self.id is None:
            self.id = _str(getattr(chunk, "response_id", None))
        if self.model is None:
            self.model = _str(getattr(chunk, "model_version", None))
        usage = getattr(chunk, "usage_metadata", None)
        if usage is not None:
            self.usage = usage
        candidates = getattr(chunk, "candidates", None)
        if not isinstance(candidates, list):
            return False
        for position, candidate in enumerate(candidates):
            index = getattr(candidate, "index", None)
            index = index if type(index) is int else position
            reason = _reason(candidate)
            if reason is not None:
                self.reasons[index] = reason
            if self.content:
                parts = _parts(_get(getattr(candidate, "content", None), "parts"))
                self.parts.setdefault(index, []).extend(parts)
        return False

    def apply(self, inv: Invocation) -> None:
        inv.response_id = self.id
        inv.response_model = self.model
        if self.reasons:
            inv.finish_reasons = [self.reasons[i] for i in sorted(self.reasons)]
        _usage(inv, self.usage)
        if self.content:
            indexes = sorted(set(self.parts) | set(self.reasons))
            inv.output_messages = [
                _output(_merge_text(self.parts.get(i, [])), self.reasons.get(i)) for i in indexes
            ]


def _merge_text(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Joins the consecutive text (and reasoning) pieces of a stream into one part each."""
    merged: list[dict[str, Any]] = []
    for part in parts:
        last = merged[-1] if merged else None
        if (
            last is not None
            and part["type"] in ("text", "reasoning")
            and last["type"] == part["type"]
        ):
            merged[-1] = {
                **last,
                "content": (last.get("content") or "") + (part.get("content") or ""),
            }
        else:
            merged.append(part)
    return merged


# -- content --------------------------------------------------------------------------------------


def _part(part: Any) -> dict[str, Any]:
    if type(part) is str:
        return {"type": "text", "content": part}
    text = _get(part, "text")
    if type(text) is str:
        kind = "reasoning" if _get(part, "thought") is True else "text"
        return {"type": kind, "content": text}
    call = _get(part, "function_call")
    if call is not None:
        entry: dict[str, Any] = {"type": "tool_call", "name": _get(call, "name")}
        entry["id"] = _get(call, "id")
        entry["arguments"] = _plain(_get(call, "args"))
        return entry
    response = _get(part, "function_response")
    if response is not None:
        return {
            "type": "tool_call_response",
            "id": _get(response, "id"),
            "response": _plain(_get(response, "response")),
        }
    blob = _get(part, "inline_data")
    if blob is not None:
        mime = _get(blob, "mime_type")
        entry = {"type": "blob", "modality": _modality(mime), "mime_type": mime}
        data = _get(blob, "data")
        if isinstance(data, bytes):
            entry["content"] = base64.b64encode(data).decode()
        return entry
    file = _get(part, "file_data")
    if file is not None:
        mime = _get(file, "mime_type")
        return {
            "type": "uri",
            "modality": _modality(mime),
            "mime_type": mime,
            "uri": _get(file, "file_uri"),
        }
    if isinstance(part, Mapping) and part.get("thought_signature") is not None:
        return {"type": "thought_signature"}
    return {"type": "unknown"}


def _modality(mime: object) -> str:
    if type(mime) is str:
        head = mime.split("/", 1)[0]
        if head in ("image", "video", "audio"):
            return head
    return "image"


def _plain(value: Any) -> Any:
    """Function-call arguments and responses as plain JSON values (SDK models dumped)."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else value


def _parts(parts: object) -> list[dict[str, Any]]:
    return [_part(p) for p in parts] if isinstance(parts, list) else []


def _output(parts: list[dict[str, Any]], reason: str | None) -> dict[str, Any]:
    if any(p["type"] == "tool_call" for p in parts):
        finish = "tool_call"
    else:
        finish = _FINISH.get(reason, reason) if reason else "error"
    return {"role": "assistant", "parts": parts, "finish_reason": finish}


def _is_content(item: Any) -> bool:
    return (isinstance(item, Mapping) and "parts" in item) or (
        hasattr(item, "parts") and hasattr(item, "role")
    )


def _messages(contents: Any) -> list[dict[str, Any]]:
    """``contents`` as semconv input messages, grouped as the SDK sends them: each ``Content`` a
    message, consecutive bare parts (strings, ``Part``s) one user message."""
    items = contents if isinstance(contents, list) else [contents]
    out: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    for item in items:
        if _is_content(item):
            if loose:
                out.append({"role": "user", "parts": loose})
                loose = []
            role = _get(item, "role")
            role = "assistant" if role == "model" else role if type(role) is str else "user"
            if role == "user" and any(
                p["type"] == "tool_call_response" for p in _parts(_get(item, "parts"))
            ):
                role = "tool"
            out.append({"role": role, "parts": _parts(_get(item, "parts"))})
        elif item is not None:
            loose.append(_part(item))
    if loose:
        out.append({"role": "user", "parts": loose})
    return out


def generate_input(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """``gen_ai.input.messages``, ``system_instructions`` and ``tool.definitions`` of a call."""
    inv.input_messages = _messages(kw.get("contents"))
    config = kw.get("config")
    if config is None:
        return
    system = _get(config, "system_instruction")
    if system is not None:
        inv.system_instructions = [p for m in _messages(system) for p in m["parts"]]
    tools = _get(config, "tools")
    if isinstance(tools, list) and tools:
        defs: list[dict[str, Any]] = []
        for tool in tools:
            if (
                callable(tool)
                and not isinstance(tool, Mapping)
                and not hasattr(tool, "function_declarations")
            ):
                # A Python function handed to automatic function calling.
                entry = {"type": "function", "name": getattr(tool, "__name__", None)}
                doc = getattr(tool, "__doc__", None)
                if type(doc) is str:
                    entry["description"] = doc.strip()
                defs.append(entry)
                continue
            for decl in _get(tool, "function_declarations") or ():
                entry = {"type": "function", "name": _get(decl, "name")}
                description = _get(decl, "description")
                if type(description) is str:
                    entry["description"] = description
                parameters = _plain(_get(decl, "parameters"))
                if parameters is not None:
                    entry["parameters"] = parameters
                defs.append(entry)
        inv.tool_definitions = defs


def embed_input(inv: Invocation, kw: Mapping[str, Any]) -> None:
    """What an embeddings call embeds: one user message per item of ``contents``."""
    contents = kw.get("contents")
    items = contents if isinstance(contents, list) else [contents]
    inv.input_messages = [m for item in items for m in _messages(item)]
