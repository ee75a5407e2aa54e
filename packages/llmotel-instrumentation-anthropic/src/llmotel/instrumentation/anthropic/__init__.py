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

from collections.abc import Callable, Collection, Coroutine, Generator, Mapping
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from llmotel.instrumentation.anthropic import _extract as extract
from llmotel.instrumentation.anthropic.package import _instruments
from llmotel.instrumentation.anthropic.version import __version__
from llmotel.semconv.calls import Operation, Patches, call_wrapper, telemetry_of
from llmotel.semconv.inference import (
    InferenceTelemetry,
    inference_in_progress,
    release_peers,
    settle_peers,
)

__all__ = ["AnthropicInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.anthropic"


def _streamed(kwargs: Mapping[str, Any]) -> bool:
    return kwargs.get("stream") is True


# messages.create: plain or stream=True, also through with_raw_response / with_streaming_response.
_CREATE = Operation(
    "chat",
    request=extract.request,
    content=extract.content,
    response=extract.response,
    accumulator=extract.Events,
    streamed=_streamed,
    seen=extract.request_id,
    raw=True,
)
# The request that the messages.stream(...) helper's manager makes when it is entered.
_HELPER = Operation(
    "chat",
    request=extract.request,
    content=extract.content,
    response=extract.response,
    accumulator=extract.Events,
    seen=extract.request_id,
)


def _locate(instance: Any, kwargs: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    return (extract.PROVIDER, *extract.server_of(getattr(instance, "_client", None)))


def _stream_sync(telemetry: InferenceTelemetry) -> Any:
    """``messages.stream(...)`` returns a manager whose ``__enter__`` makes the request: the span
    covers that request and the reading of the stream."""
    traced = call_wrapper(telemetry, _HELPER, _locate)
    attr = "_MessageStreamManager__api_request"

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            api_request = getattr(manager, attr)
            # the manager calls it without arguments; the span reads the helper's kwargs
            setattr(manager, attr, lambda: traced(lambda **_: api_request(), instance, (), kwargs))
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
    traced = call_wrapper(telemetry, _HELPER, _locate, is_async=True)
    attr = "_AsyncMessageStreamManager__api_request"

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            api_request = getattr(manager, attr)
            setattr(
                manager,
                attr,
                _Deferred(lambda: traced(lambda **_: api_request, instance, (), kwargs)),
            )
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
        self._patches = Patches()
        self._telemetry: InferenceTelemetry | None = None
        if not settle_peers("anthropic", PEERS):
            return
        telemetry = self._telemetry = telemetry_of(SCOPE, __version__, kwargs)
        # Patched when the application imports anthropic (now, if it has): the import takes
        # seconds, which an application that never calls it should not pay at start-up.
        for class_name, is_async, stream in (
            ("Messages", False, _stream_sync),
            ("AsyncMessages", True, _stream_async),
        ):
            self._patches.wrap_on_import(
                "anthropic.resources.messages",
                f"{class_name}.create",
                call_wrapper(telemetry, _CREATE, _locate, is_async),
            )
            self._patches.wrap_on_import(
                "anthropic.resources.messages", f"{class_name}.stream", stream(telemetry)
            )
        self._patches.wrap_on_import(
            "anthropic._base_client", "start_api_call_span", _skip_sdk_span
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        telemetry = getattr(self, "_telemetry", None)
        if telemetry is not None:
            telemetry.active = False
        patches = getattr(self, "_patches", None)
        if patches is not None:
            patches.restore()
        release_peers(PEERS)
