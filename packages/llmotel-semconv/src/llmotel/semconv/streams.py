"""Proxies around an LLM SDK's stream and raw-response objects that end the inference span when
the stream or response does, and :func:`complete`, which picks the right one for a call's result.

Shared by every llmotel instrumentation of a Stainless-generated SDK (openai, anthropic). The span
ends when the stream is exhausted, raises, is closed, leaves its ``with`` block, or is
garbage-collected unread (then it carries ``llmotel.stream.abandoned``). A raw response
(``with_raw_response`` / ``with_streaming_response``) is proxied so that what its ``parse()`` returns
is seen (a stream comes back wrapped) and its ``close()`` ends the span, as does closing a streamed
one's ``http_response`` directly. The proxies are
``wrapt.ObjectProxy``s: ``isinstance(stream, openai.Stream)`` and every attribute still work, and
the caller receives the same objects, chunks and headers as without instrumentation.

This module needs ``wrapt``: install ``llmotel-semconv[instrumentation]`` (the instrumentations
do); the rest of ``llmotel.semconv`` depends on ``opentelemetry-api`` only.
"""

from __future__ import annotations

import inspect
import sys
import weakref
from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any, Protocol

import wrapt

from llmotel.semconv.inference import InferenceTelemetry, Invocation


class Accumulator(Protocol):
    """Reads the chunks of one stream and puts what they say on the invocation at the end."""

    def process(self, chunk: Any) -> bool:
        """Read one chunk; ``True`` hides it from the caller (the usage chunk we asked for)."""

    def apply(self, inv: Invocation) -> None:
        """Copy the accumulated response onto ``inv``."""


#: The header the SDKs' ``with_raw_response`` (``"raw"``, or ``"true"`` in openai's legacy one) and
#: ``with_streaming_response`` (``"stream"``) wrappers add to a call's ``extra_headers``.
RAW_RESPONSE_HEADER = "x-stainless-raw-response"

Record = Callable[[Invocation, Any], None]
"""Copies a parsed (non-streamed) response onto the invocation."""


def raw_mode(kwargs: Mapping[str, Any]) -> str | None:
    """``"raw"`` or ``"stream"`` when the SDK's raw-response wrapper marked this call, else ``None``."""
    headers = kwargs.get("extra_headers")
    if not headers or not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if type(key) is str and key.lower() == RAW_RESPONSE_HEADER:
            return "stream" if value == "stream" else "raw"
    return None


def _end(
    telemetry: InferenceTelemetry,
    inv: Invocation,
    acc: Accumulator,
    error: BaseException | None,
    abandoned: bool = False,
) -> None:
    try:
        acc.apply(inv)
    except Exception:  # noqa: BLE001
        telemetry.warn_once("stream")
    if abandoned:
        telemetry.abandon(inv)
    elif error is None:
        telemetry.finish(inv)
    else:
        telemetry.fail(inv, error)


def _abandon(telemetry: InferenceTelemetry, inv: Invocation, acc: Accumulator) -> None:
    _end(telemetry, inv, acc, None, abandoned=True)


def _protocol(stream: Any, method: str, protocol: str) -> Any:
    """``stream``'s bound ``method``, or the TypeError Python raises for a ``with`` on an object
    whose type lacks it (botocore's event streams have no context manager): the proxy defines
    every protocol, its caller must see the wrapped stream's own."""
    if getattr(type(stream), method, None) is None:
        raise TypeError(
            f"{type(stream).__name__!r} object does not support the {protocol} protocol"
        )
    return getattr(stream, method)


class _Base(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    def __init__(
        self, wrapped: Any, telemetry: InferenceTelemetry, inv: Invocation, acc: Accumulator
    ) -> None:
        super().__init__(wrapped)
        self._self_telemetry = telemetry
        self._self_inv = inv
        self._self_acc = acc
        # Per chunk: its time (the telemetry's chunk(), without the call) and the accumulator.
        self._self_mark = telemetry.chunk_times(inv).append
        self._self_process = acc.process
        self._self_done = False
        self._self_finalizer = weakref.finalize(self, _abandon, telemetry, inv, acc)
        self._self_finalizer.atexit = False

    def _self_end(self, error: BaseException | None) -> None:
        if self._self_done:
            return
        self._self_done = True
        self._self_finalizer.detach()
        _end(self._self_telemetry, self._self_inv, self._self_acc, error)


class SyncStream(_Base):
    """A ``Stream`` that reports to ``telemetry`` as it is read."""

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Any:
        while True:
            try:
                chunk = self.__wrapped__.__next__()
            except StopIteration:
                self._self_end(None)
                raise
            except BaseException as exc:
                self._self_end(exc)
                raise
            self._self_mark(perf_counter())
            try:
                if not self._self_process(chunk):  # True: the chunk we asked for, hidden
                    return chunk
            except Exception:  # noqa: BLE001
                self._self_telemetry.warn_once("chunk")
                return chunk

    def __enter__(self) -> SyncStream:
        _protocol(self.__wrapped__, "__enter__", "context manager")()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_end(None)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_end(None)


class AsyncStream(_Base):
    """An ``AsyncStream`` that reports to ``telemetry`` as it is read."""

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                chunk = await self.__wrapped__.__anext__()
            except StopAsyncIteration:
                self._self_end(None)
                raise
            except BaseException as exc:
                self._self_end(exc)
                raise
            self._self_mark(perf_counter())
            try:
                if not self._self_process(chunk):  # True: the chunk we asked for, hidden
                    return chunk
            except Exception:  # noqa: BLE001
                self._self_telemetry.warn_once("chunk")
                return chunk

    async def __aenter__(self) -> AsyncStream:
        await _protocol(self.__wrapped__, "__aenter__", "asynchronous context manager")()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_end(None)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_end(None)


def _abandon_raw(telemetry: InferenceTelemetry, inv: Invocation, acc: Accumulator | None) -> None:
    if acc is None:
        telemetry.abandon(inv)
    else:
        _end(telemetry, inv, acc, None, abandoned=True)


class RawResponse(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    """A raw response whose ``parse()`` is synchronous (openai's ``LegacyAPIResponse``, which has
    no ``close()``): a parsed reply is recorded, a parsed stream comes back wrapped."""

    def __init__(
        self,
        wrapped: Any,
        telemetry: InferenceTelemetry,
        inv: Invocation,
        acc: Accumulator | None,
        record: Record,
    ) -> None:
        super().__init__(wrapped)
        self._self_telemetry = telemetry
        self._self_inv = inv
        self._self_acc = acc
        self._self_record = record
        self._self_parsed: Any = None  # what parse() returned first
        self._self_stream: _Base | None = None  # our proxy of it, for a streamed call
        self._self_done = False
        self._self_finalizer = weakref.finalize(self, _abandon_raw, telemetry, inv, acc)
        self._self_finalizer.atexit = False
        if acc is not None:
            try:
                _end_at_http_close(self)
            except Exception:  # noqa: BLE001
                telemetry.warn_once("raw response")

    def _self_http_closed(self) -> None:
        """The caller closed the HTTP response itself (``raw.http_response.close()``): the stream
        can give no more chunks, so the span ends now rather than when the proxy is collected."""
        stream = self._self_stream
        if stream is not None:
            iterator = getattr(stream.__wrapped__, "_iterator", None)
            if getattr(iterator, "gi_running", False) or getattr(iterator, "ag_running", False):
                return  # the SDK's stream closes it as it ends: the stream proxy sees that end
        try:
            self._self_end()
        except Exception:  # noqa: BLE001
            self._self_telemetry.warn_once("raw response")

    def _self_seen(self, parsed: Any) -> Any:
        """What the caller gets for ``parsed``: a streamed reply wrapped (once), else ``parsed``."""
        if self._self_stream is not None:  # the same proxy each time, even after the end
            return self._self_stream if parsed is self._self_parsed else parsed
        if self._self_done:
            return parsed
        try:
            if self._self_acc is None:
                if self._self_parsed is None:
                    self._self_parsed = parsed
                    self._self_record(self._self_inv, parsed)
                return parsed
            if hasattr(parsed, "__aiter__"):
                self._self_stream = AsyncStream(
                    parsed, self._self_telemetry, self._self_inv, self._self_acc
                )
            elif hasattr(parsed, "__next__"):
                self._self_stream = SyncStream(
                    parsed, self._self_telemetry, self._self_inv, self._self_acc
                )
            else:
                return parsed
            self._self_parsed = parsed
            # From now on the stream proxy ends the span (read to the end, closed, or collected).
            self._self_finalizer.detach()
            return self._self_stream
        except Exception:  # noqa: BLE001
            self._self_telemetry.warn_once("raw response")
            return parsed

    def _self_end(self) -> None:
        if self._self_done:
            return
        self._self_done = True
        self._self_finalizer.detach()
        if self._self_stream is not None:
            self._self_stream._self_end(None)
        elif self._self_acc is not None:
            _end(self._self_telemetry, self._self_inv, self._self_acc, None)
        else:
            self._self_telemetry.finish(self._self_inv)

    def _self_body_read(self) -> bool:
        # Whether the body was read in full (then parse() does no I/O).
        try:
            self.__wrapped__.http_response.content  # noqa: B018
        except Exception:  # noqa: BLE001
            return False
        return True

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_seen(self.__wrapped__.parse(*args, **kwargs))


def _end_at_http_close(raw: RawResponse) -> None:
    """Make ``raw.http_response``'s ``close()`` / ``aclose()`` end ``raw``'s span too.

    An attribute of that one response object (the caller keeps the same object, type and result);
    it holds ``raw`` weakly, so that an unread response is still garbage-collected and abandoned
    (the response's own reference cycle, through its method, is freed with the SDK stream's)."""
    response = getattr(raw.__wrapped__, "http_response", None)
    if response is None or not hasattr(response, "__dict__"):
        return
    proxy = weakref.ref(raw)
    cls = type(response)
    close, aclose = getattr(cls, "close", None), getattr(cls, "aclose", None)
    # The HTTP library closes a response itself once its body is read to the end (read(),
    # iter_bytes(), …); whoever reads the body ends the span then, not this close.
    library = cls.__module__.partition(".")[0]

    def closed() -> None:
        target = proxy()
        try:
            caller = str(sys._getframe(2).f_globals.get("__name__"))
            if target is not None and caller.partition(".")[0] != library:
                target._self_http_closed()
        except Exception:  # noqa: BLE001 - never into the caller's close()
            if target is not None:
                target._self_telemetry.warn_once("raw response")

    if callable(close):

        def close_and_end(*args: Any, **kwargs: Any) -> Any:
            result = close(response, *args, **kwargs)
            closed()
            return result

        response.close = close_and_end
    if callable(aclose):

        async def aclose_and_end(*args: Any, **kwargs: Any) -> Any:
            result = await aclose(response, *args, **kwargs)
            closed()
            return result

        response.aclose = aclose_and_end


class ClosableRawResponse(RawResponse):
    """A raw response with a synchronous ``parse()`` and ``close()`` (``APIResponse``): closing it
    (which ``with_streaming_response``'s ``with`` does) ends the span."""

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            if (
                not self._self_done
                and self._self_acc is None
                and self._self_parsed is None
                and self._self_body_read()
            ):
                try:  # read by .read()/.json()/.text(): parsing the read body does no I/O
                    self._self_seen(self.__wrapped__.parse())
                except Exception:  # noqa: BLE001
                    self._self_telemetry.warn_once("raw response")
            self._self_end()


class AsyncRawResponse(RawResponse):
    """A raw response with ``async`` ``parse()`` and ``close()`` (``AsyncAPIResponse``)."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_seen(await self.__wrapped__.parse(*args, **kwargs))

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            if (
                not self._self_done
                and self._self_acc is None
                and self._self_parsed is None
                and self._self_body_read()
            ):
                try:
                    self._self_seen(await self.__wrapped__.parse())
                except Exception:  # noqa: BLE001
                    self._self_telemetry.warn_once("raw response")
            self._self_end()


_async_parse: dict[type, bool] = {}


def _raw_proxy(result: Any) -> type[RawResponse]:
    cls = type(result)
    is_async = _async_parse.get(cls)
    if is_async is None:
        is_async = _async_parse[cls] = inspect.iscoroutinefunction(getattr(cls, "parse", None))
    if is_async:
        return AsyncRawResponse
    return ClosableRawResponse if callable(getattr(cls, "close", None)) else RawResponse


def complete(
    telemetry: InferenceTelemetry,
    inv: Invocation,
    result: Any,
    mode: str | None,
    acc: Accumulator | None,
    record: Record,
) -> Any:
    """Record what the SDK returned for a started invocation; return what the caller gets.

    ``mode`` is :func:`raw_mode` of the call, ``acc`` the accumulator of a streamed call (``None``
    otherwise), ``record`` copies a parsed reply onto ``inv``. A plain reply ends the span now; a
    stream or a raw response comes back proxied and ends it later. A raw, non-streamed response
    whose ``parse()`` is a coroutine is :func:`acomplete`'s.
    """
    try:
        if mode is None:
            if acc is not None:
                telemetry.detach(inv)
                if hasattr(result, "__aiter__"):
                    return AsyncStream(result, telemetry, inv, acc)
                return SyncStream(result, telemetry, inv, acc)
            record(inv, result)
        else:
            proxy = _raw_proxy(result)
            if acc is not None or mode == "stream" or proxy is AsyncRawResponse:
                telemetry.detach(inv)
                return proxy(result, telemetry, inv, acc, record)
            # with_raw_response, not streamed: the body is read and parse() caches what it
            # returns, so the caller's own parse() gets this very object.
            record(inv, result.parse())
    except Exception:  # noqa: BLE001
        telemetry.warn_once("response")
    telemetry.finish(inv)
    return result


async def acomplete(
    telemetry: InferenceTelemetry,
    inv: Invocation,
    result: Any,
    mode: str | None,
    acc: Accumulator | None,
    record: Record,
) -> Any:
    """:func:`complete` for an ``async`` SDK method."""
    if mode != "raw" or acc is not None or _raw_proxy(result) is not AsyncRawResponse:
        return complete(telemetry, inv, result, mode, acc, record)
    try:
        record(inv, await result.parse())
    except Exception:  # noqa: BLE001
        telemetry.warn_once("response")
    finally:
        telemetry.finish(inv)
    return result
