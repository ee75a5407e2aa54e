"""OpenTelemetry instrumentation for the ``anthropic`` SDK, following the GenAI semantic conventions.

Usage::

    import anthropic
    from llmotel.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument()   # or instrument(tracer_provider=..., meter_provider=...,
                                           #               logger_provider=...)
    client = anthropic.Anthropic()
    client.messages.create(
        model="claude-opus-4-5", max_tokens=256, messages=[{"role": "user", "content": "Hi"}]
    )
    # → one CLIENT span "chat claude-opus-4-5" with usage incl. cache_read/cache_creation,
    #   gen_ai.client.operation.duration and gen_ai.client.token.usage points.

    AnthropicInstrumentor().uninstrument()  # the SDK is exactly as before

Instrumented: ``messages.create`` (plain and ``stream=True``, also through ``with_raw_response`` /
``with_streaming_response``) and the ``messages.stream(...)`` helper, on sync and async clients;
the caller gets what it would get uninstrumented. Recent anthropic SDKs (2.x) make a span of their own for each
API call; while an llmotel span is open for the call, that second span is not made (one call, one
GenAI span). Under ``opentelemetry-instrument`` it loads by itself (entry point
``llmotel_anthropic``); ``LLMOTEL_INSTRUMENTATION_CONFLICT`` decides between it and another
installed anthropic instrumentation.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Coroutine, Generator, Mapping
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap

from llmotel.instrumentation.anthropic import _extract as extract
from llmotel.instrumentation.anthropic.package import _instruments
from llmotel.instrumentation.anthropic.version import __version__
from llmotel.semconv.inference import (
    InferenceTelemetry,
    Invocation,
    inference_in_progress,
    release_peers,
    settle_peers,
)
from llmotel.semconv.streams import Accumulator, acomplete, complete, raw_mode

__all__ = ["AnthropicInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.anthropic"


def _invocation(
    telemetry: InferenceTelemetry, instance: Any, kwargs: Mapping[str, Any], stream: bool
) -> Invocation:
    host, port = extract.server_of(getattr(instance, "_client", None))
    model = kwargs.get("model")
    inv = Invocation(
        "chat",
        extract.PROVIDER,
        request_model=model if type(model) is str else None,
        server_address=host,
        server_port=port,
        stream=stream,
    )
    extract.request(inv, kwargs)
    if telemetry.capture_content:
        extract.content(inv, kwargs)
    return inv


def _record(telemetry: InferenceTelemetry) -> Callable[[Invocation, Any], None]:
    def record(inv: Invocation, message: Any) -> None:
        extract.request_id(inv, message)
        extract.response(inv, message, telemetry.capture_content)

    return record


def _seen(telemetry: InferenceTelemetry, inv: Invocation, result: Any) -> Accumulator | None:
    """Before :func:`complete`: the request id of a stream or raw response, and the accumulator
    of a streamed call."""
    try:
        extract.request_id(inv, result)
    except Exception:  # noqa: BLE001
        telemetry.warn_once("response")
    return extract.Events(telemetry.capture_content) if inv.stream else None


def _create_sync(telemetry: InferenceTelemetry) -> Any:
    record = _record(telemetry)

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if telemetry.should_skip():
            return wrapped(*args, **kwargs)
        try:
            inv = _invocation(telemetry, instance, kwargs, kwargs.get("stream") is True)
            telemetry.start(inv)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("request")
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            telemetry.fail(inv, exc)
            raise
        acc = _seen(telemetry, inv, result)
        return complete(telemetry, inv, result, raw_mode(kwargs), acc, record)

    return wrapper


def _create_async(telemetry: InferenceTelemetry) -> Any:
    record = _record(telemetry)

    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if telemetry.should_skip():
            return await wrapped(*args, **kwargs)
        try:
            inv = _invocation(telemetry, instance, kwargs, kwargs.get("stream") is True)
            telemetry.start(inv)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("request")
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            telemetry.fail(inv, exc)
            raise
        acc = _seen(telemetry, inv, result)
        return await acomplete(telemetry, inv, result, raw_mode(kwargs), acc, record)

    return wrapper


def _stream_sync(telemetry: InferenceTelemetry) -> Any:
    """``messages.stream(...)`` returns a manager whose ``__enter__`` makes the request: the span
    covers that request and the reading of the stream."""
    record = _record(telemetry)
    attr = "_MessageStreamManager__api_request"

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            api_request = getattr(manager, attr)

            def request() -> Any:
                if telemetry.should_skip():
                    return api_request()
                inv = _invocation(telemetry, instance, kwargs, True)
                telemetry.start(inv)
                try:
                    result = api_request()
                except BaseException as exc:
                    telemetry.fail(inv, exc)
                    raise
                return complete(telemetry, inv, result, None, _seen(telemetry, inv, result), record)

            setattr(manager, attr, request)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("stream helper")
        return manager

    return wrapper


class _Deferred:
    """An awaitable that makes its coroutine only when awaited: a manager that is never entered
    leaves no never-awaited coroutine of ours behind (the SDK's own one still warns, as before)."""

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self._make = make

    def __await__(self) -> Generator[Any, None, Any]:
        return self._make().__await__()


def _stream_async(telemetry: InferenceTelemetry) -> Any:
    record = _record(telemetry)
    attr = "_AsyncMessageStreamManager__api_request"

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            api_request = getattr(manager, attr)

            async def request() -> Any:
                if telemetry.should_skip():
                    return await api_request
                inv = _invocation(telemetry, instance, kwargs, True)
                telemetry.start(inv)
                try:
                    result = await api_request
                except BaseException as exc:
                    telemetry.fail(inv, exc)
                    raise
                return complete(telemetry, inv, result, None, _seen(telemetry, inv, result), record)

            setattr(manager, attr, _Deferred(request))
        except Exception:  # noqa: BLE001
            telemetry.warn_once("stream helper")
        return manager

    return wrapper


def _skip_sdk_span(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    # The SDK's own call span would be a second GenAI span for a call that already has ours.
    if inference_in_progress():
        return None
    return wrapped(*args, **kwargs)


# The other instrumentations of the anthropic SDK (module, BaseInstrumentor class):
# LLMOTEL_INSTRUMENTATION_CONFLICT picks one; `llmotel doctor` reads this to say which.
PEERS = (
    ("opentelemetry.instrumentation.anthropic", "AnthropicInstrumentor"),  # OpenLLMetry
    ("openinference.instrumentation.anthropic", "AnthropicInstrumentor"),  # OpenInference
)


class AnthropicInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``anthropic`` SDK (see the module docstring for what and how).

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider`` and ``logger_provider`` (default:
    the global ones). Content capture and the semconv opt-in are read from the environment then.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        self._wrapped: list[tuple[Any, str]] = []
        self._telemetry: InferenceTelemetry | None = None
        if not settle_peers("anthropic", PEERS):
            return
        telemetry = self._telemetry = InferenceTelemetry(
            SCOPE,
            __version__,
            tracer_provider=kwargs.get("tracer_provider"),
            meter_provider=kwargs.get("meter_provider"),
            logger_provider=kwargs.get("logger_provider"),
        )
        module = importlib.import_module("anthropic.resources.messages")
        for cls_name, create, stream in (
            ("Messages", _create_sync, _stream_sync),
            ("AsyncMessages", _create_async, _stream_async),
        ):
            cls = getattr(module, cls_name)
            self._wrap(cls, "create", create(telemetry))
            if "stream" in vars(cls):
                self._wrap(cls, "stream", stream(telemetry))
        base = importlib.import_module("anthropic._base_client")
        if callable(getattr(base, "start_api_call_span", None)):
            self._wrap(base, "start_api_call_span", _skip_sdk_span)

    def _wrap(self, owner: Any, name: str, wrapper: Any) -> None:
        wrapt.wrap_function_wrapper(owner, name, wrapper)
        self._wrapped.append((owner, name))

    def _uninstrument(self, **kwargs: Any) -> None:
        telemetry = getattr(self, "_telemetry", None)
        if telemetry is not None:
            telemetry.active = False
        for owner, name in getattr(self, "_wrapped", ()):
            unwrap(owner, name)
        self._wrapped = []
        release_peers(PEERS)
