"""OpenTelemetry instrumentation for the ``mistralai`` SDK, following the GenAI semantic conventions.

Usage::

    from mistralai import Mistral            # mistralai >= 2: from mistralai.client import Mistral
    from llmotel.instrumentation.mistralai import MistralAIInstrumentor

    MistralAIInstrumentor().instrument()   # or instrument(tracer_provider=..., meter_provider=...,
                                           #               logger_provider=...)
    client = Mistral(api_key="...")
    client.chat.complete(
        model="mistral-small-latest", messages=[{"role": "user", "content": "Hi"}]
    )
    # → one CLIENT span "chat mistral-small-latest" (gen_ai.provider.name "mistral_ai") with usage,
    #   gen_ai.client.operation.duration and gen_ai.client.token.usage points.

    MistralAIInstrumentor().uninstrument()  # the SDK is exactly as before

Instrumented: ``chat.complete`` / ``complete_async``, ``chat.stream`` / ``stream_async`` (and so
``chat.parse`` and ``parse_stream``, which call them) and ``embeddings.create`` /
``create_async``. mistralai 2.x and later can make GenAI spans of their own when their telemetry is
switched on; while an llmotel span is open for the call, that second span is not made (one call,
one GenAI span). Under ``opentelemetry-instrument`` it loads by itself (entry point
``llmotel_mistralai``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap

from llmotel.instrumentation.mistralai import _extract as ex
from llmotel.instrumentation.mistralai.package import _instruments
from llmotel.instrumentation.mistralai.version import __version__
from llmotel.semconv.inference import InferenceTelemetry, Invocation, inference_in_progress
from llmotel.semconv.streams import AsyncStream, SyncStream

__all__ = ["MistralAIInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.mistralai"

_Request = Callable[[Invocation, Mapping[str, Any]], None]
_Response = Callable[[Invocation, Any, bool], None]


class _Operation:
    """How one SDK method maps onto an invocation."""

    __slots__ = ("content", "name", "request", "response", "stream")

    def __init__(
        self, name: str, request: _Request, content: _Request, response: _Response, stream: bool
    ) -> None:
        self.name = name
        self.request = request
        self.content = content
        self.response = response
        self.stream = stream


_CHAT = _Operation("chat", ex.chat_request, ex.chat_input, ex.chat_response, False)
_CHAT_STREAM = _Operation("chat", ex.chat_request, ex.chat_input, ex.chat_response, True)
_EMBEDDINGS = _Operation(
    "embeddings", ex.embeddings_request, ex.embeddings_input, ex.embeddings_response, False
)

# mistralai >= 2 keeps the client in mistralai.client, 1.x at the package root.
_PREFIXES = ("mistralai.client.", "mistralai.")
# (module, class, method, is_async, operation)
_TARGETS = (
    ("chat", "Chat", "complete", False, _CHAT),
    ("chat", "Chat", "complete_async", True, _CHAT),
    ("chat", "Chat", "stream", False, _CHAT_STREAM),
    ("chat", "Chat", "stream_async", True, _CHAT_STREAM),
    ("embeddings", "Embeddings", "create", False, _EMBEDDINGS),
    ("embeddings", "Embeddings", "create_async", True, _EMBEDDINGS),
)


def _invocation(
    telemetry: InferenceTelemetry, op: _Operation, instance: Any, kwargs: Mapping[str, Any]
) -> Invocation:
    host, port = ex.server_of(instance, kwargs)
    model = kwargs.get("model")
    inv = Invocation(
        op.name,
        ex.PROVIDER,
        request_model=model if type(model) is str else None,
        server_address=host,
        server_port=port,
        stream=op.stream,
    )
    op.request(inv, kwargs)
    if telemetry.capture_content:
        op.content(inv, kwargs)
    return inv


def _complete(telemetry: InferenceTelemetry, op: _Operation, inv: Invocation, result: Any) -> Any:
    """Record ``result`` and return what the caller gets (``result`` itself, or a stream proxy)."""
    try:
        if op.stream:
            telemetry.detach(inv)
            acc = ex.ChatEvents(telemetry.capture_content)
            if hasattr(result, "__aiter__"):
                return AsyncStream(result, telemetry, inv, acc)
            return SyncStream(result, telemetry, inv, acc)
        op.response(inv, result, telemetry.capture_content)
    except Exception:  # noqa: BLE001
        telemetry._warn("response")
    telemetry.finish(inv)
    return result


def _sync_wrapper(telemetry: InferenceTelemetry, op: _Operation) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if telemetry.should_skip():
            return wrapped(*args, **kwargs)
        try:
            inv = _invocation(telemetry, op, instance, kwargs)
            telemetry.start(inv)
        except Exception:  # noqa: BLE001
            telemetry._warn("request")
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            telemetry.fail(inv, exc)
            raise
        return _complete(telemetry, op, inv, result)

    return wrapper


def _async_wrapper(telemetry: InferenceTelemetry, op: _Operation) -> Any:
    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if telemetry.should_skip():
            return await wrapped(*args, **kwargs)
        try:
            inv = _invocation(telemetry, op, instance, kwargs)
            telemetry.start(inv)
        except Exception:  # noqa: BLE001
            telemetry._warn("request")
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            telemetry.fail(inv, exc)
            raise
        return _complete(telemetry, op, inv, result)

    return wrapper


def _skip_sdk_span(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    # The SDK's own GenAI span would be a second one for a call that already has ours.
    if inference_in_progress():
        request = kwargs.get("request", args[-1] if args else None)
        return request, None
    return wrapped(*args, **kwargs)


def _module(name: str) -> Any:
    for prefix in _PREFIXES:
        try:
            return importlib.import_module(prefix + name)
        except ImportError:
            continue
    return None


class MistralAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``mistralai`` SDK (see the module docstring for what and how).

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider`` and ``logger_provider`` (default:
    the global ones). Content capture and the semconv opt-in are read from the environment then.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        telemetry = InferenceTelemetry(
            SCOPE,
            __version__,
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            logger_provider=kwargs.get("logger_provider"),
        )
        self._wrapped: list[tuple[Any, str]] = []
        for module_name, class_name, method, is_async, op in _TARGETS:
            cls = getattr(_module(module_name), class_name, None)
            if cls is not None and method in vars(cls):
                factory = _async_wrapper if is_async else _sync_wrapper
                self._wrap(cls, method, factory(telemetry, op))
        hooks = _module("_hooks.tracing")
        if hooks is not None and callable(getattr(hooks, "get_traced_request_and_span", None)):
            self._wrap(hooks, "get_traced_request_and_span", _skip_sdk_span)

    def _wrap(self, owner: Any, name: str, wrapper: Any) -> None:
        wrapt.wrap_function_wrapper(owner, name, wrapper)
        self._wrapped.append((owner, name))

    def _uninstrument(self, **kwargs: Any) -> None:
        for owner, name in getattr(self, "_wrapped", ()):
            unwrap(owner, name)
        self._wrapped = []
