"""Typed message structures of the GenAI conventions and their JSON codec.

The models mirror the JSON schemas of semantic-conventions v1.41.0 (``docs/gen-ai/*.json``) for
``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.system_instructions``,
``gen_ai.tool.definitions`` and ``gen_ai.retrieval.documents``::

    from llmotel.semconv.messages import InputMessage, TextPart, encode_input_messages

    value = encode_input_messages([InputMessage("user", [TextPart("Weather in Paris?")])])
    # '[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]'

``encode_*`` return the compact JSON string to put on a span attribute; ``to_dicts`` returns the
structured form (lists of dicts) for log/event bodies and AnyValue attributes. ``decode_*`` accept
either form and raise :class:`MessageDecodeError` (a ``ValueError``) on input the schema rejects.

What the schemas allow, the codec keeps: fields a model does not name are kept in its ``extra``
dict, and part (or tool definition) types it does not know, or known types whose fields do not fit,
become :class:`GenericPart` (:class:`GenericToolDefinition`) with every field kept, as the schemas'
``GenericPart`` fallback does. So ``encode(decode(x))`` gives ``x`` back, except that an optional
field explicitly set to ``null`` (the schema default) is left out.

Encoding builds plain dicts by hand and calls ``json.dumps`` once with compact separators; no
per-field reflection, so instrumentations can call it on the hot path.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeAlias, TypeVar

__all__ = [
    "BlobPart",
    "FilePart",
    "FinishReason",
    "FunctionToolDefinition",
    "GenericPart",
    "GenericToolDefinition",
    "InputMessage",
    "MessageDecodeError",
    "Modality",
    "OutputMessage",
    "Part",
    "ReasoningPart",
    "RetrievalDocument",
    "Role",
    "ServerToolCallPart",
    "ServerToolCallResponsePart",
    "TextPart",
    "ToolCallRequestPart",
    "ToolCallResponsePart",
    "ToolDefinition",
    "UriPart",
    "decode_input_messages",
    "decode_output_messages",
    "decode_parts",
    "decode_retrieval_documents",
    "decode_system_instructions",
    "decode_tool_definitions",
    "encode_input_messages",
    "encode_output_messages",
    "encode_retrieval_documents",
    "encode_system_instructions",
    "encode_tool_definitions",
    "to_dicts",
]


class Role(StrEnum):
    """Well-known message roles (any other string is allowed)."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class Modality(StrEnum):
    """Well-known modalities of blob, file and uri parts (any other string is allowed)."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class FinishReason(StrEnum):
    """Well-known finish reasons of an output message (any other string is allowed)."""

    STOP = "stop"
    LENGTH = "length"
    CONTENT_FILTER = "content_filter"
    TOOL_CALL = "tool_call"
    ERROR = "error"


class MessageDecodeError(ValueError):
    """The value is not valid JSON or does not follow the conventions' schema.

    ``path`` says where, e.g. ``"[1].parts[0].content"`` (``""`` for the value itself).
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


# --------------------------------------------------------------------------------------------------
# Parts


@dataclass(slots=True)
class TextPart:
    """Text sent to or received from the model."""

    content: str
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "text"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "text", "content": self.content}
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class ToolCallRequestPart:
    """A tool call requested by the model. ``arguments`` should be an object (decoded JSON)."""

    name: str
    id: str | None = None
    arguments: Any = None
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "tool_call"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "tool_call"}
        if self.id is not None:
            d["id"] = self.id
        d["name"] = self.name
        if self.arguments is not None:
            d["arguments"] = self.arguments
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class ToolCallResponsePart:
    """The result of a tool call, sent back to the model (``response`` may be any JSON value)."""

    response: Any
    id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "tool_call_response"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "tool_call_response"}
        if self.id is not None:
            d["id"] = self.id
        d["response"] = self.response
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class ServerToolCallPart:
    """A tool call the provider executed itself (code interpreter, web search...).

    ``server_tool_call`` is an object with at least a ``type`` string.
    """

    name: str
    server_tool_call: dict[str, Any]
    id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "server_tool_call"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "server_tool_call"}
        if self.id is not None:
            d["id"] = self.id
        d["name"] = self.name
        d["server_tool_call"] = self.server_tool_call
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class ServerToolCallResponsePart:
    """The result of a server tool call (an object with at least a ``type`` string)."""

    server_tool_call_response: dict[str, Any]
    id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "server_tool_call_response"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "server_tool_call_response"}
        if self.id is not None:
            d["id"] = self.id
        d["server_tool_call_response"] = self.server_tool_call_response
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class BlobPart:
    """Binary data sent inline. ``content`` is base64 text; bytes are base64-encoded on encode."""

    modality: str
    content: str | bytes
    mime_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "blob"

    def to_dict(self) -> dict[str, Any]:
        content = self.content
        if not isinstance(content, str):
            content = base64.b64encode(content).decode("ascii")
        d: dict[str, Any] = {"type": "blob"}
        if self.mime_type is not None:
            d["mime_type"] = self.mime_type
        d["modality"] = self.modality
        d["content"] = content
        if self.extra:
            d.update(self.extra)
        return d

    def data(self) -> bytes:
        """The raw bytes (``content`` decoded from base64 when it is text)."""
        if isinstance(self.content, bytes):
            return self.content
        try:
            return base64.b64decode(self.content, validate=True)
        except binascii.Error as exc:
            raise MessageDecodeError(f"blob content is not base64: {exc}") from exc


@dataclass(slots=True)
class FilePart:
    """A file the provider already holds, referenced by id."""

    modality: str
    file_id: str
    mime_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "file"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "file"}
        if self.mime_type is not None:
            d["mime_type"] = self.mime_type
        d["modality"] = self.modality
        d["file_id"] = self.file_id
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class UriPart:
    """Data referenced by URI (not a base64 ``data:`` URL: that is a :class:`BlobPart`)."""

    modality: str
    uri: str
    mime_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "uri"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "uri"}
        if self.mime_type is not None:
            d["mime_type"] = self.mime_type
        d["modality"] = self.modality
        d["uri"] = self.uri
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class ReasoningPart:
    """Reasoning ("thinking") content received from the model."""

    content: str
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "reasoning"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "reasoning", "content": self.content}
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class GenericPart:
    """Any other part: its ``type`` and every other field (in ``extra``) kept as they are."""

    type: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type}
        if self.extra:
            d.update(self.extra)
        return d


Part: TypeAlias = (
    TextPart
    | ToolCallRequestPart
    | ToolCallResponsePart
    | ServerToolCallPart
    | ServerToolCallResponsePart
    | BlobPart
    | FilePart
    | UriPart
    | ReasoningPart
    | GenericPart
)


# --------------------------------------------------------------------------------------------------
# Messages, tool definitions, retrieval documents


@dataclass(slots=True)
class InputMessage:
    """One message of the chat history sent to the model (``gen_ai.input.messages``)."""

    role: str
    parts: list[Part]
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "parts": [p.to_dict() for p in self.parts]}
        if self.name is not None:
            d["name"] = self.name
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class OutputMessage:
    """One choice/candidate returned by the model (``gen_ai.output.messages``)."""

    role: str
    parts: list[Part]
    finish_reason: str
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "parts": [p.to_dict() for p in self.parts]}
        if self.name is not None:
            d["name"] = self.name
        d["finish_reason"] = self.finish_reason
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class FunctionToolDefinition:
    """A function tool the model may call; ``parameters`` is a JSON Schema (draft-07) document."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    type: ClassVar[str] = "function"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "function", "name": self.name}
        if self.description is not None:
            d["description"] = self.description
        if self.parameters is not None:
            d["parameters"] = self.parameters
        if self.extra:
            d.update(self.extra)
        return d


@dataclass(slots=True)
class GenericToolDefinition:
    """Any other tool (provider built-ins such as ``web_search``), every field kept."""

    type: str
    name: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type, "name": self.name}
        if self.extra:
            d.update(self.extra)
        return d


ToolDefinition: TypeAlias = FunctionToolDefinition | GenericToolDefinition


@dataclass(slots=True)
class RetrievalDocument:
    """A document returned by a retrieval (``gen_ai.retrieval.documents``)."""

    id: str
    score: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "score": self.score}
        if self.extra:
            d.update(self.extra)
        return d


# --------------------------------------------------------------------------------------------------
# Encoding

_Model: TypeAlias = Part | InputMessage | OutputMessage | ToolDefinition | RetrievalDocument
_Item: TypeAlias = _Model | Mapping[str, Any]


def to_dicts(items: Iterable[_Item]) -> list[Any]:
    """The structured form (plain dicts) of models, for event bodies; dicts pass through as is."""
    return [item if isinstance(item, Mapping) else item.to_dict() for item in items]


def _dumps(items: Iterable[_Item]) -> str:
    return _ENCODER.encode(
        [item if isinstance(item, Mapping) else item.to_dict() for item in items]
    )


def _default(value: object) -> Any:
    # Reached only by values JSON has no type for, which come from provider SDK objects in tool
    # arguments or results: keep what JSON can express rather than failing the call.
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset):
        return list(value)
    dump = getattr(value, "model_dump", None) or getattr(value, "to_dict", None)
    if callable(dump):
        return dump()
    return str(value)


# One encoder, built once: json.dumps with non-default options would build one per call.
# Non-ASCII text stays as is (smaller and readable in backends) at a small cost in speed.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)


def encode_input_messages(messages: Iterable[InputMessage | Mapping[str, Any]]) -> str:
    """``gen_ai.input.messages`` as a compact JSON string."""
    return _dumps(messages)


def encode_output_messages(messages: Iterable[OutputMessage | Mapping[str, Any]]) -> str:
    """``gen_ai.output.messages`` as a compact JSON string."""
    return _dumps(messages)


def encode_system_instructions(parts: Iterable[Part | Mapping[str, Any]]) -> str:
    """``gen_ai.system_instructions`` (a list of parts) as a compact JSON string."""
    return _dumps(parts)


def encode_tool_definitions(tools: Iterable[ToolDefinition | Mapping[str, Any]]) -> str:
    """``gen_ai.tool.definitions`` as a compact JSON string."""
    return _dumps(tools)


def encode_retrieval_documents(documents: Iterable[RetrievalDocument | Mapping[str, Any]]) -> str:
    """``gen_ai.retrieval.documents`` as a compact JSON string."""
    return _dumps(documents)


# --------------------------------------------------------------------------------------------------
# Decoding

_T = TypeVar("_T")
_Source: TypeAlias = str | bytes | bytearray | Sequence[Any]


def _load_list(value: _Source) -> Sequence[Any]:
    if isinstance(value, str | bytes | bytearray):
        try:
            value = json.loads(value)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MessageDecodeError(f"not valid JSON: {exc}") from exc
    if isinstance(value, Mapping) or not isinstance(value, Sequence) or isinstance(value, str):
        raise MessageDecodeError(f"expected an array, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "an array"
    return type(value).__name__


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MessageDecodeError(f"expected an object, got {_kind(value)}", path)
    return value


def _string(obj: Mapping[str, Any], key: str, path: str) -> str:
    if key not in obj:
        raise MessageDecodeError(f"missing required {key!r}", path)
    value = obj[key]
    if not isinstance(value, str):
        raise MessageDecodeError(f"expected a string, got {_kind(value)}", f"{path}.{key}")
    return value


def _optional_string(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise MessageDecodeError(f"expected a string or null, got {_kind(value)}", f"{path}.{key}")
    return value


def _extra(obj: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in known}


class _Mismatch(Exception):
    """A known part type whose fields do not fit: it falls back to the generic form."""


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _Mismatch
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise _Mismatch
    return value


def _obj(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        raise _Mismatch
    return dict(value)


_TEXT_KEYS = frozenset({"type", "content"})
_TOOL_CALL_KEYS = frozenset({"type", "id", "name", "arguments"})
_TOOL_RESPONSE_KEYS = frozenset({"type", "id", "response"})
_SERVER_CALL_KEYS = frozenset({"type", "id", "name", "server_tool_call"})
_SERVER_RESPONSE_KEYS = frozenset({"type", "id", "server_tool_call_response"})
_BLOB_KEYS = frozenset({"type", "mime_type", "modality", "content"})
_FILE_KEYS = frozenset({"type", "mime_type", "modality", "file_id"})
_URI_KEYS = frozenset({"type", "mime_type", "modality", "uri"})
_TYPE_KEYS = frozenset({"type"})


def _text(o: Mapping[str, Any]) -> Part:
    return TextPart(_str(o, "content"), _extra(o, _TEXT_KEYS))


def _reasoning(o: Mapping[str, Any]) -> Part:
    return ReasoningPart(_str(o, "content"), _extra(o, _TEXT_KEYS))


def _tool_call(o: Mapping[str, Any]) -> Part:
    return ToolCallRequestPart(
        _str(o, "name"), _opt_str(o, "id"), o.get("arguments"), _extra(o, _TOOL_CALL_KEYS)
    )


def _tool_response(o: Mapping[str, Any]) -> Part:
    if "response" not in o:
        raise _Mismatch
    return ToolCallResponsePart(o["response"], _opt_str(o, "id"), _extra(o, _TOOL_RESPONSE_KEYS))


def _server_call(o: Mapping[str, Any]) -> Part:
    return ServerToolCallPart(
        _str(o, "name"),
        _obj(o, "server_tool_call"),
        _opt_str(o, "id"),
        _extra(o, _SERVER_CALL_KEYS),
    )


def _server_response(o: Mapping[str, Any]) -> Part:
    return ServerToolCallResponsePart(
        _obj(o, "server_tool_call_response"), _opt_str(o, "id"), _extra(o, _SERVER_RESPONSE_KEYS)
    )


def _blob(o: Mapping[str, Any]) -> Part:
    return BlobPart(
        _str(o, "modality"), _str(o, "content"), _opt_str(o, "mime_type"), _extra(o, _BLOB_KEYS)
    )


def _file(o: Mapping[str, Any]) -> Part:
    return FilePart(
        _str(o, "modality"), _str(o, "file_id"), _opt_str(o, "mime_type"), _extra(o, _FILE_KEYS)
    )


def _uri(o: Mapping[str, Any]) -> Part:
    return UriPart(
        _str(o, "modality"), _str(o, "uri"), _opt_str(o, "mime_type"), _extra(o, _URI_KEYS)
    )


_PARTS: dict[str, Callable[[Mapping[str, Any]], Part]] = {
    "text": _text,
    "tool_call": _tool_call,
    "tool_call_response": _tool_response,
    "server_tool_call": _server_call,
    "server_tool_call_response": _server_response,
    "blob": _blob,
    "file": _file,
    "uri": _uri,
    "reasoning": _reasoning,
}


def _part(value: object, path: str) -> Part:
    obj = _object(value, path)
    type_ = _string(obj, "type", path)
    build = _PARTS.get(type_)
    if build is not None:
        try:
            return build(obj)
        except _Mismatch:
            pass
    return GenericPart(type_, _extra(obj, _TYPE_KEYS))


def _parts(obj: Mapping[str, Any], path: str) -> list[Part]:
    if "parts" not in obj:
        raise MessageDecodeError("missing required 'parts'", path)
    parts = obj["parts"]
    if isinstance(parts, str | bytes | Mapping) or not isinstance(parts, Sequence):
        raise MessageDecodeError(f"expected an array, got {_kind(parts)}", f"{path}.parts")
    return [_part(p, f"{path}.parts[{i}]") for i, p in enumerate(parts)]


_INPUT_KEYS = frozenset({"role", "parts", "name"})
_OUTPUT_KEYS = frozenset({"role", "parts", "name", "finish_reason"})


def _input_message(value: object, path: str) -> InputMessage:
    obj = _object(value, path)
    return InputMessage(
        _string(obj, "role", path),
        _parts(obj, path),
        _optional_string(obj, "name", path),
        _extra(obj, _INPUT_KEYS),
    )


def _output_message(value: object, path: str) -> OutputMessage:
    obj = _object(value, path)
    return OutputMessage(
        _string(obj, "role", path),
        _parts(obj, path),
        _string(obj, "finish_reason", path),
        _optional_string(obj, "name", path),
        _extra(obj, _OUTPUT_KEYS),
    )


_FUNCTION_KEYS = frozenset({"type", "name", "description", "parameters"})
_GENERIC_TOOL_KEYS = frozenset({"type", "name"})


def _tool_definition(value: object, path: str) -> ToolDefinition:
    obj = _object(value, path)
    type_ = _string(obj, "type", path)
    name = _string(obj, "name", path)
    if type_ == "function":
        description = obj.get("description")
        parameters = obj.get("parameters")
        # Otherwise it is still a valid GenericToolDefinition, as in the schema's anyOf.
        if (description is None or isinstance(description, str)) and (
            parameters is None or isinstance(parameters, Mapping | bool)
        ):
            if isinstance(parameters, Mapping):
                parameters = dict(parameters)
            return FunctionToolDefinition(
                name, description, parameters, _extra(obj, _FUNCTION_KEYS)
            )
    return GenericToolDefinition(type_, name, _extra(obj, _GENERIC_TOOL_KEYS))


_DOCUMENT_KEYS = frozenset({"id", "score"})


def _retrieval_document(value: object, path: str) -> RetrievalDocument:
    obj = _object(value, path)
    id_ = _string(obj, "id", path)
    if "score" not in obj:
        raise MessageDecodeError("missing required 'score'", path)
    score = obj["score"]
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise MessageDecodeError(f"expected a number, got {_kind(score)}", f"{path}.score")
    return RetrievalDocument(id_, score, _extra(obj, _DOCUMENT_KEYS))


def _decode(value: _Source, item: Callable[[object, str], _T]) -> list[_T]:
    return [item(v, f"[{i}]") for i, v in enumerate(_load_list(value))]


def decode_input_messages(value: _Source) -> list[InputMessage]:
    """``gen_ai.input.messages`` from its JSON string or structured (list of dicts) form."""
    return _decode(value, _input_message)


def decode_output_messages(value: _Source) -> list[OutputMessage]:
    """``gen_ai.output.messages`` from its JSON string or structured form."""
    return _decode(value, _output_message)


def decode_system_instructions(value: _Source) -> list[Part]:
    """``gen_ai.system_instructions`` (a list of parts) from its JSON string or structured form."""
    return _decode(value, _part)


def decode_parts(value: _Source) -> list[Part]:
    """Any list of message parts, from a JSON string or structured form."""
    return _decode(value, _part)


def decode_tool_definitions(value: _Source) -> list[ToolDefinition]:
    """``gen_ai.tool.definitions`` from its JSON string or structured form."""
    return _decode(value, _tool_definition)


def decode_retrieval_documents(value: _Source) -> list[RetrievalDocument]:
    """``gen_ai.retrieval.documents`` from its JSON string or structured form."""
    return _decode(value, _retrieval_document)
