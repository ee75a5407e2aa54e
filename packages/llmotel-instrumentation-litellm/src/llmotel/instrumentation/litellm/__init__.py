"""OpenTelemetry instrumentation for `LiteLLM <https://github.com/BerriAI/litellm>`_, following the
GenAI semantic conventions.

Usage::

    import litellm
    from llmotel.instrumentation.litellm import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument()   # or instrument(tracer_provider=..., meter_provider=...,
                                         #               logger_provider=...)
    litellm.completion(
        model="anthropic/claude-sonnet-4-20250514", messages=[{"role": "user", "content": "Hi"}]
    )
    # → one CLIENT span "chat anthropic/claude-sonnet-4-20250514" whose gen_ai.provider.name is
    #   the provider LiteLLM called ("anthropic"), with usage, finish reasons and the
    #   gen_ai.client.* metrics.

    LiteLLMInstrumentor().uninstrument()  # litellm is exactly as before

Instrumented: ``litellm.completion`` / ``acompletion`` (``stream=True`` too: the span ends when
the stream is read to the end, fails, is closed, leaves its ``with`` block or is garbage-collected
unread) and ``litellm.embedding`` / ``aembedding``. Anything that calls them through the
``litellm`` module (``Router``, ``completion_with_retries``) is covered; a function imported with
``from litellm import completion`` before ``instrument()`` is not.

One logical call, one span: while the LiteLLM span is current (and while its stream is read), the
llmotel openai / anthropic / mistralai instrumentations see it and make no span for the provider
SDK call LiteLLM makes underneath, and LiteLLM's own retries stay inside it. LiteLLM's own
OpenTelemetry callback (``litellm.callbacks = ["otel"]``: the legacy one, or V2 while
``LITELLM_OTEL_V2`` is set) makes no span for a call that has a llmotel span (its logging hooks
skip the call, known by its ``litellm_call_id``). Under
``opentelemetry-instrument`` it loads by itself (entry point ``llmotel_litellm``); litellm is
patched when the application imports it, so a process that never does pays nothing for it.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from llmotel.instrumentation.litellm import _extract as extract
from llmotel.instrumentation.litellm.package import _instruments
from llmotel.instrumentation.litellm.version import __version__
from llmotel.semconv.calls import Operation, Patches, read_str, telemetry_of
from llmotel.semconv.inference import InferenceTelemetry, Invocation, release_peers, settle_peers
from llmotel.semconv.streams import AsyncStream, SyncStream

__all__ = ["LiteLLMInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.litellm"

_CHAT = Operation(
    "chat",
    request=extract.chat_request,
    content=extract.chat_input,
    response=extract.chat_response,
    accumulator=extract.ChatChunks,
)
_EMBEDDINGS = Operation(
    "embeddings",
    request=extract.embeddings_request,
    content=extract.embeddings_input,
    response=extract.embeddings_response,
)
# (litellm function, is_async, operation, names of its leading positional parameters)
_TARGETS = (
    ("completion", False, _CHAT, ("model", "messages")),
    ("acompletion", True, _CHAT, ("model", "messages")),
    ("embedding", False, _EMBEDDINGS, ("model", "input")),
    ("aembedding", True, _EMBEDDINGS, ("model", "input")),
)
_resolved: dict[tuple[Any, ...], tuple[str, str | None]] = {}

# LiteLLM's own OpenTelemetry callbacks (``litellm.callbacks = ["otel"]``): the legacy
# ``OpenTelemetry`` class, and the V2 ``OpenTelemetryV2`` LiteLLM builds for "otel" instead while
# ``LITELLM_OTEL_V2`` is set (1.110; older releases have no such module). Their logging hooks make
# their spans: the legacy ``litellm_request`` / ``raw_gen_ai_request`` after the call; V2 opens its
# ``chat {model}`` span at ``log_pre_api_call`` and ends it in the async success / failure hook.
_OTEL_CALLBACK = "litellm.integrations.opentelemetry"
_OTEL_V2_CALLBACK = "litellm.integrations.otel.logger"
# (hook, is_async, position of LiteLLM's logging details among its arguments): each class is given
# the ones it defines itself.
_CALLBACK_HOOKS = (
    ("log_pre_api_call", False, 2),
    ("log_success_event", False, 0),
    ("log_failure_event", False, 0),
    ("async_log_success_event", True, 0),
    ("async_log_failure_event", True, 0),
)
# Where LiteLLM keeps the callbacks it is given (it copies ``litellm.callbacks`` into the others),
# and the name its OpenTelemetry callback is given by.
_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
)
_OTEL_NAME = "otel"
# The arguments of a call that give it callbacks of its own.
_CALL_CALLBACK_ARGUMENTS = ("callbacks", "success_callback", "failure_callback")
# The ``litellm_call_id`` of recent calls that have a llmotel span: LiteLLM's OpenTelemetry
# callback makes no span for them. First in, first out (a stream never read never reaches the
# callback).
_covered: dict[str, None] = {}
_COVERED_MAX = 4096


def _cover(telemetry: InferenceTelemetry, kwargs: dict[str, Any]) -> None:
    """Mark the call about to be made with ``kwargs`` as having a llmotel span, by its
    ``litellm_call_id`` (the caller's, else one given here). Only while LiteLLM's OpenTelemetry
    callback is registered: without it there is nothing to skip, and a call given a
    ``litellm_call_id`` costs LiteLLM 1.110 ~90 µs more than one that makes its own (measured)."""
    try:
        if not _otel_callback_registered(kwargs):
            return
        call_id = kwargs.get("litellm_call_id")
        if type(call_id) is not str:
            call_id = kwargs["litellm_call_id"] = str(uuid.uuid4())
        if len(_covered) >= _COVERED_MAX:
            del _covered[next(iter(_covered))]
        _covered[call_id] = None
    except Exception:  # noqa: BLE001
        telemetry.warn_once("otel callback")


def _otel_classes() -> tuple[Any, Any]:
    """LiteLLM's legacy and V2 OpenTelemetry callback classes, ``None`` for one not imported (the
    V2 module is imported by LiteLLM when it first builds its callback, and is absent before 1.110)."""
    legacy = getattr(sys.modules.get(_OTEL_CALLBACK), "OpenTelemetry", None)
    v2 = getattr(sys.modules.get(_OTEL_V2_CALLBACK), "OpenTelemetryV2", None)
    return legacy, v2


def _is_otel_callback(callback: Any, legacy: Any, v2: Any) -> bool:
    """Whether ``callback`` is LiteLLM's own OpenTelemetry callback: the legacy class itself (not a
    subclass: ``langfuse_otel``, ``arize``, ... send to other backends), or the V2 class itself as
    LiteLLM builds it for "otel" (no ``callback_name``; V2 builds the other backends' loggers from
    the same class, with their name)."""
    kind = type(callback)
    if legacy is not None and kind is legacy:
        return True
    return v2 is not None and kind is v2 and getattr(callback, "callback_name", None) is None


def _otel_callback_registered(kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether one of LiteLLM's callback lists holds its OpenTelemetry callback (by name, before
    LiteLLM's first call makes it an instance — the legacy one, or V2 under ``LITELLM_OTEL_V2`` —
    or the instance), or the call's own ``kwargs`` give it (``callbacks=[...]``, which LiteLLM
    then adds to its lists, or ``success_callback`` / ``failure_callback``)."""
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return False
    legacy, v2 = _otel_classes()
    lists = [getattr(litellm, name, None) for name in _CALLBACK_LISTS]
    if kwargs:
        lists += [kwargs.get(name) for name in _CALL_CALLBACK_ARGUMENTS]
    for callbacks in lists:
        if not isinstance(callbacks, (list, tuple)):
            continue
        for callback in callbacks:
            if callback == _OTEL_NAME or _is_otel_callback(callback, legacy, v2):
                return True
    return False


def _is_covered(details: Any) -> bool:
    """Whether LiteLLM's logging details (a callback's ``kwargs``) are of a call with a llmotel span."""
    if not _covered or not isinstance(details, Mapping):
        return False
    call_id = details.get("litellm_call_id")
    if call_id is None:
        params = details.get("litellm_params")
        call_id = params.get("litellm_call_id") if isinstance(params, Mapping) else None
    return type(call_id) is str and call_id in _covered


def _callback_hook(
    is_own: Callable[[Any], bool], is_async: bool, position: int
) -> Callable[..., Any]:
    """The wrapper of one logging hook of a LiteLLM OpenTelemetry callback class: nothing for a
    call that has a llmotel span (its span would be the call's second) when ``is_own(instance)``.
    LiteLLM's logging details are the hook's argument at ``position``, or its ``kwargs=``."""

    def covered(instance: Any, args: Any, kwargs: Mapping[str, Any]) -> bool:
        try:
            details = args[position] if len(args) > position else kwargs.get("kwargs")
            return _is_covered(details) and is_own(instance)
        except Exception:  # noqa: BLE001
            return False

    if is_async:

        async def async_hook(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if covered(instance, args, kwargs):
                return None
            return await wrapped(*args, **kwargs)

        return async_hook

    def hook(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if covered(instance, args, kwargs):
            return None
        return wrapped(*args, **kwargs)

    return hook


class LiteLLMStream(SyncStream, AsyncStream):  # type: ignore[misc]
    """LiteLLM's ``CustomStreamWrapper`` (iterated with ``for`` after ``completion`` and with
    ``async for`` after ``acompletion``), reporting to the call's span as it is read. Its
    ``close()`` is SyncStream's (LiteLLM's is synchronous); ``aclose()`` is the async one."""

    async def aclose(self) -> None:
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_end(None)


def _resolve(litellm: Any, kw: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(gen_ai.provider.name, gen_ai.request.model)`` of the call from LiteLLM's own resolution
    (``get_llm_provider``: ``"anthropic/claude-…"`` → ``("anthropic", "claude-…")``), cached per
    model, ``custom_llm_provider`` and ``api_base``. A model LiteLLM cannot place gives
    :data:`~extract.UNRESOLVED` without asking LiteLLM (which would print its provider-list hint a
    second time); the call then fails with LiteLLM's own error."""
    model = kw.get("model")
    custom = kw.get("custom_llm_provider")
    api_base = kw.get("api_base")
    key = (model, custom, api_base)
    found = _resolved.get(key)
    if found is not None:
        return found
    found = (extract.UNRESOLVED, model if type(model) is str else None)
    if type(model) is str and (
        type(custom) is str
        or model.split("/", 1)[0] in litellm.provider_list
        or model in litellm.model_cost
    ):
        try:
            name, provider = litellm.get_llm_provider(
                model=model,
                custom_llm_provider=custom if type(custom) is str else None,
                api_base=api_base if type(api_base) is str else None,
            )[:2]
            found = (extract.provider_name(provider) or found[0], read_str(name) or model)
        except Exception:  # noqa: BLE001  # LiteLLM raises the same error in the call itself
            pass
    if len(_resolved) > 1024:
        _resolved.clear()
    _resolved[key] = found
    return found


def _invocation(
    telemetry: InferenceTelemetry, litellm: Any, op: Operation, kw: Mapping[str, Any]
) -> Invocation:
    host, port = extract.server_of(kw)
    provider, model = _resolve(litellm, kw)
    inv = Invocation(
        op.name,
        provider,
        request_model=model,
        server_address=host,
        server_port=port,
        stream=op.accumulator is not None and kw.get("stream") is True,
    )
    op.request(inv, kw)
    if telemetry.capture_content:
        op.content(inv, kw)
    return inv


def _arguments(
    names: tuple[str, ...], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> Mapping[str, Any]:
    """The call's arguments by name, for reading (the call itself gets them as given)."""
    if not args:
        return kwargs
    return {**dict(zip(names, args, strict=False)), **kwargs}


def _complete(telemetry: InferenceTelemetry, op: Operation, inv: Invocation, result: Any) -> Any:
    """Record ``result`` and return what the caller gets (``result`` itself, or a stream proxy)."""
    try:
        if inv.stream and op.accumulator is not None and hasattr(result, "__next__"):
            telemetry.detach(inv)
            extract.resolved_provider(inv, getattr(result, "custom_llm_provider", None))
            return LiteLLMStream(result, telemetry, inv, op.accumulator(telemetry.capture_content))
        op.response(inv, result, telemetry.capture_content)
    except Exception:  # noqa: BLE001
        telemetry.warn_once("response")
    telemetry.finish(inv)
    return result


def _fail(telemetry: InferenceTelemetry, inv: Invocation, error: BaseException) -> None:
    try:
        extract.error_provider(inv, error)
    except Exception:  # noqa: BLE001
        telemetry.warn_once("error")
    telemetry.fail(inv, error)


def _wrapper(
    telemetry: InferenceTelemetry,
    litellm: Any,
    op: Operation,
    names: tuple[str, ...],
    is_async: bool,
) -> Callable[..., Any]:
    """The ``wrapt`` wrapper of one LiteLLM function (a coroutine function when ``is_async``)."""
    if is_async:

        async def async_wrapper(
            wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]
        ) -> Any:
            if telemetry.should_skip():
                return await wrapped(*args, **kwargs)
            try:
                inv = _invocation(telemetry, litellm, op, _arguments(names, args, kwargs))
                telemetry.start(inv)
            except Exception:  # noqa: BLE001
                telemetry.warn_once("request")
                return await wrapped(*args, **kwargs)
            _cover(telemetry, kwargs)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                _fail(telemetry, inv, exc)
                raise
            return _complete(telemetry, op, inv, result)

        return async_wrapper

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if telemetry.should_skip():
            return wrapped(*args, **kwargs)
        try:
            inv = _invocation(telemetry, litellm, op, _arguments(names, args, kwargs))
            telemetry.start(inv)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("request")
            return wrapped(*args, **kwargs)
        _cover(telemetry, kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _fail(telemetry, inv, exc)
            raise
        return _complete(telemetry, op, inv, result)

    return wrapper


# The other instrumentations of litellm (module, BaseInstrumentor class):
# LLMOTEL_INSTRUMENTATION_CONFLICT picks one; `llmotel doctor` reads this to say which.
PEERS = (
    ("opentelemetry.instrumentation.litellm", "LiteLLMInstrumentor"),  # OpenLLMetry
    ("openinference.instrumentation.litellm", "LiteLLMInstrumentor"),  # OpenInference
)


class LiteLLMInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments LiteLLM's ``completion``/``acompletion``/``embedding``/``aembedding`` (see the
    module docstring for what and how).

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider`` and ``logger_provider`` (default:
    the global ones). Content capture and the semconv opt-in are read from the environment then.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        self._telemetry: InferenceTelemetry | None = None
        self._patches = patches = Patches()
        self._callback_patches = callback_patches = Patches()
        if not settle_peers("litellm", PEERS):
            return
        telemetry = self._telemetry = telemetry_of(SCOPE, __version__, kwargs)

        def patch(litellm: Any) -> None:
            for name, is_async, op, names in _TARGETS:
                if callable(getattr(litellm, name, None)):
                    patches.wrap(litellm, name, _wrapper(telemetry, litellm, op, names, is_async))

        # Importing litellm takes seconds (and fetches its cost map unless told not to): patch it
        # now if the application has imported it, else when it does.
        patches.on_import("litellm", patch)

        def patch_callbacks(otel_class: Any, is_own: Callable[[Any], bool]) -> None:
            if not isinstance(otel_class, type):
                return
            for name, is_async, position in _CALLBACK_HOOKS:
                if callable(vars(otel_class).get(name)):
                    callback_patches.wrap(
                        otel_class, name, _callback_hook(is_own, is_async, position)
                    )

        def patch_legacy(module: Any) -> None:
            otel_class = getattr(module, "OpenTelemetry", None)
            patch_callbacks(
                otel_class, lambda callback: _is_otel_callback(callback, otel_class, None)
            )

        def patch_v2(module: Any) -> None:
            otel_class = getattr(module, "OpenTelemetryV2", None)
            patch_callbacks(
                otel_class, lambda callback: _is_otel_callback(callback, None, otel_class)
            )

        callback_patches.on_import(_OTEL_CALLBACK, patch_legacy)
        callback_patches.on_import(_OTEL_V2_CALLBACK, patch_v2)

    def _uninstrument(self, **kwargs: Any) -> None:
        telemetry = getattr(self, "_telemetry", None)
        if telemetry is not None:
            telemetry.active = False  # a function imported while instrumented passes calls through
        for name in ("_patches", "_callback_patches"):
            patches = getattr(self, name, None)
            if patches is not None:
                patches.restore()
        _covered.clear()
        release_peers(PEERS)
