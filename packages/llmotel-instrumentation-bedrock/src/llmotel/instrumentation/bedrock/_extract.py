"""From Bedrock Runtime's request parameters and replies to an :class:`Invocation`.

Converse and ConverseStream have one shape for every model; InvokeModel's body is the model
family's own JSON (Anthropic messages, Meta Llama, Amazon Titan text and embeddings, Amazon Nova,
Mistral prompt and chat), told apart by the model id (then by the body's keys, for a provisioned
model's ARN). Reads defensively: any field may be missing or of another type; what does not fit is
left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from llmotel.semconv.attributes import GenAiProviderNameValues
from llmotel.semconv.calls import read_field as _get
from llmotel.semconv.calls import read_float as _num
from llmotel.semconv.calls import read_int as _int
from llmotel.semconv.calls import read_str as _str
from llmotel.semconv.inference import Invocation

PROVIDER = GenAiProviderNameValues.AWS_BEDROCK.value
# Cross-region inference profiles put a geography before the model id.
_GEOGRAPHIES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})
# Bedrock stop reasons (Converse and each family's) → the semconv output-message finish reasons.
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "stop": "stop",
    "FINISH": "stop",
    "max_tokens": "length",
    "length": "length",
    "model_length": "length",
    "LENGTH": "length",
    "tool_use": "tool_call",
    "tool_calls": "tool_call",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
    "CONTENT_FILTERED": "content_filter",
    "refusal": "content_filter",
}
_INPUT_COUNT = "x-amzn-bedrock-input-token-count"
_OUTPUT_COUNT = "x-amzn-bedrock-output-token-count"
_METRICS = "amazon-bedrock-invocationMetrics"


def model_of(model_id: object) -> str | None:
    """``gen_ai.request.model`` of a ``modelId``: the model id in an ARN, without a cross-region
    geography (``arn:…:inference-profile/us.anthropic.claude-…`` → ``anthropic.claude-…``); a
    provisioned model's ARN keeps its resource id."""
    if type(model_id) is not str or not model_id:
        return None
    name = model_id.rsplit("/", 1)[-1] if model_id.startswith("arn:") else model_id
    head, _, tail = name.partition(".")
    if head in _GEOGRAPHIES and "." in tail:
        return tail
    return name


def _finish(reason: str | None) -> str:
    return _FINISH.get(reason, reason) if reason else "error"


def _output(parts: list[dict[str, Any]], reason: str | None) -> dict[str, Any]:
    return {"role": "assistant", "parts": parts, "finish_reason": _finish(reason)}


def _text_message(role: str, text: object) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}] if type(text) is str else []}


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _stop(value: object) -> list[str] | None:
    if type(value) is str:
        return [value]
    if isinstance(value, list) and value and all(type(s) is str for s in value):
        return value
    return None


def _usage(
    inv: Invocation,
    uncached: object,
    output: object,
    cache_read: object = None,
    cache_write: object = None,
) -> None:
    # Bedrock's input counts leave the cache reads and writes out; semconv's input includes them.
    read, write = _int(cache_read), _int(cache_write)
    base = _int(uncached)
    if base is not None:
        inv.input_tokens = base + (read or 0) + (write or 0)
    inv.output_tokens = _int(output)
    inv.cache_read_input_tokens = read
    inv.cache_creation_input_tokens = write


def header_usage(inv: Invocation, response: Mapping[str, Any]) -> None:
    """Token counts from InvokeModel's response headers, where the body gave none."""
    headers = _get(_get(response, "ResponseMetadata"), "HTTPHeaders")
    if not isinstance(headers, Mapping):
        return
    if inv.input_tokens is None:
        inv.input_tokens = _count(headers.get(_INPUT_COUNT))
    if inv.output_tokens is None:
        inv.output_tokens = _count(headers.get(_OUTPUT_COUNT))


def _count(value: object) -> int | None:
    if type(value) is str and value.isdigit():
        return int(value)
    return _int(value)


# -- Converse -------------------------------------------------------------------------------------


def _blocks(content: object) -> list[dict[str, Any]]:
    """Converse (and Nova) content blocks as semconv parts."""
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, Mapping):
            continue
        if "text" in block:
            parts.append({"type": "text", "content": block["text"]})
        elif "toolUse" in block:
            use = block["toolUse"]
            parts.append(
                {
                    "type": "tool_call",
                    "id": _get(use, "toolUseId"),
                    "name": _get(use, "name"),
                    "arguments": _get(use, "input"),
                }
            )
        elif "toolResult" in block:
            result = block["toolResult"]
            inner = _get(result, "content")
            response = [
                p.get("content") if p["type"] == "text" else p for p in _blocks(inner)
            ] or inner
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": _get(result, "toolUseId"),
                    "response": response,
                }
            )
        elif "reasoningContent" in block:
            text = _get(_get(block["reasoningContent"], "reasoningText"), "text")
            parts.append({"type": "reasoning", "content": text})
        elif "image" in block or "document" in block or "video" in block:
            kind = next(k for k in ("image", "document", "video") if k in block)
            fmt = _str(_get(block[kind], "format"))
            part: dict[str, Any] = {"type": kind, "modality": kind}
            if fmt is not None:
                part["format"] = fmt
            parts.append(part)
        else:
            parts.append({"type": next(iter(block), "unknown")})
    return parts


def _messages(messages: object) -> list[dict[str, Any]]:
    return [
        {"role": str(_get(m, "role") or "user"), "parts": _blocks(_get(m, "content"))}
        for m in (messages if isinstance(messages, list) else ())
        if isinstance(m, Mapping)
    ]


def _tool_specs(tools: object) -> list[dict[str, Any]] | None:
    defs = []
    for tool in tools if isinstance(tools, list) else ():
        spec = _get(tool, "toolSpec")
        if not isinstance(spec, Mapping):
            continue
        entry: dict[str, Any] = {"type": "function", "name": spec.get("name")}
        if type(spec.get("description")) is str:
            entry["description"] = spec["description"]
        schema = _get(spec.get("inputSchema"), "json")
        if isinstance(schema, Mapping):
            entry["parameters"] = dict(schema)
        defs.append(entry)
    return defs or None


def converse_request(inv: Invocation, params: Mapping[str, Any]) -> None:
    """``inferenceConfig`` of Converse / ConverseStream."""
    config = params.get("inferenceConfig")
    if isinstance(config, Mapping):
        inv.max_tokens = _int(config.get("maxTokens"))
        inv.temperature = _num(config.get("temperature"))
        inv.top_p = _num(config.get("topP"))
        inv.stop_sequences = _stop(config.get("stopSequences"))
    extra = params.get("additionalModelRequestFields")
    if isinstance(extra, Mapping):
        inv.top_k = _num(extra.get("top_k"))


def converse_input(inv: Invocation, params: Mapping[str, Any]) -> None:
    """``messages``, ``system`` and ``toolConfig`` of Converse / ConverseStream."""
    inv.input_messages = _messages(params.get("messages"))
    system = _blocks(params.get("system"))
    if system:
        inv.system_instructions = system
    inv.tool_definitions = _tool_specs(_get(params.get("toolConfig"), "tools"))


def _converse_usage(inv: Invocation, usage: object) -> None:
    if isinstance(usage, Mapping):
        _usage(
            inv,
            usage.get("inputTokens"),
            usage.get("outputTokens"),
            usage.get("cacheReadInputTokens"),
            usage.get("cacheWriteInputTokens"),
        )


def converse_response(inv: Invocation, response: Mapping[str, Any], content: bool) -> None:
    """The reply of Converse."""
    reason = _str(response.get("stopReason"))
    inv.finish_reasons = [reason] if reason else None
    _converse_usage(inv, response.get("usage"))
    if content:
        message = _get(response.get("output"), "message")
        inv.output_messages = [_output(_blocks(_get(message, "content")), reason)]


class ConverseEvents:
    """Accumulates ConverseStream's events (``messageStart``, ``contentBlockStart`` /
    ``Delta`` / ``Stop``, ``messageStop``, ``metadata``)."""

    __slots__ = ("blocks", "content", "reason", "usage")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.reason: str | None = None
        self.usage: object = None
        self.blocks: dict[int, dict[str, Any]] = {}

    def process(self, event: Any) -> bool:
        if type(event) is not dict:  # botocore parses each event into a dict
            return False
        if "contentBlockDelta" in event:  # most events: only content
            if self.content:
                self._delta(event["contentBlockDelta"])
            return False
        if "contentBlockStart" in event:
            if self.content:
                start = event["contentBlockStart"]
                use = _get(_get(start, "start"), "toolUse")
                if isinstance(use, Mapping):
                    self.blocks[_index(start)] = {
                        "type": "tool_call",
                        "id": use.get("toolUseId"),
                        "name": use.get("name"),
                        "arguments": [],
                    }
        elif "messageStop" in event:
            self.reason = _str(_get(event["messageStop"], "stopReason"))
        elif "metadata" in event:
            self.usage = _get(event["metadata"], "usage")
        return False

    def _delta(self, delta_event: object) -> None:
        index = _index(delta_event)
        delta = _get(delta_event, "delta")
        if not isinstance(delta, Mapping):
            return
        if "text" in delta:
            block = self.blocks.setdefault(index, {"type": "text", "content": []})
            piece = delta["text"]
        elif "toolUse" in delta:
            block = self.blocks.setdefault(
                index, {"type": "tool_call", "id": None, "name": None, "arguments": []}
            )
            piece = _get(delta["toolUse"], "input")
        elif "reasoningContent" in delta:
            block = self.blocks.setdefault(index, {"type": "reasoning", "content": []})
            piece = _get(delta["reasoningContent"], "text")
        else:
            return
        key = "arguments" if block["type"] == "tool_call" else "content"
        if type(piece) is str and isinstance(block.get(key), list):
            block[key].append(piece)

    def apply(self, inv: Invocation) -> None:
        inv.finish_reasons = [self.reason] if self.reason else None
        _converse_usage(inv, self.usage)
        if self.content:
            inv.output_messages = [_output(_joined(self.blocks), self.reason)]


def _index(event: object) -> int:
    index = _get(event, "contentBlockIndex")
    return index if type(index) is int else 0


def _joined(blocks: Mapping[int, dict[str, Any]]) -> list[dict[str, Any]]:
    parts = []
    for _, part in sorted(blocks.items()):
        if part["type"] == "tool_call":
            text = "".join(part["arguments"])
            part["arguments"] = _json_or_text(text) if text else {}
        else:
            part["content"] = "".join(part["content"])
        parts.append(part)
    return parts


# -- InvokeModel: one reader per model family ------------------------------------------------------


class Family:
    """How one model family's InvokeModel body maps onto an invocation."""

    __slots__ = ("chunks", "content", "delta", "name", "operation", "request", "response")

    def __init__(
        self,
        name: str,
        operation: str,
        *,
        request: Callable[[Invocation, Mapping[str, Any]], None],
        content: Callable[[Invocation, Mapping[str, Any]], None],
        response: Callable[[Invocation, Mapping[str, Any], bool], None],
        chunks: Callable[[bool], Any] | None = None,
        delta: bytes | None = None,
    ) -> None:
        self.name = name
        self.operation = operation
        self.request = request
        self.content = content
        self.response = response
        self.chunks = chunks
        # What a stream chunk that only carries content starts with: not parsed without content.
        self.delta = delta


# Anthropic Claude (the Messages API body, anthropic_version bedrock-2023-05-31).
def _anthropic_request(inv: Invocation, body: Mapping[str, Any]) -> None:
    inv.max_tokens = _int(body.get("max_tokens"))
    inv.temperature = _num(body.get("temperature"))
    inv.top_p = _num(body.get("top_p"))
    inv.top_k = _num(body.get("top_k"))
    inv.stop_sequences = _stop(body.get("stop_sequences"))


def _anthropic_parts(content: object) -> list[dict[str, Any]]:
    if type(content) is str:
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else ():
        kind = _get(block, "type")
        if kind == "text":
            parts.append({"type": "text", "content": _get(block, "text")})
        elif kind == "tool_use":
            parts.append(
                {
                    "type": "tool_call",
                    "id": _get(block, "id"),
                    "name": _get(block, "name"),
                    "arguments": _get(block, "input"),
                }
            )
        elif kind == "tool_result":
            parts.append(
                {
                    "type": "tool_call_response",
                    "id": _get(block, "tool_use_id"),
                    "response": _get(block, "content"),
                }
            )
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": _get(block, "thinking")})
        elif kind == "image":
            source = _get(block, "source")
            part: dict[str, Any] = {"type": "blob", "modality": "image"}
            if _get(source, "type") == "base64":
                part["content"] = _get(source, "data")
                if type(_get(source, "media_type")) is str:
                    part["mime_type"] = _get(source, "media_type")
            else:
                part = {"type": "image"}
            parts.append(part)
        else:
            parts.append({"type": str(kind)})
    return parts


def _anthropic_input(inv: Invocation, body: Mapping[str, Any]) -> None:
    messages = body.get("messages")
    inv.input_messages = [
        {"role": str(_get(m, "role")), "parts": _anthropic_parts(_get(m, "content"))}
        for m in (messages if isinstance(messages, list) else ())
        if isinstance(m, Mapping)
    ]
    system = body.get("system")
    if system is not None:
        inv.system_instructions = _anthropic_parts(system)
    defs = []
    for tool in body.get("tools") or ():
        if isinstance(tool, Mapping):
            entry: dict[str, Any] = {"type": "function", "name": tool.get("name")}
            if type(tool.get("description")) is str:
                entry["description"] = tool["description"]
            if isinstance(tool.get("input_schema"), Mapping):
                entry["parameters"] = dict(tool["input_schema"])
            defs.append(entry)
    inv.tool_definitions = defs or None


def _anthropic_usage(inv: Invocation, usage: object) -> None:
    if isinstance(usage, Mapping):
        _usage(
            inv,
            usage.get("input_tokens"),
            usage.get("output_tokens"),
            usage.get("cache_read_input_tokens"),
            usage.get("cache_creation_input_tokens"),
        )


def _anthropic_response(inv: Invocation, body: Mapping[str, Any], content: bool) -> None:
    inv.response_id = _str(body.get("id"))
    inv.response_model = _str(body.get("model"))
    reason = _str(body.get("stop_reason"))
    inv.finish_reasons = [reason] if reason else None
    _anthropic_usage(inv, body.get("usage"))
    if content:
        inv.output_messages = [_output(_anthropic_parts(body.get("content")), reason)]


class _Chunks:
    """The shared part of a family's stream reader: the invocation metrics Bedrock adds to the last
    chunk (the usage of families whose chunks carry none)."""

    __slots__ = ("content", "metrics", "reason")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.reason: str | None = None
        self.metrics: object = None

    def process(self, chunk: Any) -> bool:
        if isinstance(chunk, Mapping):
            metrics = chunk.get(_METRICS)
            if metrics is not None:
                self.metrics = metrics
            self.read(chunk)
        return False

    def read(self, chunk: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def apply(self, inv: Invocation) -> None:
        inv.finish_reasons = [self.reason] if self.reason else None
        self.finish(inv)
        if isinstance(self.metrics, Mapping):
            if inv.input_tokens is None:
                inv.input_tokens = _int(self.metrics.get("inputTokenCount"))
            if inv.output_tokens is None:
                inv.output_tokens = _int(self.metrics.get("outputTokenCount"))

    def finish(self, inv: Invocation) -> None:
        raise NotImplementedError


class _AnthropicChunks(_Chunks):
    __slots__ = ("blocks", "id", "model", "usage_end", "usage_start")

    def __init__(self, content: bool) -> None:
        super().__init__(content)
        self.id: str | None = None
        self.model: str | None = None
        self.usage_start: object = None
        self.usage_end: object = None
        self.blocks: dict[int, dict[str, Any]] = {}

    def read(self, chunk: Mapping[str, Any]) -> None:
        kind = chunk.get("type")
        if kind == "message_start":
            message = chunk.get("message")
            self.id = _str(_get(message, "id"))
            self.model = _str(_get(message, "model"))
            self.usage_start = _get(message, "usage")
        elif kind == "message_delta":
            self.reason = _str(_get(chunk.get("delta"), "stop_reason")) or self.reason
            self.usage_end = chunk.get("usage")
        elif not self.content:
            return
        elif kind == "content_block_start":
            [part] = _anthropic_parts([chunk.get("content_block")])
            if part["type"] == "tool_call":
                part["arguments"] = []
            else:
                part["content"] = [part.get("content") or ""]
            self.blocks[_int(chunk.get("index")) or 0] = part
        elif kind == "content_block_delta":
            open_part = self.blocks.get(_int(chunk.get("index")) or 0)
            delta = chunk.get("delta")
            piece = _get(delta, "text") or _get(delta, "partial_json") or _get(delta, "thinking")
            if open_part is None or type(piece) is not str:
                return
            key = "arguments" if open_part["type"] == "tool_call" else "content"
            if isinstance(open_part.get(key), list):
                open_part[key].append(piece)

    def finish(self, inv: Invocation) -> None:
        inv.response_id = self.id
        inv.response_model = self.model
        start = self.usage_start if isinstance(self.usage_start, Mapping) else {}
        end = self.usage_end if isinstance(self.usage_end, Mapping) else {}
        _anthropic_usage(inv, {**start, **end})
        if self.content:
            inv.output_messages = [_output(_joined(self.blocks), self.reason)]


# Meta Llama (prompt → generation).
def _llama_request(inv: Invocation, body: Mapping[str, Any]) -> None:
    inv.max_tokens = _int(body.get("max_gen_len"))
    inv.temperature = _num(body.get("temperature"))
    inv.top_p = _num(body.get("top_p"))


def _prompt_input(inv: Invocation, body: Mapping[str, Any]) -> None:
    inv.input_messages = [_text_message("user", body.get("prompt"))]


def _llama_response(inv: Invocation, body: Mapping[str, Any], content: bool) -> None:
    reason = _str(body.get("stop_reason"))
    inv.finish_reasons = [reason] if reason else None
    _usage(inv, body.get("prompt_token_count"), body.get("generation_token_count"))
    if content:
        inv.output_messages = [_output(_text_message("", body.get("generation"))["parts"], reason)]


class _TextChunks(_Chunks):
    """Chunks that each carry a piece of one generated text (Llama, Titan, Mistral)."""

    __slots__ = ("input", "output", "texts")
    text_key = ""
    reason_key = ""

    def __init__(self, content: bool) -> None:
        super().__init__(content)
        self.texts: list[str] = []
        self.input: object = None
        self.output: object = None

    def piece(self, chunk: Mapping[str, Any]) -> Mapping[str, Any]:
        return chunk

    def read(self, chunk: Mapping[str, Any]) -> None:
        piece = self.piece(chunk)
        text = piece.get(self.text_key)
        if self.content and type(text) is str:
            self.texts.append(text)
        self.reason = _str(piece.get(self.reason_key)) or self.reason
        self.counts(chunk)

    def counts(self, chunk: Mapping[str, Any]) -> None:
        """Token counts in a chunk (none by default: the invocation metrics give them)."""

    def finish(self, inv: Invocation) -> None:
        _usage(inv, self.input, self.output)
        if self.content:
            inv.output_messages = [
                _output([{"type": "text", "content": "".join(self.texts)}], self.reason)
            ]


class _LlamaChunks(_TextChunks):
    __slots__ = ()
    text_key = "generation"
    reason_key = "stop_reason"

    def counts(self, chunk: Mapping[str, Any]) -> None:
        self.input = chunk.get("prompt_token_count") or self.input
        self.output = chunk.get("generation_token_count") or self.output


# Amazon Titan text (inputText → results) and embeddings.
def _titan_request(inv: Invocation, body: Mapping[str, Any]) -> None:
    config = body.get("textGenerationConfig")
    if isinstance(config, Mapping):
        inv.max_tokens = _int(config.get("maxTokenCount"))
        inv.temperature = _num(config.get("temperature"))
        inv.top_p = _num(config.get("topP"))
        inv.stop_sequences = _stop(config.get("stopSequences"))


def _titan_input(inv: Invocation, body: Mapping[str, Any]) -> None:
    inv.input_messages = [_text_message("user", body.get("inputText"))]


def _titan_response(inv: Invocation, body: Mapping[str, Any], content: bool) -> None:
    results = body.get("results")
    results = [r for r in results if isinstance(r, Mapping)] if isinstance(results, list) else []
    reasons = [r for r in (_str(x.get("completionReason")) for x in results) if r]
    inv.finish_reasons = reasons or None
    counts = [_int(r.get("tokenCount")) for r in results]
    output = sum(c for c in counts if c is not None) if any(c is not None for c in counts) else None
    _usage(inv, body.get("inputTextTokenCount"), output)
    if content:
        inv.output_messages = [
            _output(
                _text_message("", r.get("outputText"))["parts"], _str(r.get("completionReason"))
            )
            for r in results
        ]


class _TitanChunks(_TextChunks):
    __slots__ = ()
    text_key = "outputText"
    reason_key = "completionReason"

    def counts(self, chunk: Mapping[str, Any]) -> None:
        self.input = chunk.get("inputTextTokenCount") or self.input
        self.output = chunk.get("totalOutputTextTokenCount") or self.output


def _embed_request(inv: Invocation, body: Mapping[str, Any]) -> None:
    return None


def _embed_response(inv: Invocation, body: Mapping[str, Any], content: bool) -> None:
    inv.input_tokens = _int(body.get("inputTextTokenCount"))
    vector = body.get("embedding")
    if isinstance(vector, list):
        inv.dimension_count = len(vector)


# Amazon Nova (messages-v1: Converse-like blocks).
def _nova_request(inv: Invocation, body: Mapping[str, Any]) -> None:
    config = body.get("inferenceConfig")
    if isinstance(config, Mapping):
        inv.max_tokens = _int(config.get("maxTokens", config.get("max_new_tokens")))
        inv.temperature = _num(config.get("temperature"))
        inv.top_p = _num(config.get("topP", config.get("top_p")))
        inv.top_k = _num(config.get("topK", config.get("top_k")))
        inv.stop_sequences = _stop(config.get("stopSequences"))


def _nova_input(inv: Invocation, body: Mapping[str, Any]) -> None:
    converse_input(inv, body)


def _nova_usage(inv: Invocation, usage: object) -> None:
    if isinstance(usage, Mapping):
        _usage(
            inv,
            usage.get("inputTokens"),
            usage.get("outputTokens"),
            usage.get("cacheReadInputTokenCount"),
            usage.get("cacheWriteInputTokenCount"),
        )


def _nova_response(inv: Invocation, body: Mapping[str, Any], content: bool) -> None:
    reason = _str(body.get("stopReason"))
    inv.finish_reasons = [reason] if reason else None
    _nova_usage(inv, body.get("usage"))
    if content:
        message = _get(body.get("output"), "message")
        inv.output_messages = [_output(_blocks(_get(message, "content")), reason)]


class _NovaChunks(_Chunks):
    __slots__ = ("events",)

    def __init__(self, content: bool) -> None:
        super().__init__(content)
        self.events = ConverseEvents(content)

    def read(self, chunk: Mapping[str, Any]) -> None:
        self.events.process(chunk)

    def finish(self, inv: Invocation) -> None:
        events = self.events
        self.reason = events.reason
        inv.finish_reasons = [events.reason] if events.reason else None
        _nova_usage(inv, events.usage)
        if self.content:
            inv.output_messages = [_output(_joined(events.blocks), events.reason)]


# Mistral: the prompt form (outputs) and the chat form (messages → choices).
def _mistral_request(inv: Invocation, body: Mapping[str, Any]) -> None:
    inv.max_tokens = _int(body.get("max_tokens"))
    inv.temperature = _num(body.get("temperature"))
    inv.top_p = _num(body.get("top_p"))
    inv.top_k = _num(body.get("top_k"))
    inv.stop_sequences = _stop(body.get("stop"))


def _mistral_response(inv: Invocation, body: Mapping[str, Any], content: bool) -> None:
    outputs = body.get("outputs")
    outputs = [o for o in outputs if isinstance(o, Mapping)] if isinstance(outputs, list) else []
    reasons = [r for r in (_str(o.get("stop_reason")) for o in outputs) if r]
    inv.finish_reasons = reasons or None
    if content:
        inv.output_messages = [
            _output(_text_message("", o.get("text"))["parts"], _str(o.get("stop_reason")))
            for o in outputs
        ]


class _MistralChunks(_TextChunks):
    __slots__ = ()
    text_key = "text"
    reason_key = "stop_reason"

    def piece(self, chunk: Mapping[str, Any]) -> Mapping[str, Any]:
        outputs = chunk.get("outputs")
        first = outputs[0] if isinstance(outputs, list) and outputs else None
        return first if isinstance(first, Mapping) else {}


def _chat_message_parts(message: object) -> list[dict[str, Any]]:
    content = _get(message, "content")
    parts = _text_message("", content)["parts"] if type(content) is str else _blocks(content)
    for call in _get(message, "tool_calls") or ():
        function = _get(call, "function")
        arguments = _get(function, "arguments")
        parts.append(
            {
                "type": "tool_call",
                "id": _get(call, "id"),
                "name": _get(function, "name"),
                "arguments": _json_or_text(arguments) if type(arguments) is str else arguments,
            }
        )
    return parts


def _mistral_chat_input(inv: Invocation, body: Mapping[str, Any]) -> None:
    messages = body.get("messages")
    inv.input_messages = [
        {"role": str(_get(m, "role") or "user"), "parts": _chat_message_parts(m)}
        for m in (messages if isinstance(messages, list) else ())
        if isinstance(m, Mapping)
    ]


def _mistral_chat_response(inv: Invocation, body: Mapping[str, Any], content: bool) -> None:
    choices = body.get("choices")
    choices = [c for c in choices if isinstance(c, Mapping)] if isinstance(choices, list) else []
    reasons = [r for r in (_str(c.get("stop_reason")) for c in choices) if r]
    inv.finish_reasons = reasons or None
    if content:
        inv.output_messages = [
            _output(_chat_message_parts(c.get("message")), _str(c.get("stop_reason")))
            for c in choices
        ]


class _MistralChatChunks(_TextChunks):
    __slots__ = ()
    text_key = "content"
    reason_key = "stop_reason"

    def piece(self, chunk: Mapping[str, Any]) -> Mapping[str, Any]:
        choices = chunk.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        if not isinstance(first, Mapping):
            return {}
        message = first.get("message") or first.get("delta")
        text = _get(message, "content")
        return {"content": text, "stop_reason": first.get("stop_reason")}


ANTHROPIC = Family(
    "anthropic",
    "chat",
    request=_anthropic_request,
    content=_anthropic_input,
    response=_anthropic_response,
    chunks=_AnthropicChunks,
    delta=b"content_block_delta",
)
LLAMA = Family(
    "llama",
    "text_completion",
    request=_llama_request,
    content=_prompt_input,
    response=_llama_response,
    chunks=_LlamaChunks,
)
TITAN = Family(
    "titan",
    "text_completion",
    request=_titan_request,
    content=_titan_input,
    response=_titan_response,
    chunks=_TitanChunks,
)
TITAN_EMBED = Family(
    "titan-embed",
    "embeddings",
    request=_embed_request,
    content=_titan_input,
    response=_embed_response,
)
NOVA = Family(
    "nova",
    "chat",
    request=_nova_request,
    content=_nova_input,
    response=_nova_response,
    chunks=_NovaChunks,
)
MISTRAL = Family(
    "mistral",
    "text_completion",
    request=_mistral_request,
    content=_prompt_input,
    response=_mistral_response,
    chunks=_MistralChunks,
)
MISTRAL_CHAT = Family(
    "mistral-chat",
    "chat",
    request=_mistral_request,
    content=_mistral_chat_input,
    response=_mistral_chat_response,
    chunks=_MistralChatChunks,
)


def family_of(model: str | None, body: Mapping[str, Any]) -> Family | None:
    """The family of an InvokeModel call, by its model id, else by the body's keys; ``None`` for a
    model family this instrumentation does not read (its span still has model, usage, duration)."""
    name = model or ""
    vendor = name.partition(".")[0]
    if vendor == "anthropic" or "anthropic_version" in body:
        return ANTHROPIC
    if vendor == "meta":
        return LLAMA
    if vendor == "amazon":
        if name.startswith("amazon.titan-embed"):
            return TITAN_EMBED
        return TITAN if name.startswith("amazon.titan") else NOVA
    if vendor == "mistral":
        return MISTRAL_CHAT if "messages" in body else MISTRAL
    if "inputText" in body:
        return TITAN_EMBED if "textGenerationConfig" not in body and "dimensions" in body else TITAN
    if "schemaVersion" in body or "inferenceConfig" in body:
        return NOVA
    if "max_gen_len" in body:
        return LLAMA
    return None


class _MetricsOnly(_Chunks):
    """The stream of a family this instrumentation does not read: the invocation metrics only."""

    __slots__ = ()

    def read(self, chunk: Mapping[str, Any]) -> None:
        return None

    def finish(self, inv: Invocation) -> None:
        return None


class InvokeChunks:
    """Accumulates InvokeModelWithResponseStream's ``chunk`` events: each one's ``bytes`` is the
    model family's own chunk JSON."""

    __slots__ = ("reader", "skip")

    def __init__(self, family: Family | None, content: bool) -> None:
        chunks = family.chunks if family is not None and family.chunks is not None else _MetricsOnly
        self.reader = chunks(content)
        self.skip = None if content or family is None else family.delta

    def process(self, event: Any) -> bool:
        # botocore parses each event into a dict: {"chunk": {"bytes": b"..."}}. Per event, the
        # cheapest reads (no Mapping check, no slice): most events are content deltas, skipped
        # unparsed when content is not captured.
        chunk = event.get("chunk") if type(event) is dict else None
        data = chunk.get("bytes") if type(chunk) is dict else None
        if type(data) is bytes:
            skip = self.skip
            if skip is not None and data.find(skip, 0, 32) >= 0:
                return False
            self.reader.process(json.loads(data))
        return False

    def apply(self, inv: Invocation) -> None:
        self.reader.apply(inv)
