"""Session, user and conversation ids carried in the OpenTelemetry context.

Application code says *who* and *which conversation* once, around a request::

    from llmotel.semconv.context import using_session, using_user

    with using_session("sess-42"), using_user("alice"):
        client.chat.completions.create(...)

    @using_conversation("conv-7")          # also works on ``async def`` functions
    async def answer(question: str) -> str: ...

and every span started inside gets ``session.id``, ``user.id`` and ``gen_ai.conversation.id`` once
``llmotel.sdk.ContextEnricher`` is on the tracer provider (instrumentations may also read
:func:`get_context_attributes` directly). The values live in the OpenTelemetry context, so they
follow ``contextvars``: asyncio tasks and threads started with a copied context see them; nesting
works — the inner value wins and leaving the block restores the outer one.

This module depends on ``opentelemetry-api`` only.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, ParamSpec, TypeVar, cast, overload

from opentelemetry.context import Context, attach, create_key, detach, get_value, set_value
from opentelemetry.util.types import AttributeValue

__all__ = [
    "CONTEXT_ATTRIBUTE_KEYS",
    "ContextAttributes",
    "get_context_attribute_items",
    "get_context_attributes",
    "using_attributes",
    "using_conversation",
    "using_session",
    "using_user",
]

from llmotel.semconv.attributes import GEN_AI_CONVERSATION_ID as _CONVERSATION_ID
from llmotel.semconv.attributes import SESSION_ID as _SESSION_ID
from llmotel.semconv.attributes import USER_ID as _USER_ID

#: The attribute keys the ``using_session``/``using_user``/``using_conversation`` helpers set.
CONTEXT_ATTRIBUTE_KEYS: tuple[str, ...] = (_SESSION_ID, _USER_ID, _CONVERSATION_ID)

_KEY = create_key("llmotel-context-attributes")
_EMPTY: Mapping[str, AttributeValue] = MappingProxyType({})

_Items = tuple[tuple[str, AttributeValue], ...]
# What ``_KEY`` holds: the attributes as ready-made ``(key, value)`` pairs (what a span processor
# loops over on every span start) and as a read-only mapping over the same values, both built
# once when a ``using_*`` block is entered. One context key, one lookup per span.
_Stored = tuple[_Items, Mapping[str, AttributeValue]]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def get_context_attributes(context: Context | None = None) -> Mapping[str, AttributeValue]:
    """The attributes set by the ``using_*`` helpers in ``context`` (default: the current context).

    Returns a read-only mapping (empty when none are set). It is the same object for as long as the
    context does not change, so calling this on every span start costs one context lookup.
    """
    value = get_value(_KEY, context)
    return _EMPTY if value is None else cast("_Stored", value)[1]


def get_context_attribute_items(context: Context | None = None) -> _Items:
    """The same attributes as :func:`get_context_attributes`, as a tuple of ``(key, value)`` pairs.

    Empty when none are set. The tuple is built once when a ``using_*`` block is entered, so a span
    processor pays one context lookup per span and loops over it (``ContextEnricher`` does).
    """
    value = get_value(_KEY, context)
    return () if value is None else cast("_Stored", value)[0]


def _coerce(value: object) -> AttributeValue:
    if isinstance(value, str | bool | int | float):
        return value
    return str(value)


class ContextAttributes:
    """Adds attributes to the context while a block or a function call runs.

    Use it (or the ``using_*`` functions that return it) as a context manager — ``with`` or
    ``async with`` — or as a decorator of a function or ``async def`` function (not of a
    generator: the attributes would only cover creating it, not iterating it; use ``with``
    inside the generator instead). Each entry layers
    the attributes over those already in the context; each exit restores what was there before.
    The object holds no per-call state, so one instance may decorate a function that runs
    concurrently in many threads or tasks.
    """

    __slots__ = ("_attributes", "_tokens")

    def __init__(self, attributes: Mapping[str, object]) -> None:
        self._attributes: dict[str, AttributeValue] = {
            str(key): _coerce(value) for key, value in attributes.items() if value is not None
        }
        self._tokens: list[object] = []

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        """The attributes this object adds."""
        return MappingProxyType(self._attributes)

    def _attach(self) -> object:
        merged = {**get_context_attributes(), **self._attributes}
        stored: _Stored = (tuple(merged.items()), MappingProxyType(merged))
        return attach(set_value(_KEY, stored))

    def __enter__(self) -> ContextAttributes:
        self._tokens.append(self._attach())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        detach(self._tokens.pop())  # type: ignore[arg-type]

    async def __aenter__(self) -> ContextAttributes:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    @overload
    def __call__(
        self, func: Callable[_P, Awaitable[_R]]
    ) -> Callable[_P, Awaitable[_R]]: ...  # pragma: no cover

    @overload
    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, _R]: ...  # pragma: no cover

    def __call__(self, func: Callable[_P, Any]) -> Callable[_P, Any]:
        """Decorate ``func`` so that every call runs with these attributes in the context."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                token = self._attach()
                try:
                    return await func(*args, **kwargs)
                finally:
                    detach(token)  # type: ignore[arg-type]

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            token = self._attach()
            try:
                return func(*args, **kwargs)
            finally:
                detach(token)  # type: ignore[arg-type]

        return wrapper

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._attributes!r})"


def using_attributes(
    attributes: Mapping[str, object] | None = None, /, **kwargs: object
) -> ContextAttributes:
    """Put arbitrary attributes in the context: ``using_attributes({"app.tenant": "t1"})``.

    Keys with dots go in the mapping; plain keys may also be given as keyword arguments. Values that
    are not ``str``/``bool``/``int``/``float`` are stored as ``str(value)``; ``None`` values are
    skipped. Returns a :class:`ContextAttributes` (context manager and decorator).
    """
    merged: dict[str, object] = dict(attributes or {})
    merged.update(kwargs)
    return ContextAttributes(merged)


def using_session(session_id: str) -> ContextAttributes:
    """Mark everything inside as part of session ``session_id`` (attribute ``session.id``)."""
    return ContextAttributes({_SESSION_ID: session_id})


def using_user(user_id: str) -> ContextAttributes:
    """Mark everything inside as done for user ``user_id`` (attribute ``user.id``).

    The id ends up in telemetry: prefer an opaque id over an e-mail address.
    """
    return ContextAttributes({_USER_ID: user_id})


def using_conversation(conversation_id: str) -> ContextAttributes:
    """Mark everything inside as part of conversation ``conversation_id``.

    Sets the attribute ``gen_ai.conversation.id``.
    """
    return ContextAttributes({_CONVERSATION_ID: conversation_id})
