"""Readers of the OpenAI-compatible chat shapes, shared by the instrumentations of SDKs that take
them (mistralai, litellm).

Messages (``role``, ``content`` as a string or a list of typed chunks, ``tool_calls`` with
``function.name`` / ``function.arguments``), tool definitions (``{"type": "function", "function":
{...}}``), ``stop``, ``response_format`` and embeddings input become the parts and fields of an
:class:`~llmotel.semconv.inference.Invocation`. Each item may be a plain dict (an SDK's TypedDict
form) or a model object; both are read through :func:`~llmotel.semconv.calls.read_field`. A value of
an unexpected type is left out. Where providers differ (a ``thinking`` chunk, which roles are
system instructions, how a tool reply's chunks are recorded) the caller says which it speaks.

Needs ``wrapt`` like :mod:`llmotel.semconv.calls` (the ``llmotel-semconv[instrumentation]`` extra).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from llmotel.semconv.calls import read_field as _get
from llmotel.semconv.calls import read_float as _num
from llmotel.semconv.calls import read_int as _int
from llmotel.semconv.calls import read_str as _str
from llmotel.semconv.inference import Invocation

__all__ = [
    "chat_input",
    "chat_request",
    "chat_response",
    "content_parts",
    "embeddings_input",
    "json_or_text",
    "output_message",
    "output_type",
    "stop_sequences",
    "tool_call_parts",
    "tool_definitions",
]


def stop_sequences(v: object) -> list[str] | None:
    """``gen_ai.request.stop_sequences`` of a ``stop`` argument: a string or a list of strings."""
    if type(v) is str:
        return [v]
    if isinstance(v, list) and all(type(s) is str for s in v):
        return v
    return None


def output_type(response_format: object) -> str | None:
    """``gen_ai.output.type`` of a ``response_format`` argument (``{"type": ...}`` or a model)."""
    kind = _get(response_format, "type") if response_format is not None else None
    if kind in ("json_object", "json_schema"):
        return "json"
    if kind == "text":
        return "text"
    return None


def chat_request(
    inv: Invocation,
    kw: Mapping[str, Any],
    *,
    max_tokens: tuple[str, ...] = ("max_tokens",),
    seed: str = "seed",
) -> None:
    """The request parameters of a chat call: ``max_tokens`` (the first of those keys that is
    set and not 0, else the last one's), ``n``, ``temperature``, ``top_p``, ``top_k``, the
    penalties, the ``seed`` key, ``stop`` and ``response_format``."""
    get = kw.get
    tokens = None
    for key in max_tokens:
        tokens = _int(get(key))
        if tokens:
            break
    inv.max_tokens = tokens
    inv.choice_count = _int(get("n"))
    inv.temperature = _num(get("temperature"))
    inv.top_p = _num(get("top_p"))
    inv.top_k = _num(get("top_k"))
    inv.frequency_penalty = _num(get("frequency_penalty"))
    inv.presence_penalty = _num(get("presence_penalty"))
    inv.seed = _int(get(seed))
    if "stop" in kw:
        inv.stop_sequences = stop_sequences(kw["stop"])
    if "response_format" in kw:
        inv.output_type = output_type(kw["response_format"])


def chat_response(
    inv: Invocation,
    result: Any,
    content: bool,
    *,
    reason: Callable[[Any], str | None],
    usage: Callable[[Invocation, Any], None],
    output: Callable[[Any, str | None], dict[str, Any]],
) -> None:
    """A chat completion reply (``id``, ``model``, ``choices``, ``usage``): the response id and
    model, each choice's finish reason (``reason(choice)``), the usage (``usage(inv,
    result.usage)``, also when it is ``None``) and, with ``content``, each choice's output message
    (``output(choice.message, reason)``)."""
    inv.response_id = _str(getattr(result, "id", None))
    inv.response_model = _str(getattr(result, "model", None))
    choices = getattr(result, "choices", None)
    if isinstance(choices, list):
        reasons = [r for c in choices if (r := reason(c))]
        inv.finish_reasons = reasons or None
    usage(inv, getattr(result, "usage", None))
    if content and isinstance(choices, list):
        inv.output_messages = [output(getattr(c, "message", None), reason(c)) for c in choices]


def json_or_text(value: object) -> Any:
    """A tool call's ``arguments``: the JSON value a string holds, else the value as it is."""
    if type(value) is not str:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def content_parts(content: object, thinking: bool = False) -> list[dict[str, Any]]:
    """The message parts of a ``content``: a string (one text part, none when empty) or a list of
    ``text`` / ``image_url`` chunks (and, with ``thinking``, Mistral's ``thinking`` chunks, whose
    texts become one reasoning part); any other chunk becomes a part of its type alone."""
    if type(content) is str:
        return [{"type": "text", "content": content}] if content else []
    parts: list[dict[str, Any]] = []
    for item in content if isinstance(content, list) else ():
        kind = _get(item, "type")
        if kind == "text":
            parts.append({"type": "text", "content": _get(item, "text")})
        elif kind == "image_url":
            image = _get(item, "image_url")
            url = image if type(image) is str else _get(image, "url")
            parts.append({"type": "uri", "modality": "image", "uri": url})
        elif thinking and kind == "thinking":
            chunks = _get(item, "thinking")
            texts = [_get(t, "text") for t in chunks] if isinstance(chunks, list) else []
            parts.append(
                {"type": "reasoning", "content": "".join(t for t in texts if type(t) is str)}
            )
        else:
            parts.append({"type": str(kind)})
    return parts


def tool_call_parts(calls: object) -> list[dict[str, Any]]:
    """The ``tool_call`` parts of a message's ``tool_calls``."""
    parts = []
    for call in calls if isinstance(calls, list) else ():
        function = _get(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": _get(call, "id"),
                "name": _get(function, "name"),
                "arguments": json_or_text(_get(function, "arguments")),
            }
        )
    return parts


def output_message(
    message: Any,
    reason: str | None,
    finish: Mapping[str, str],
    *,
    reasoning_field: str | None = None,
    thinking: bool = False,
) -> dict[str, Any]:
    """One output message of a reply's ``message`` (or a stream's accumulated one): a reasoning
    part from ``reasoning_field`` when the provider puts its reasoning there, the content parts,
    the tool calls; the finish reason mapped through ``finish`` (``"error"`` when there is none)."""
    parts: list[dict[str, Any]] = []
    if message is not None:
        if reasoning_field is not None:
            reasoning = _get(message, reasoning_field)
            if type(reasoning) is str and reasoning:
                parts.append({"type": "reasoning", "content": reasoning})
        parts += content_parts(_get(message, "content"), thinking)
        parts += tool_call_parts(_get(message, "tool_calls"))
    return {
        "role": "assistant",
        "parts": parts,
        "finish_reason": finish.get(reason, reason) if reason else "error",
    }


def tool_definitions(tools: object) -> list[dict[str, Any]] | None:
    """``gen_ai.tool.definitions`` of a ``tools`` argument (``None`` when it lists none)."""
    if not isinstance(tools, list) or not tools:
        return None
    definitions = []
    for tool in tools:
        function = _get(tool, "function")
        entry: dict[str, Any] = {"type": "function", "name": _get(function, "name")}
        description = _get(function, "description")
        if type(description) is str:
            entry["description"] = description
        parameters = _get(function, "parameters")
        if isinstance(parameters, Mapping):
            entry["parameters"] = dict(parameters)
        definitions.append(entry)
    return definitions


def chat_input(
    inv: Invocation,
    kw: Mapping[str, Any],
    *,
    system_roles: Collection[str] = ("system",),
    tool_reply_texts: bool = False,
    thinking: bool = False,
) -> None:
    """``gen_ai.input.messages``, ``system_instructions`` and ``tool.definitions`` of a chat call's
    ``messages`` and ``tools``. Messages of ``system_roles`` become the system instructions; a
    ``tool`` message becomes a ``tool_call_response`` whose response is its content (with
    ``tool_reply_texts``, a chunk list is recorded as the list of its parts' texts)."""
    messages = kw.get("messages")
    system: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    for message in messages if isinstance(messages, list) else ():
        role = _get(message, "role")
        role = getattr(role, "value", role)  # an SDK enum member or its string
        content = _get(message, "content")
        if role in system_roles:
            system.extend(content_parts(content, thinking))
        elif role == "tool":
            response = content
            if tool_reply_texts and type(content) is not str:
                response = [p.get("content") for p in content_parts(content, thinking)]
            part = {
                "type": "tool_call_response",
                "id": _get(message, "tool_call_id"),
                "response": response,
            }
            out.append({"role": "tool", "parts": [part]})
        else:
            parts = content_parts(content, thinking) + tool_call_parts(_get(message, "tool_calls"))
            out.append({"role": str(role or "user"), "parts": parts})
    inv.input_messages = out
    if system:
        inv.system_instructions = system
    definitions = tool_definitions(kw.get("tools"))
    if definitions is not None:
        inv.tool_definitions = definitions


def embeddings_input(inv: Invocation, data: object) -> None:
    """The texts an embeddings call embeds (a string or a list; other items are left out), as
    user messages."""
    items = data if isinstance(data, list) else [data]
    inv.input_messages = [
        {"role": "user", "parts": [{"type": "text", "content": t}]} for t in items if type(t) is str
    ]
