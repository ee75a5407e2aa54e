"""What an MCP request and its outcome say, as the attributes of the MCP semantic conventions.

Readers over mcp 1.x's pydantic models. Every reader tolerates any shape (a user may send a request
model of their own through ``send_request``) and returns ``None`` for what it cannot read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import wrapt

from llmotel.semconv import attributes as A

_EXECUTE_TOOL = A.GenAiOperationNameValues.EXECUTE_TOOL.value
TOOL_ERROR = "tool_error"  # error.type of a tools/call whose result has isError (semconv mcp)


def field(model: Any, name: str) -> Any:
    """Field ``name`` of a pydantic model (``None`` if it has none), read from the instance dict:
    ``getattr`` of a missing name goes through pydantic's slow ``__getattr__``."""
    try:
        return vars(model).get(name)
    except TypeError:  # no instance dict: not a model
        return None


def root_of(request: Any) -> Any:
    """The model inside a ``ClientRequest`` / ``ServerResult`` … root model; ``request`` itself
    when it is not one."""
    root = field(request, "root")
    return request if root is None else root


def method_of(root: Any) -> str | None:
    method = getattr(root, "method", None)
    return method if isinstance(method, str) else None


def param(root: Any, name: str) -> Any:
    return field(field(root, "params"), name)


def request_attributes(root: Any, method: str, content: bool) -> tuple[str, dict[str, Any]]:
    """``(span name, attributes)`` of a request: ``{mcp.method.name} {target}`` where the target is
    the tool or prompt name (never the resource URI: unbounded cardinality). With ``content``, a
    tool call's arguments too (``gen_ai.tool.call.arguments``, JSON)."""
    attrs: dict[str, Any] = {A.MCP_METHOD_NAME: method}
    target = None
    if method == "tools/call":
        name = param(root, "name")
        attrs[A.GEN_AI_OPERATION_NAME] = _EXECUTE_TOOL
        if isinstance(name, str):
            attrs[A.GEN_AI_TOOL_NAME] = target = name
        if content:
            attrs[A.GEN_AI_TOOL_CALL_ARGUMENTS] = json.dumps(
                param(root, "arguments") or {}, default=str
            )
    elif method == "prompts/get":
        name = param(root, "name")
        if isinstance(name, str):
            attrs[A.GEN_AI_PROMPT_NAME] = target = name
    elif method.startswith("resources/") and method != "resources/list":
        uri = param(root, "uri")
        if uri is not None:
            attrs[A.MCP_RESOURCE_URI] = str(uri)
    return (f"{method} {target}" if target else method), attrs


def tool_result(result: Any) -> str | None:
    """A ``CallToolResult`` as the JSON it goes over the wire as (``gen_ai.tool.call.result``)."""
    result = root_of(result)
    if isinstance(result, Mapping):
        return json.dumps(result, default=str)
    dump = getattr(type(result), "model_dump_json", None)
    return dump(result, by_alias=True, exclude_none=True) if callable(dump) else None


def is_tool_error(result: Any) -> bool:
    """Whether a result is a ``CallToolResult`` with ``isError`` (the model or its wire dict)."""
    result = root_of(result)
    if isinstance(result, Mapping):
        return result.get("isError") is True
    return field(result, "isError") is True


def meta_carrier(root: Any) -> dict[str, Any] | None:
    """The ``params._meta`` of a received request as a dict (the W3C trace context carrier)."""
    meta = param(root, "meta")
    if meta is None:
        return None
    if isinstance(meta, Mapping):
        return dict(meta)
    extra = getattr(meta, "__pydantic_extra__", None)  # where unknown keys like traceparent live
    if isinstance(extra, dict):
        return extra
    dump = getattr(meta, "model_dump", None)
    return dump() if callable(dump) else None


class _WithMeta(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    """The request, as the session sends it: ``model_dump`` (what ``send_request`` serializes) adds
    the carrier to ``params._meta``. Everything else, ``isinstance`` included, is the request's own,
    and the caller's request object is never changed."""

    __slots__ = ("_self_carrier",)

    def __init__(self, request: Any, carrier: Mapping[str, str]) -> None:
        super().__init__(request)
        self._self_carrier = carrier

    def model_dump(self, *args: Any, **kwargs: Any) -> Any:
        data = self.__wrapped__.model_dump(*args, **kwargs)
        if isinstance(data, dict):
            params = data.get("params")
            if not isinstance(params, dict):
                params = data["params"] = {}
            key = "_meta" if kwargs.get("by_alias") else "meta"
            meta = params.get(key)
            params[key] = (
                {**meta, **self._self_carrier}
                if isinstance(meta, dict)
                else dict(self._self_carrier)
            )
        return data


def with_meta(request: Any, carrier: Mapping[str, str]) -> Any:
    """``request`` as it goes out with ``carrier`` (the W3C trace context) in ``params._meta``."""
    return _WithMeta(request, carrier) if carrier else request
