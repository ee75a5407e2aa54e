"""What an MCP request and its outcome say, as the attributes of the MCP semantic conventions.

Readers over mcp 1.x's pydantic models. Every reader tolerates any shape (a user may send a request
model of their own through ``send_request``) and returns ``None`` for what it cannot read.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from llmotel.semconv import attributes as A

_EXECUTE_TOOL = A.GenAiOperationNameValues.EXECUTE_TOOL.value
TOOL_ERROR = "tool_error"  # error.type of a tools/call whose result has isError (semconv mcp)


def root_of(request: Any) -> Any:
    """The request model inside a ``ClientRequest`` / ``ServerRequest`` root model."""
    return getattr(request, "root", request)


def method_of(root: Any) -> str | None:
    method = getattr(root, "method", None)
    return method if isinstance(method, str) else None


def param(root: Any, name: str) -> Any:
    return getattr(getattr(root, "params", None), name, None)


def request_attributes(root: Any, method: str) -> tuple[str, dict[str, Any]]:
    """``(span name, attributes)`` of a request: ``{mcp.method.name} {target}`` where the target is
    the tool or prompt name (never the resource URI: unbounded cardinality)."""
    attrs: dict[str, Any] = {A.MCP_METHOD_NAME: method}
    target = None
    if method == "tools/call":
        name = param(root, "name")
        attrs[A.GEN_AI_OPERATION_NAME] = _EXECUTE_TOOL
        if isinstance(name, str):
            attrs[A.GEN_AI_TOOL_NAME] = target = name
    elif method == "prompts/get":
        name = param(root, "name")
        if isinstance(name, str):
            attrs[A.GEN_AI_PROMPT_NAME] = target = name
    elif method.startswith("resources/") and method != "resources/list":
        uri = param(root, "uri")
        if uri is not None:
            attrs[A.MCP_RESOURCE_URI] = str(uri)
    return (f"{method} {target}" if target else method), attrs


def is_tool_error(result: Any) -> bool:
    """Whether a result is a ``CallToolResult`` with ``isError`` (the model or its wire dict)."""
    result = getattr(result, "root", result)
    if isinstance(result, Mapping):
        return result.get("isError") is True
    return getattr(result, "isError", None) is True


def meta_carrier(root: Any) -> dict[str, Any] | None:
    """The ``params._meta`` of a received request as a dict (the W3C trace context carrier)."""
    meta = param(root, "meta")
    if meta is None:
        return None
    if isinstance(meta, Mapping):
        return dict(meta)
    dump = getattr(meta, "model_dump", None)
    return dump() if callable(dump) else None


def _params_class(root: Any) -> Any:
    # The model class of the request's ``params`` field (e.g. PaginatedRequestParams), so that a
    # request sent without params gets params of its own type.
    field = type(root).model_fields.get("params")
    if field is None:
        return None
    annotation = field.annotation
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and hasattr(arg, "model_validate"):
            return arg
    return None


def with_meta(request: Any, carrier: Mapping[str, str]) -> Any:
    """A copy of ``request`` whose ``params._meta`` also holds ``carrier`` (the caller's request is
    left as it was); ``request`` itself when it cannot carry one."""
    if not carrier:
        return request
    root = root_of(request)
    params = getattr(root, "params", None)
    if params is None:
        cls = _params_class(root)
        if cls is None:
            return request
        new_params = cls.model_validate({"_meta": dict(carrier)})
    else:
        meta = getattr(params, "meta", None)
        fields = getattr(type(params), "model_fields", {})
        meta_field = fields.get("meta")
        if meta_field is None:
            return request
        old = meta.model_dump(by_alias=True, exclude_none=True) if meta is not None else {}
        meta_cls = next(
            (
                a
                for a in (meta_field.annotation, *typing.get_args(meta_field.annotation))
                if isinstance(a, type) and hasattr(a, "model_validate")
            ),
            None,
        )
        merged = {**old, **carrier}
        new_meta = meta_cls.model_validate(merged) if meta_cls is not None else merged
        new_params = params.model_copy(update={"meta": new_meta})
    new_root = root.model_copy(update={"params": new_params})
    return type(request)(new_root) if root is not request else new_root
