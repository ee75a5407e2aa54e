"""Proxies around an LLM SDK's stream objects that end the inference span when the stream does.

Shared by every llmotel instrumentation that wraps a streamed reply (openai, anthropic). The span
ends when the stream is exhausted, raises, is closed, leaves its ``with`` block, or is
garbage-collected unread (then it carries ``llmotel.stream.abandoned``). The proxy is a
``wrapt.ObjectProxy``: ``isinstance(stream, openai.Stream)`` and every attribute still work.

This module needs ``wrapt``: install ``llmotel-semconv[instrumentation]`` (the instrumentations
do); the rest of ``llmotel.semconv`` depends on ``opentelemetry-api`` only.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

import wrapt

from llmotel.semconv.inference import InferenceTelemetry, Invocation


class Accumulator(Protocol):
    """Reads the chunks of one stream and puts what they say on the invocation at the end."""

    def process(self, chunk: Any) -> bool:
        """Read one chunk; ``True`` hides it from the caller (the usage chunk we asked for)."""

    def apply(self, inv: Invocation) -> None:
        """Copy the accumulated response onto ``inv``."""


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
        telemetry._warn("stream")
    if abandoned:
        telemetry.abandon(inv)
    elif error is None:
        telemetry.finish(inv)
    else:
        telemetry.fail(inv, error)


def _abandon(telemetry: InferenceTelemetry, inv: Invocation, acc: Accumulator) -> None:
    _end(telemetry, inv, acc, None, abandoned=True)


class _Base(wrapt.ObjectProxy):  # type: ignore[type-arg,misc,unused-ignore]
    def __init__(
        self, wrapped: Any, telemetry: InferenceTelemetry, inv: Invocation, acc: Accumulator
    ) -> None:
        super().__init__(wrapped)
        self._self_telemetry = telemetry
        self._self_inv = inv
        self._self_acc = acc
        self._self_done = False
        self._self_finalizer = weakref.finalize(self, _abandon, telemetry, inv, acc)
        self._self_finalizer.atexit = False

    def _self_end(self, error: BaseException | None) -> None:
        if self._self_done:
            return
        self._self_done = True
        self._self_finalizer.detach()
        _end(self._self_telemetry, self._self_inv, self._self_acc, error)

    def _self_chunk(self, chunk: Any) -> bool:
        self._self_telemetry.chunk(self._self_inv)
        try:
            return self._self_acc.process(chunk)
        except Exception:  # noqa: BLE001
            self._self_telemetry._warn("chunk")
            return False


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
            if not self._self_chunk(chunk):
                return chunk

    def __enter__(self) -> SyncStream:
        self.__wrapped__.__enter__()
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
            if not self._self_chunk(chunk):
                return chunk

    async def __aenter__(self) -> AsyncStream:
        await self.__wrapped__.__aenter__()
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
