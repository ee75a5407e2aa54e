"""OpenTelemetry instrumentation for the ``openai`` SDK, following the GenAI semantic conventions.

Usage::

    from openai import OpenAI
    from llmotel.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument()   # or instrument(tracer_provider=..., meter_provider=...,
                                        #               logger_provider=...)
    client = OpenAI()
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    # → one CLIENT span "chat gpt-4o-mini", gen_ai.client.operation.duration and
    #   gen_ai.client.token.usage points, and (when content capture asks for events) one
    #   gen_ai.client.inference.operation.details log record.

    OpenAIInstrumentor().uninstrument()  # the SDK is exactly as before

Instrumented: ``chat.completions.create`` / ``parse`` (``beta.chat.completions.parse`` on older
SDKs), legacy ``completions.create``,
``embeddings.create``, ``responses.create`` / ``parse`` / ``retrieve`` (and so ``responses.stream``
and ``chat.completions.stream``, which call them), on sync and async clients, plain, streamed and
through ``with_raw_response`` / ``with_streaming_response``; the caller gets what it would get
uninstrumented. Under ``opentelemetry-instrument`` it loads by itself (entry point
``llmotel_openai``); ``LLMOTEL_INSTRUMENTATION_CONFLICT`` decides between it and another installed
openai instrumentation.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from llmotel.instrumentation.openai import _extract as extract
from llmotel.instrumentation.openai.package import _instruments
from llmotel.instrumentation.openai.version import __version__
from llmotel.semconv.calls import Patches, telemetry_of
from llmotel.semconv.inference import InferenceTelemetry, Invocation, release_peers, settle_peers
from llmotel.semconv.streams import (
    Accumulator,
    AsyncStream,
    SyncStream,
    acomplete,
    complete,
    raw_mode,
)

__all__ = ["OpenAIInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.openai"

_Request = Callable[[Invocation, Mapping[str, Any]], None]
_Response = Callable[[Invocation, Any, bool], None]


def _embeddings_response(inv: Invocation, result: Any, content: bool) -> None:
    extract.embeddings_response(inv, result)


class _Operation:
    """How one SDK method maps onto an invocation."""

    __slots__ = (
        "accumulator",
        "api_type",
        "content",
        "inject_usage",
        "name",
        "request",
        "response",
    )

    def __init__(
        self,
        name: str,
        request: _Request,
        content: _Request,
        response: _Response,
        accumulator: Callable[[bool, bool], Accumulator] | None,
        inject_usage: bool,
        api_type: str | None,
    ) -> None:
        self.name = name
        self.request = request
        self.content = content
        self.response = response
        self.accumulator = accumulator
        self.inject_usage = inject_usage
        self.api_type = api_type


_CHAT = _Operation(
    "chat",
    extract.chat_request,
    extract.chat_input,
    extract.chat_response,
    extract.ChatChunks,
    True,
    "chat_completions",
)
_COMPLETION = _Operation(
    "text_completion",
    extract.chat_request,
    extract.chat_input,
    extract.chat_response,
    extract.ChatChunks,
    True,
    None,
)
# The embeddings span defines no content attributes: the embedded text is never captured.
_EMBEDDINGS = _Operation(
    "embeddings",
    extract.embeddings_request,
    lambda inv, kw: None,
    _embeddings_response,
    None,
    False,
    None,
)
_RESPONSES = _Operation(
    "chat",
    extract.responses_request,
    extract.responses_input,
    extract.responses_response,
    lambda content, _hide: extract.ResponseEvents(content),
    False,
    "responses",
)
_RETRIEVE = _Operation(
    "chat",
    lambda inv, kw: None,
    lambda inv, kw: None,
    extract.responses_response,
    lambda content, _hide: extract.ResponseEvents(content),
    False,
    "responses",
)

# (module, sync class, async class, method, operation)
_TARGETS = (
    ("openai.resources.chat.completions", "Completions", "AsyncCompletions", "create", _CHAT),
    ("openai.resources.chat.completions", "Completions", "AsyncCompletions", "parse", _CHAT),
    # openai < 1.92 had parse under beta (its stream helper calls chat.completions.create)
    ("openai.resources.beta.chat.completions", "Completions", "AsyncCompletions", "parse", _CHAT),
    ("openai.resources.completions", "Completions", "AsyncCompletions", "create", _COMPLETION),
    ("openai.resources.embeddings", "Embeddings", "AsyncEmbeddings", "create", _EMBEDDINGS),
    ("openai.resources.responses", "Responses", "AsyncResponses", "create", _RESPONSES),
    ("openai.resources.responses", "Responses", "AsyncResponses", "parse", _RESPONSES),
    ("openai.resources.responses", "Responses", "AsyncResponses", "retrieve", _RETRIEVE),
)


class _Call:
    """Everything one wrapped call needs, prepared before the SDK runs."""

    __slots__ = ("acc", "inv", "kwargs", "mode")

    def __init__(
        self, inv: Invocation, kwargs: dict[str, Any], acc: Accumulator | None, mode: str | None
    ) -> None:
        self.inv = inv
        self.kwargs = kwargs
        self.acc = acc
        self.mode = mode


def _prepare(
    telemetry: InferenceTelemetry, op: _Operation, instance: Any, kwargs: dict[str, Any]
) -> _Call:
    provider, host, port = extract.server_of(getattr(instance, "_client", None))
    model = kwargs.get("model")
    stream = kwargs.get("stream") is True
    inv = Invocation(
        op.name,
        provider,
        request_model=model if type(model) is str else None,
        server_address=host,
        server_port=port,
        stream=stream,
    )
    op.request(inv, kwargs)
    extract.openai_request(inv, kwargs, op.api_type)
    content = telemetry.capture_content
    if content:
        op.content(inv, kwargs)
    acc = None
    mode = raw_mode(kwargs)
    if stream and op.accumulator is not None:
        hide_usage_chunk = False
        # A raw / streaming-response call hands the caller the HTTP stream as is: injecting
        # include_usage there would add a chunk the caller never asked for.
        if op.inject_usage and mode is None:
            options = kwargs.get("stream_options")
            if not isinstance(options, Mapping):
                kwargs = {**kwargs, "stream_options": {"include_usage": True}}
                hide_usage_chunk = True
            elif "include_usage" not in options:
                kwargs = {**kwargs, "stream_options": {**options, "include_usage": True}}
                hide_usage_chunk = True
        acc = op.accumulator(content, hide_usage_chunk)
    return _Call(inv, kwargs, acc, mode)


def _recorder(telemetry: InferenceTelemetry, op: _Operation) -> Callable[[Invocation, Any], None]:
    response = op.response

    def record(inv: Invocation, parsed: Any) -> None:
        response(inv, parsed, telemetry.capture_content)

    return record


def _sync_wrapper(telemetry: InferenceTelemetry, op: _Operation) -> Any:
    record = _recorder(telemetry, op)

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if telemetry.should_skip():
            return wrapped(*args, **kwargs)
        try:
            call = _prepare(telemetry, op, instance, kwargs)
            telemetry.start(call.inv)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("request")
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **call.kwargs)
        except BaseException as exc:
            telemetry.fail(call.inv, exc)
            raise
        return complete(telemetry, call.inv, result, call.mode, call.acc, record)

    return wrapper


def _async_wrapper(telemetry: InferenceTelemetry, op: _Operation) -> Any:
    record = _recorder(telemetry, op)

    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if telemetry.should_skip():
            return await wrapped(*args, **kwargs)
        try:
            call = _prepare(telemetry, op, instance, kwargs)
            telemetry.start(call.inv)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("request")
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **call.kwargs)
        except BaseException as exc:
            telemetry.fail(call.inv, exc)
            raise
        return await acomplete(telemetry, call.inv, result, call.mode, call.acc, record)

    return wrapper


# The SDK's stream helpers (``chat.completions.stream``, ``responses.stream``) close the HTTP
# response directly on exit, bypassing our stream proxy; their ``close`` also closes the proxy.
_HELPERS = (
    ("openai.lib.streaming.chat._completions", "ChatCompletionStream", "AsyncChatCompletionStream"),
    ("openai.lib.streaming.responses._responses", "ResponseStream", "AsyncResponseStream"),
)


def _helper_close(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    try:
        return wrapped(*args, **kwargs)
    finally:
        raw = getattr(instance, "_raw_stream", None)
        if isinstance(raw, SyncStream):
            raw._self_end(None)


async def _ahelper_close(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        raw = getattr(instance, "_raw_stream", None)
        if isinstance(raw, AsyncStream):
            raw._self_end(None)


# The other instrumentations of the openai SDK (module, BaseInstrumentor class):
# LLMOTEL_INSTRUMENTATION_CONFLICT picks one; `llmotel doctor` reads this to say which.
PEERS = (
    ("opentelemetry.instrumentation.openai_v2", "OpenAIInstrumentor"),  # upstream
    ("opentelemetry.instrumentation.genai.openai", "OpenAIInstrumentor"),  # upstream, newer
    ("opentelemetry.instrumentation.openai", "OpenAIInstrumentor"),  # OpenLLMetry
    ("openinference.instrumentation.openai", "OpenAIInstrumentor"),  # OpenInference
)


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``openai`` SDK (see the module docstring for what and how).

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider`` and ``logger_provider`` (default:
    the global ones). Content capture and the semconv opt-in are read from the environment then.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        self._patches = Patches()
        self._telemetry: InferenceTelemetry | None = None
        if not settle_peers("openai", PEERS):
            return
        telemetry = self._telemetry = telemetry_of(SCOPE, __version__, kwargs)
        # Each module is patched when the application imports it (now, if it has): importing
        # openai takes about a second, which an application that never calls it should not pay.
        for module_name, sync_name, async_name, method, op in _TARGETS:
            for class_name, factory in ((sync_name, _sync_wrapper), (async_name, _async_wrapper)):
                self._patches.wrap_on_import(
                    module_name, f"{class_name}.{method}", factory(telemetry, op)
                )
        for module_name, sync_name, async_name in _HELPERS:
            for class_name, hook in ((sync_name, _helper_close), (async_name, _ahelper_close)):
                self._patches.wrap_on_import(module_name, f"{class_name}.close", hook)

    def _uninstrument(self, **kwargs: Any) -> None:
        telemetry = getattr(self, "_telemetry", None)
        if telemetry is not None:
            telemetry.active = False
        patches = getattr(self, "_patches", None)
        if patches is not None:
            patches.restore()
        release_peers(PEERS)
