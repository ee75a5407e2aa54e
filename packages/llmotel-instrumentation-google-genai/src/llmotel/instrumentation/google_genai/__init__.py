"""OpenTelemetry instrumentation for the ``google-genai`` SDK, following the GenAI semantic
conventions.

Usage::

    from google import genai
    from llmotel.instrumentation.google_genai import GoogleGenAIInstrumentor

    GoogleGenAIInstrumentor().instrument()   # or instrument(tracer_provider=..., meter_provider=...,
                                             #               logger_provider=...)
    client = genai.Client(api_key="...")
    client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    # → one CLIENT span "generate_content gemini-2.5-flash" (gen_ai.provider.name "gcp.gemini";
    #   "gcp.vertex_ai" for a Vertex AI client) with usage incl. cached-content and thinking tokens,
    #   gen_ai.client.operation.duration and gen_ai.client.token.usage points.

    GoogleGenAIInstrumentor().uninstrument()  # the SDK is exactly as before

Instrumented, on ``client.models`` and ``client.aio.models``: every model request made by
``generate_content`` and ``generate_content_stream`` — so also chats (``chats.create(...)
.send_message`` / ``send_message_stream``), which call them — and ``embed_content``. A
``generate_content`` that runs automatic function calling or follows continuation tokens makes
several model requests: each is one span, with its own usage. Under ``opentelemetry-instrument`` it
loads by itself (entry point ``llmotel_google_genai``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from llmotel.instrumentation.google_genai import _extract as extract
from llmotel.instrumentation.google_genai.package import _instruments
from llmotel.instrumentation.google_genai.version import __version__
from llmotel.semconv.calls import Operation, Patches, call_wrapper, telemetry_of

__all__ = ["GoogleGenAIInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.google_genai"

_GENERATE = Operation(
    "generate_content",
    request=extract.generate_request,
    content=extract.generate_input,
    response=extract.generate_response,
)
_GENERATE_STREAM = Operation(
    "generate_content",
    request=extract.generate_request,
    content=extract.generate_input,
    response=extract.generate_response,
    accumulator=extract.Chunks,
)
_EMBED = Operation(
    "embeddings",
    request=extract.embed_request,
    content=extract.embed_input,
    response=extract.embed_response,
)

# (class, method, is_async, operation). The private per-request methods are what the public
# generate_content / generate_content_stream call once per model request (automatic function
# calling and continuation call them in a loop); embed_content makes one request.
_TARGETS = (
    ("Models", "_generate_content", False, _GENERATE),
    ("Models", "_generate_content_stream", False, _GENERATE_STREAM),
    ("Models", "embed_content", False, _EMBED),
    ("AsyncModels", "_generate_content", True, _GENERATE),
    ("AsyncModels", "_generate_content_stream", True, _GENERATE_STREAM),
    ("AsyncModels", "embed_content", True, _EMBED),
)


class GoogleGenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``google-genai`` SDK (see the module docstring for what and how).

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider`` and ``logger_provider`` (default:
    the global ones). Content capture and the semconv opt-in are read from the environment then.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        telemetry = telemetry_of(SCOPE, __version__, kwargs)
        self._patches = Patches()
        # Patched when the application imports google.genai (now, if it has): the import takes
        # about a second, which an application that never calls it should not pay at start-up.
        for class_name, method, is_async, op in _TARGETS:
            self._patches.wrap_on_import(
                "google.genai.models",
                f"{class_name}.{method}",
                call_wrapper(telemetry, op, extract.server_of, is_async),
            )

    def _uninstrument(self, **kwargs: Any) -> None:
        self._patches.restore()
