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

from collections.abc import Collection, Mapping
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from llmotel.instrumentation.mistralai import _extract as extract
from llmotel.instrumentation.mistralai.package import _instruments
from llmotel.instrumentation.mistralai.version import __version__
from llmotel.semconv.calls import Operation, Patches, call_wrapper, telemetry_of
from llmotel.semconv.inference import inference_in_progress

__all__ = ["MistralAIInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.mistralai"

_CHAT = Operation(
    "chat", request=extract.chat_request, content=extract.chat_input, response=extract.chat_response
)
_CHAT_STREAM = Operation(
    "chat",
    request=extract.chat_request,
    content=extract.chat_input,
    response=extract.chat_response,
    accumulator=extract.ChatEvents,
)
_EMBEDDINGS = Operation(
    "embeddings",
    request=extract.embeddings_request,
    content=extract.embeddings_input,
    response=extract.embeddings_response,
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


def _locate(instance: Any, kwargs: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    return (extract.PROVIDER, *extract.server_of(instance, kwargs))


def _skip_sdk_span(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    # The SDK's own GenAI span would be a second one for a call that already has ours.
    if inference_in_progress():
        request = kwargs.get("request", args[-1] if args else None)
        return request, None
    return wrapped(*args, **kwargs)


class MistralAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``mistralai`` SDK (see the module docstring for what and how).

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider`` and ``logger_provider`` (default:
    the global ones). Content capture and the semconv opt-in are read from the environment then.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        telemetry = telemetry_of(SCOPE, __version__, kwargs)
        self._patches = Patches()
        # Each module is patched when the application imports it (now, if it has), under the
        # layout of either major version: an application that never calls mistralai pays nothing.
        for prefix in _PREFIXES:
            for module_name, class_name, method, is_async, op in _TARGETS:
                self._patches.wrap_on_import(
                    prefix + module_name,
                    f"{class_name}.{method}",
                    call_wrapper(telemetry, op, _locate, is_async),
                )
            self._patches.wrap_on_import(
                prefix + "_hooks.tracing", "get_traced_request_and_span", _skip_sdk_span
            )

    def _uninstrument(self, **kwargs: Any) -> None:
        self._patches.restore()
