"""OpenTelemetry instrumentation for Amazon Bedrock Runtime (``boto3`` / ``botocore``, and
``aiobotocore`` / ``aioboto3``), following the GenAI semantic conventions.

Usage::

    import boto3
    from llmotel.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().instrument()   # or instrument(tracer_provider=..., meter_provider=...,
                                         #               logger_provider=...)
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    client.converse(
        modelId="us.anthropic.claude-3-5-haiku-20241022-v1:0",
        messages=[{"role": "user", "content": [{"text": "Hi"}]}],
    )
    # → one CLIENT span "chat anthropic.claude-3-5-haiku-20241022-v1:0" (gen_ai.provider.name
    #   "aws.bedrock") with usage and finish reasons, gen_ai.client.operation.duration and
    #   gen_ai.client.token.usage points.

    BedrockInstrumentor().uninstrument()  # botocore (and aiobotocore) exactly as before

Instrumented: ``converse``, ``converse_stream``, ``invoke_model`` and
``invoke_model_with_response_stream`` of ``bedrock-runtime`` clients, whenever they were made.
The hook is botocore's ``BaseClient._make_api_call``, which every client method goes through, and,
when aiobotocore is installed, the coroutine ``AioBaseClient._make_api_call`` of its async clients
(``AioSession().create_client("bedrock-runtime")``, aioboto3): a call of any other service or
operation passes straight through, and no client object is changed. ``invoke_model``'s ``body``
is read (to record the reply) and handed back as a fresh body of the same bytes (a botocore
``StreamingBody``, or aiobotocore's own); a stream's ``EventStream`` (``AioEventStream``, read
with ``async for``) comes back proxied, and its span ends when it is read to the end, fails, is
closed or is garbage-collected unread. Under ``opentelemetry-instrument`` it loads by itself
(entry point ``llmotel_bedrock``).
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from time import perf_counter
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from llmotel.instrumentation.bedrock import _extract as extract
from llmotel.instrumentation.bedrock.package import _instruments
from llmotel.instrumentation.bedrock.version import __version__
from llmotel.semconv.attributes import AWS_BEDROCK_GUARDRAIL_ID
from llmotel.semconv.calls import Patches, read_field, server_of_url, telemetry_of
from llmotel.semconv.inference import InferenceTelemetry, Invocation, release_peers, settle_peers
from llmotel.semconv.streams import AsyncStream, SyncStream

__all__ = ["PEERS", "BedrockInstrumentor", "__version__"]

SCOPE = "llmotel.instrumentation.bedrock"
_SERVICE = "bedrock-runtime"
# botocore names a client's class after its service: a cheap first test before the service model's.
_CLASS_NAME = "BedrockRuntime"
_CONVERSE = "Converse"
_CONVERSE_STREAM = "ConverseStream"
_INVOKE = "InvokeModel"
_INVOKE_STREAM = "InvokeModelWithResponseStream"
_OPERATIONS = frozenset({_CONVERSE, _CONVERSE_STREAM, _INVOKE, _INVOKE_STREAM})
#: The other instrumentations of Bedrock Runtime that ``LLMOTEL_INSTRUMENTATION_CONFLICT`` settles.
PEERS = (
    ("opentelemetry.instrumentation.bedrock", "BedrockInstrumentor"),  # OpenLLMetry
    ("openinference.instrumentation.bedrock", "BedrockInstrumentor"),  # OpenInference
)


class EventStream(SyncStream):
    """botocore's ``EventStream`` (iterable, with ``close()``), reporting each event as it is read
    (its time and the accumulator, as every llmotel stream does: ``_self_mark``, ``_self_process``)."""

    def __init__(
        self, wrapped: Any, telemetry: InferenceTelemetry, inv: Invocation, acc: Any
    ) -> None:
        super().__init__(wrapped, telemetry, inv, acc)
        self._self_events: Any = None

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        # As botocore's own ``__iter__``, a generator: resuming it costs less per event than a
        # ``__next__`` call through the proxy (~0.25 µs of the ~1 µs an event adds, measured).
        return self._self_iterate()

    def _self_iterate(self) -> Iterator[Any]:
        events = self._self_events
        if events is None:
            events = self._self_events = iter(self.__wrapped__)
        mark, process = self._self_mark, self._self_process
        try:
            for event in events:
                mark(perf_counter())
                try:
                    process(event)
                except Exception:  # noqa: BLE001
                    self._self_telemetry.warn_once("chunk")
                yield event
        except GeneratorExit:  # the loop left early: the span ends at close() or unreferenced
            raise
        except BaseException as exc:
            self._self_end(exc)
            raise
        self._self_end(None)

    def __next__(self) -> Any:
        # One event through the same generator (its end, error and per-event work); a caller that
        # iterates with for gets the generator itself, and both share the position.
        return next(self._self_iterate())


class AsyncEventStream(AsyncStream):
    """aiobotocore's ``AioEventStream`` (read with ``async for``; its ``close()`` is synchronous),
    reporting each event as :class:`EventStream` does."""

    def __aiter__(self) -> AsyncIterator[Any]:  # type: ignore[override]
        return self._self_iterate()

    def __anext__(self) -> AsyncIterator[Any]:  # type: ignore[override]
        # aiobotocore's own __anext__ is an async generator function (what its __aiter__ returns):
        # the same here, through the one generator that reports.
        return self._self_iterate()

    async def _self_iterate(self) -> AsyncIterator[Any]:
        # Each of aiobotocore's own iterators reads the one event generator of the stream: ours
        # share its position as theirs do.
        mark, process = self._self_mark, self._self_process
        try:
            async for event in self.__wrapped__:
                mark(perf_counter())
                try:
                    process(event)
                except Exception:  # noqa: BLE001
                    self._self_telemetry.warn_once("chunk")
                yield event
        except GeneratorExit:  # the loop left early: the span ends at close() or unreferenced
            raise
        except BaseException as exc:
            self._self_end(exc)
            raise
        self._self_end(None)

    def close(self) -> None:  # type: ignore[override]
        try:
            self.__wrapped__.close()
        finally:
            self._self_end(None)


class _FailedRead(io.RawIOBase):
    """The body of a reply whose reading failed: reading it again raises the same error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        raise self.error


def _body(params: Mapping[str, Any]) -> dict[str, Any]:
    body = params.get("body")
    if isinstance(body, bytes | bytearray | str):  # not a file: reading it would consume it
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _start(
    telemetry: InferenceTelemetry, operation: str, client: Any, params: Mapping[str, Any]
) -> tuple[Invocation, extract.Family | None]:
    model = extract.model_of(params.get("modelId"))
    host, port = server_of_url(getattr(client.meta, "endpoint_url", None))
    family = None
    if operation in (_CONVERSE, _CONVERSE_STREAM):
        name = "chat"
        body: Mapping[str, Any] = params
    else:
        body = _body(params)
        family = extract.family_of(model, body)
        name = family.operation if family is not None else "chat"
    inv = Invocation(
        name,
        extract.PROVIDER,
        request_model=model,
        server_address=host,
        server_port=port,
        stream=operation in (_CONVERSE_STREAM, _INVOKE_STREAM),
    )
    guardrail = params.get("guardrailIdentifier") or read_field(
        params.get("guardrailConfig"), "guardrailIdentifier"
    )
    if type(guardrail) is str:
        inv.attributes = {AWS_BEDROCK_GUARDRAIL_ID: guardrail}
    if family is None:
        if operation in (_CONVERSE, _CONVERSE_STREAM):
            extract.converse_request(inv, params)
            if telemetry.capture_content:
                extract.converse_input(inv, params)
    else:
        family.request(inv, body)
        if telemetry.capture_content:
            family.content(inv, body)
    return inv, family


# What reading an InvokeModel body gave: its bytes, or the error reading it raised.
_Read = tuple[bytes, None] | tuple[None, BaseException]


def _read_body(result: Any) -> _Read | None:
    """Read the body of botocore's InvokeModel reply; the caller gets a fresh ``StreamingBody`` of
    the same bytes (or one whose ``read()`` raises the same error). ``None``: no body."""
    from botocore.response import StreamingBody

    body = result.get("body") if isinstance(result, dict) else None
    if not callable(getattr(body, "read", None)):
        return None
    try:
        data = body.read()  # type: ignore[union-attr]
    except Exception as exc:  # noqa: BLE001 - the caller's own read() gets the same error
        result["body"] = StreamingBody(_FailedRead(exc), None)
        return None, exc
    result["body"] = StreamingBody(io.BytesIO(data), len(data))
    return data, None


class _ReadContent:
    """What the HTTP response gives aiobotocore's body once we have read it: the same bytes again,
    or the same error; as aiohttp's ``ClientResponse.content`` (``read(n)``, ``at_eof()``) or in
    httpx's chunks."""

    __slots__ = ("data", "error", "position")

    def __init__(self) -> None:
        self.data = b""
        self.error: BaseException | None = None
        self.position = 0

    async def read(self, n: int = -1) -> bytes:
        if self.error is not None:
            raise self.error
        start = self.position
        end = len(self.data) if n is None or n < 0 else start + n
        self.position = min(end, len(self.data))
        return self.data[start : self.position]

    def at_eof(self) -> bool:
        return self.error is None and self.position >= len(self.data)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The bytes again as httpx's ``aiter_raw()`` / ``aiter_bytes()`` give a body's (or the
        same error)."""
        if self.error is not None:
            raise self.error
        if self.data:
            yield self.data

    async def whole(self) -> bytes:
        """The bytes again as httpx's ``aread()`` gives them (or the same error)."""
        if self.error is not None:
            raise self.error
        return self.data


class _ReadResponse(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    """The HTTP response under an aiobotocore body whose content we read: everything is the
    response's own (headers, url, ``close()``, ``aclose()``) except what the body reads it by:
    aiohttp's ``content``, httpx's ``aiter_raw()``."""

    def __init__(self, wrapped: Any, content: _ReadContent) -> None:
        super().__init__(wrapped)
        self._self_content = content

    @property
    def content(self) -> _ReadContent:
        return self._self_content

    # httpx's reads, by which aiobotocore's httpx bodies read (its releases use one or another).
    def aiter_raw(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        return self._self_content.chunks()

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        return self._self_content.chunks()

    async def aread(self) -> bytes:
        return await self._self_content.whole()


async def _aread_body(telemetry: InferenceTelemetry, result: Any) -> _Read | None:
    """:func:`_read_body` for aiobotocore: the caller gets a fresh body of aiobotocore's own class
    (``await read()``, ``iter_chunks()``, ``async for``, …) over the same bytes, on its aiohttp
    backend and on its httpx one (``AioConfig(http_session_cls=HttpxSession)``). ``None``: no body
    this knows how to give back, left unread."""
    from aiobotocore import response  # type: ignore[import-untyped,import-not-found,unused-ignore]

    body: Any = result.get("body") if isinstance(result, dict) else None
    kind = type(body)
    if kind is not response.StreamingBody and kind is not getattr(
        response, "HttpxStreamingBody", response.StreamingBody
    ):
        return None
    # Built before reading, so that nothing can fail between reading the body and handing it back.
    content = _ReadContent()
    try:
        # aiobotocore < 3.10's body is a wrapt proxy of the response; later ones hold it.
        raw = body.__wrapped__ if isinstance(body, wrapt.ObjectProxy) else body._raw_stream
        fresh = kind(_ReadResponse(raw, content), None)  # (raw stream, content length)
    except Exception:  # noqa: BLE001 - a layout this does not know: the body stays unread
        telemetry.warn_once("response")
        return None
    try:
        data = await body.read()
    except Exception as exc:  # noqa: BLE001 - the caller's own read() gets the same error
        content.error = exc
        result["body"] = fresh
        return None, exc
    content.data = data
    result["body"] = fresh
    return data, None


def _record_body(
    telemetry: InferenceTelemetry,
    inv: Invocation,
    family: extract.Family | None,
    result: dict[str, Any],
    read: _Read,
) -> None:
    data, error = read
    if error is not None:
        telemetry.fail(inv, error)
        return
    if family is not None and data is not None:
        reply = json.loads(data)
        if isinstance(reply, dict):
            family.response(inv, reply, telemetry.capture_content)
    extract.header_usage(inv, result)


def _complete(
    telemetry: InferenceTelemetry,
    operation: str,
    inv: Invocation,
    family: extract.Family | None,
    result: Any,
    read: _Read | None,
) -> Any:
    """Record ``result`` (and ``read``, its body read) and return it, with its stream replaced by
    ours; the same for botocore and aiobotocore."""
    try:
        if not isinstance(result, dict):
            pass
        elif operation == _CONVERSE:
            extract.converse_response(inv, result, telemetry.capture_content)
        elif operation == _INVOKE:
            if read is not None:
                _record_body(telemetry, inv, family, result, read)
        else:
            key = "stream" if operation == _CONVERSE_STREAM else "body"
            stream = result.get(key)
            proxy = (
                AsyncEventStream
                if hasattr(stream, "__aiter__")
                else EventStream
                if hasattr(stream, "__iter__")
                else None
            )
            if stream is not None and proxy is not None:
                acc: Any = (
                    extract.ConverseEvents(telemetry.capture_content)
                    if operation == _CONVERSE_STREAM
                    else extract.InvokeChunks(family, telemetry.capture_content)
                )
                telemetry.detach(inv)
                result[key] = proxy(stream, telemetry, inv, acc)
                return result
    except Exception:  # noqa: BLE001
        telemetry.warn_once("response")
    telemetry.finish(inv)
    return result


def _is_runtime(client: Any) -> bool:
    if type(client).__name__ != _CLASS_NAME:
        return False
    try:
        return bool(client.meta.service_model.service_name == _SERVICE)
    except Exception:  # noqa: BLE001
        return False


def _skips(telemetry: InferenceTelemetry, instance: Any, args: Any) -> bool:
    # botocore calls _make_api_call(operation_name, api_params), positionally.
    return (
        len(args) != 2
        or args[0] not in _OPERATIONS
        or not _is_runtime(instance)
        or telemetry.should_skip()
    )


def _wrapper(telemetry: InferenceTelemetry) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if _skips(telemetry, instance, args):
            return wrapped(*args, **kwargs)
        operation, params = args
        try:
            inv, family = _start(telemetry, operation, instance, params)
            telemetry.start(inv)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("request")
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
            read = _read_body(result) if operation == _INVOKE else None
        except BaseException as exc:
            telemetry.fail(inv, exc)
            raise
        return _complete(telemetry, operation, inv, family, result, read)

    return wrapper


def _async_wrapper(telemetry: InferenceTelemetry) -> Any:
    """:func:`_wrapper` for aiobotocore, whose ``_make_api_call`` is a coroutine function."""

    async def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if _skips(telemetry, instance, args):
            return await wrapped(*args, **kwargs)
        operation, params = args
        try:
            inv, family = _start(telemetry, operation, instance, params)
            telemetry.start(inv)
        except Exception:  # noqa: BLE001
            telemetry.warn_once("request")
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
            read = await _aread_body(telemetry, result) if operation == _INVOKE else None
        except BaseException as exc:
            telemetry.fail(inv, exc)
            raise
        return _complete(telemetry, operation, inv, family, result, read)

    return wrapper


class BedrockInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments ``bedrock-runtime`` clients of botocore (see the module docstring).

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider`` and ``logger_provider`` (default:
    the global ones). Content capture and the semconv opt-in are read from the environment then.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs: Any) -> None:
        self._patches = patches = Patches()
        if not settle_peers("bedrock-runtime", PEERS):
            return
        telemetry = telemetry_of(SCOPE, __version__, kwargs)
        # Patched when the application imports botocore / aiobotocore (now, if it has); an
        # aiobotocore that is not installed, or never imported, is never patched.
        patches.wrap_on_import("botocore.client", "BaseClient._make_api_call", _wrapper(telemetry))
        patches.wrap_on_import(
            "aiobotocore.client", "AioBaseClient._make_api_call", _async_wrapper(telemetry)
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        self._patches.restore()
        release_peers(PEERS)
