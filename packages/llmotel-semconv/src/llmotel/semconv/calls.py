"""The wrapper an llmotel instrumentation puts around one SDK method, and the readers it uses.

An instrumentation describes each method it patches as an :class:`Operation` (how the call's
keyword arguments and result map onto an :class:`~llmotel.semconv.inference.Invocation`) and a
``locate`` function (provider name, ``server.address``, ``server.port`` of the call); then
:func:`call_wrapper` gives the ``wrapt`` wrapper::

    op = Operation("chat", request=read_params, content=read_messages, response=read_reply,
                   accumulator=ChunkReader)          # accumulator: the method returns a stream
    wrapt.wrap_function_wrapper(Chat, "complete", call_wrapper(telemetry, op, locate))
    wrapt.wrap_function_wrapper(Chat, "complete_async", call_wrapper(telemetry, op, locate, True))

:func:`telemetry_of` makes the emitter from ``instrument()``'s keyword arguments and
:class:`Patches` remembers what was wrapped, for ``uninstrument()``. The wrapper skips the call when :meth:`~InferenceTelemetry.should_skip` says so, starts the span,
ends it as failed when the SDK raises, and otherwise records the result — or, for a stream, hands
the caller a :mod:`llmotel.semconv.streams` proxy that ends the span when the stream ends. For a
Stainless-generated SDK (``Operation(raw=True)``: anthropic) a result is handed to
:func:`~llmotel.semconv.streams.complete`, which also proxies the raw responses of
``with_raw_response`` / ``with_streaming_response``. Nothing
in it raises into the caller: a reader that fails is logged once and the call goes on untouched.

Needs ``wrapt`` (through :mod:`llmotel.semconv.streams`): the ``llmotel-semconv[instrumentation]``
extra.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import wrapt

from llmotel.semconv.inference import InferenceTelemetry, Invocation
from llmotel.semconv.streams import (
    Accumulator,
    AsyncStream,
    SyncStream,
    acomplete,
    complete,
    raw_mode,
)

__all__ = [
    "Locate",
    "Operation",
    "Patches",
    "call_wrapper",
    "read_field",
    "read_float",
    "read_int",
    "read_str",
    "server_of_url",
    "telemetry_of",
]

#: ``(instance, kwargs) -> (gen_ai.provider.name, server.address, server.port)`` of a call.
Locate = Callable[[Any, Mapping[str, Any]], tuple[str, str | None, int | None]]
_Read = Callable[[Invocation, Mapping[str, Any]], None]
_Response = Callable[[Invocation, Any, bool], None]
_DEFAULT_PORTS = {"https": 443, "http": 80}
_log = logging.getLogger(__name__)
_servers: dict[str, tuple[str | None, int | None]] = {}


class Operation:
    """How one SDK method maps onto an invocation.

    Args:
        name: ``gen_ai.operation.name`` (``chat``, ``generate_content``, ``embeddings`` …).
        request: sets the request fields from the keyword arguments.
        content: sets the message fields from them (called only when content is captured).
        response: ``(inv, result, content)`` sets the response fields of a non-streamed result.
        accumulator: for a method that returns a stream, makes the stream's
            :class:`~llmotel.semconv.streams.Accumulator` (given whether content is captured).
        streamed: for a method that streams only when asked (``stream=True``): whether the
            keyword arguments ask; without it a method with an ``accumulator`` always streams.
        seen: ``(inv, result)`` reads what the SDK returned before anything else does (a
            request id in the headers of a stream or raw response).
        raw: the SDK is Stainless-generated (openai, anthropic): a call its
            ``with_raw_response`` / ``with_streaming_response`` wrappers marked returns a raw
            response, which :func:`~llmotel.semconv.streams.complete` proxies.
    """

    __slots__ = ("accumulator", "content", "name", "raw", "request", "response", "seen", "streamed")

    def __init__(
        self,
        name: str,
        *,
        request: _Read,
        content: _Read,
        response: _Response,
        accumulator: Callable[[bool], Accumulator] | None = None,
        streamed: Callable[[Mapping[str, Any]], bool] | None = None,
        seen: Callable[[Invocation, Any], None] | None = None,
        raw: bool = False,
    ) -> None:
        self.name = name
        self.request = request
        self.content = content
        self.response = response
        self.accumulator = accumulator
        self.streamed = streamed
        self.seen = seen
        self.raw = raw


def _invocation(
    telemetry: InferenceTelemetry,
    op: Operation,
    locate: Locate,
    instance: Any,
    kwargs: Mapping[str, Any],
) -> Invocation:
    provider, host, port = locate(instance, kwargs)
    model = kwargs.get("model")
    inv = Invocation(
        op.name,
        provider,
        request_model=model if type(model) is str else None,
        server_address=host,
        server_port=port,
        stream=op.accumulator is not None and (op.streamed is None or op.streamed(kwargs)),
    )
    op.request(inv, kwargs)
    if telemetry.capture_content:
        op.content(inv, kwargs)
    return inv


class _AsyncGeneratorStream(AsyncStream):
    """The proxy of a stream that is an async generator (mistralai 1.x): ``aclose()``, the way
    to close one early, ends the span too."""

    async def aclose(self) -> None:
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_end(None)


def _seen(telemetry: InferenceTelemetry, op: Operation, inv: Invocation, result: Any) -> None:
    if op.seen is not None:
        try:
            op.seen(inv, result)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("response")


def _complete(telemetry: InferenceTelemetry, op: Operation, inv: Invocation, result: Any) -> Any:
    """Record ``result`` and return what the caller gets (``result`` itself, or a stream proxy)."""
    try:
        if inv.stream:
            telemetry.detach(inv)
            acc = op.accumulator(telemetry.capture_content)  # type: ignore[misc]
            if inspect.isasyncgen(result):
                return _AsyncGeneratorStream(result, telemetry, inv, acc)
            if hasattr(result, "__aiter__"):
                return AsyncStream(result, telemetry, inv, acc)
            return SyncStream(result, telemetry, inv, acc)
        op.response(inv, result, telemetry.capture_content)
    except Exception:  # noqa: BLE001
        telemetry.warn_once("response")
    telemetry.finish(inv)
    return result


def _raw(
    telemetry: InferenceTelemetry, op: Operation, inv: Invocation, kwargs: Mapping[str, Any]
) -> tuple[str | None, Accumulator | None]:
    """The raw-response mode and the accumulator of a Stainless SDK's call."""
    acc = op.accumulator(telemetry.capture_content) if inv.stream else None  # type: ignore[misc]
    return raw_mode(kwargs), acc


def call_wrapper(
    telemetry: InferenceTelemetry, op: Operation, locate: Locate, is_async: bool = False
) -> Any:
    """The ``wrapt`` wrapper of an SDK method (a coroutine function when ``is_async``)."""

    def record(inv: Invocation, parsed: Any) -> None:
        op.response(inv, parsed, telemetry.capture_content)

    if is_async:

        async def async_wrapper(
            wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]
        ) -> Any:
            if telemetry.should_skip():
                return await wrapped(*args, **kwargs)
            try:
                inv = _invocation(telemetry, op, locate, instance, kwargs)
                telemetry.start(inv)
            except Exception:  # noqa: BLE001
                telemetry.warn_once("request")
                return await wrapped(*args, **kwargs)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                telemetry.fail(inv, exc)
                raise
            _seen(telemetry, op, inv, result)
            if op.raw:
                mode, acc = _raw(telemetry, op, inv, kwargs)
                if mode == "raw" and acc is None:  # parse() may be a coroutine
                    return await acomplete(telemetry, inv, result, mode, acc, record)
                return complete(telemetry, inv, result, mode, acc, record)
            return _complete(telemetry, op, inv, result)

        return async_wrapper

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if telemetry.should_skip():
            return wrapped(*args, **kwargs)
        try:
            inv = _invocation(telemetry, op, locate, instance, kwargs)
            telemetry.start(inv)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("request")
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            telemetry.fail(inv, exc)
            raise
        _seen(telemetry, op, inv, result)
        if op.raw:
            mode, acc = _raw(telemetry, op, inv, kwargs)
            return complete(telemetry, inv, result, mode, acc, record)
        return _complete(telemetry, op, inv, result)

    return wrapper


def telemetry_of(scope: str, version: str, kwargs: Mapping[str, Any]) -> InferenceTelemetry:
    """The emitter of an instrumentor's ``_instrument(**kwargs)``: its ``tracer_provider``,
    ``meter_provider`` and ``logger_provider`` (each defaults to the global one)."""
    return InferenceTelemetry(
        scope,
        version,
        tracer_provider=kwargs.get("tracer_provider"),
        meter_provider=kwargs.get("meter_provider"),
        logger_provider=kwargs.get("logger_provider"),
    )


def _attribute(owner: Any, name: str) -> Any:
    # A class's own attribute (not one it inherits: a wrapper goes where the method is defined);
    # a module's; None when absent.
    return vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)


class Patches:
    """The SDK functions an instrumentor wrapped, so that :meth:`restore` puts every one back.

    :meth:`on_import` defers the wrapping to when the application imports the SDK, so that an
    installed SDK the application never imports costs nothing at start-up.
    """

    __slots__ = ("_live", "_wrapped")

    def __init__(self) -> None:
        self._wrapped: list[tuple[Any, str]] = []
        self._live = True

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        """The ``(owner, name)`` of each wrapped function, first wrapped first."""
        return iter(self._wrapped)

    def wrap(self, owner: Any, name: str, wrapper: Any) -> None:
        """``wrapt.wrap_function_wrapper(owner, name, wrapper)``, remembered; once per ``(owner,
        name)`` (two modules that export one class wrap it once). A name already bound to one of
        these wrappers (a module that re-exports a function after it was wrapped where it is
        defined, as post-import hooks run) is not wrapped again; :meth:`restore` puts the original
        back there too."""
        if any(o is owner and n == name for o, n in self._wrapped):
            return
        current = _attribute(owner, name)
        if not (
            isinstance(current, wrapt.FunctionWrapper)
            and any(_attribute(o, n) is current for o, n in self._wrapped)
        ):
            wrapt.wrap_function_wrapper(owner, name, wrapper)
        self._wrapped.append((owner, name))

    def on_import(self, module_name: str, patch: Callable[[Any], None]) -> None:
        """Call ``patch(module)`` when ``module_name`` is imported: now if it has been, else when
        the application imports it (a module that never is never calls it). Not after
        :meth:`restore`. A ``patch`` that raises is logged; the application's import goes on."""

        def hook(module: Any) -> None:
            if not self._live:
                return  # uninstrumented before the application imported the module
            try:
                patch(module)
            except Exception:  # noqa: BLE001 - an SDK layout we did not foresee; never fail an import
                _log.warning("llmotel: could not instrument %s", module_name, exc_info=True)

        wrapt.register_post_import_hook(hook, module_name)

    def wrap_on_import(self, module_name: str, path: str, wrapper: Any) -> None:
        """:meth:`wrap` ``path`` of ``module_name`` (``"Class.method"`` or ``"function"``) with
        ``wrapper`` when the module is imported (:meth:`on_import`), if the installed SDK has it:
        a method defined on that class itself, or a callable of the module."""
        *classes, name = path.split(".")

        def patch(module: Any) -> None:
            owner = module
            for class_name in classes:
                owner = getattr(owner, class_name, None)
            if owner is None:
                return
            if callable(_attribute(owner, name)):
                self.wrap(owner, name, wrapper)

        self.on_import(module_name, patch)

    def restore(self) -> None:
        """Unwrap everything :meth:`wrap` wrapped, last first; hooks :meth:`on_import` left for
        modules not imported yet do nothing from now on."""
        self._live = False
        while self._wrapped:
            owner, name = self._wrapped.pop()
            current = _attribute(owner, name)
            if isinstance(current, wrapt.FunctionWrapper):
                setattr(owner, name, current.__wrapped__)


# -- readers: an SDK's models are built without validation, so any value may have any type --------


def read_int(v: object) -> int | None:
    """``v`` if it is an ``int`` (not a ``bool``), else ``None``."""
    return v if type(v) is int else None


def read_float(v: object) -> float | None:
    """``v`` as a ``float`` if it is a number (not a ``bool``), else ``None``."""
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def read_str(v: object) -> str | None:
    """``v`` if it is a ``str``, else ``None``."""
    return v if type(v) is str else None


def read_field(obj: object, name: str) -> Any:
    """``obj[name]`` of a mapping (an SDK's TypedDict form), ``obj.name`` of anything else (its
    model form); ``None`` when absent."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def server_of_url(url: object) -> tuple[str | None, int | None]:
    """``(server.address, server.port)`` of a base URL (the scheme's port when it names none);
    ``(None, None)`` for anything that is not a URL string. Cached per URL."""
    if type(url) is not str:
        return None, None
    found = _servers.get(url)
    if found is None:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        found = (
            parts.hostname or None,
            port if port is not None else _DEFAULT_PORTS.get(parts.scheme),
        )
        if len(_servers) > 256:
            _servers.clear()
        _servers[url] = found
    return found
