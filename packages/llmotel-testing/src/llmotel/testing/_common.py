"""What every endpoint shares: the call being answered, response shapes, defaults, schema
instances."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmotel.testing._replies import Reply, StreamError, ToolCall

# The endpoints that stream by their path (Bedrock's), not by a body field.
_STREAMED_PATHS = ("/converse-stream", "/invoke-with-response-stream")

# A fixed clock keeps every response byte-for-byte reproducible: created = CREATED_BASE + request
# number.
CREATED_BASE = 1_750_000_000


@dataclass(frozen=True)
class JsonResponse:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


# One SSE event: (event name or None, data); data that is a str is sent as is (e.g. "[DONE]").
SseEvent = tuple[str | None, Any]


@dataclass(frozen=True)
class StreamResponse:
    events: list[SseEvent]
    # Renders the provider's in-stream error event for a scripted StreamError.
    error_event: Callable[[StreamError], SseEvent]
    content_type: str = "text/event-stream; charset=utf-8"
    # Frames one event for the wire; None: server-sent events (``event:`` / ``data:`` lines).
    encode: Callable[[SseEvent], bytes] | None = None


Rendered = JsonResponse | StreamResponse


@dataclass(frozen=True)
class Call:
    """One request being answered: its number, parsed body, the scripted reply (or None) and
    settings."""

    seq: int
    method: str
    path: str
    body: Any
    reply: Reply | None
    model_suffix: str
    responses_store: dict[str, Any]
    cache_prefixes: set[str]

    @property
    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    @property
    def request_model(self) -> str:
        model = self.json.get("model")
        return model if isinstance(model, str) and model else "stub-model"

    @property
    def model(self) -> str:
        """The response's ``model``: the request's, plus the server's ``model_suffix`` (a dated
        variant)."""
        return self.request_model + self.model_suffix

    @property
    def created(self) -> int:
        return CREATED_BASE + self.seq

    @property
    def stream(self) -> bool:
        # Bedrock says it in the path (converse-stream, invoke-with-response-stream), the rest in the body.
        return self.json.get("stream") is True or self.path.endswith(_STREAMED_PATHS)

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.reply.tool_calls if self.reply is not None else ()

    def scripted_text(self) -> str | None:
        return self.reply.text if self.reply is not None else None


def under(path: str, prefix: str) -> bool:
    """Whether ``path`` is ``prefix`` or a path below it (how a family's ``owns`` claims its
    endpoints)."""
    return path == prefix or path.startswith(prefix + "/")


def default_text(model: str, last_user_text: str | None) -> str:
    """The stub's default answer: ``Stub reply from {model}.`` or, when the request has user text,
    ``Stub reply from {model}: {the last user text}``.
    """
    if last_user_text:
        return f"Stub reply from {model}: {last_user_text}"
    return f"Stub reply from {model}."


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic vector for ``text``: values k/256 - 0.5 (exact in float32, so float and
    base64 agree)."""
    out: list[float] = []
    counter = 0
    while len(out) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out.extend(b / 256 - 0.5 for b in digest)
        counter += 1
    return out[:dimensions]


def schema_instance(schema: Any, defs: Mapping[str, Any] | None = None, depth: int = 0) -> Any:
    """A small deterministic value valid against ``schema`` (JSON Schema as the SDKs' ``parse()``
    send it)."""
    if not isinstance(schema, Mapping) or depth > 20:
        return None
    defs = {**(defs or {}), **schema.get("$defs", {}), **schema.get("definitions", {})}
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return schema_instance(defs.get(name, {}), defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if options:
            non_null = [
                o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")
            ]
            return schema_instance((non_null or options)[0], defs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: schema_instance(v, defs, depth + 1) for k, v in props.items()}
    if kind == "array":
        count = int(schema.get("minItems", 1))
        return [schema_instance(schema.get("items", {}), defs, depth + 1) for _ in range(count)]
    if kind == "string":
        return "stub"
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    return None
