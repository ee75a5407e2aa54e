"""Every instrumented anthropic call path, uninstrumented vs instrumented: the caller gets the same
results (events, messages, headers, exceptions), the stub the same requests, and each call leaves
exactly one ended span with the response attributes that path allows. A path added to ``PATHS``
goes through every check, and ``test_every_wrapped_method_has_a_path`` fails when a wrapped SDK
method has no path."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.testing import (
    StubServer,
    Usage,
    error_reply,
    stream_error_reply,
    text_reply,
    tool_call_reply,
)
from llmotel.testing.differential import (
    CallPath,
    Expect,
    compare_async,
    compare_sync,
    uncovered,
)

from .conftest import Instrument

# Content capture on: the instrumented run goes through every accumulator and content reader too.
CAPTURE = "SPAN_AND_EVENT"
KW: Any = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 100,
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "messages": [{"role": "user", "content": "Say hello"}],
}
REPLY = text_reply("one two three four", usage=Usage(input_tokens=9, output_tokens=4))

IDS = frozenset({"gen_ai.response.id", "gen_ai.response.model", "anthropic.request.id"})
USAGE = frozenset(
    {
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "anthropic.response.service_tier",
    }
)
FULL = IDS | USAGE | {"gen_ai.response.finish_reasons"}
STREAMED = frozenset({"gen_ai.request.stream", "gen_ai.response.time_to_first_chunk"})
EARLY = IDS | STREAMED  # left after message_start: ids and the usage so far, no finish reason


def create(r: Any) -> Any:
    return r.create(**KW)


async def acreate(r: Any) -> Any:
    return await r.create(**KW)


def stream(r: Any) -> Any:
    return list(r.create(**KW, stream=True))


async def astream(r: Any) -> Any:
    return [e async for e in await r.create(**KW, stream=True)]


def stream_close(r: Any) -> Any:
    events = r.create(**KW, stream=True)
    first = next(iter(events))
    events.close()
    return [first, events.response.is_closed]


async def astream_close(r: Any) -> Any:
    events = await r.create(**KW, stream=True)
    first = await events.__anext__()
    await events.close()
    return [first, events.response.is_closed]


def stream_with(r: Any) -> Any:
    with r.create(**KW, stream=True) as events:
        for event in events:
            return event
    return None


async def astream_with(r: Any) -> Any:
    async with await r.create(**KW, stream=True) as events:
        async for event in events:
            return event
    return None


def stream_abandoned(r: Any) -> Any:
    return next(iter(r.create(**KW, stream=True)))


async def astream_abandoned(r: Any) -> Any:
    events = await r.create(**KW, stream=True)
    first = await events.__anext__()
    del events
    return first


def stream_error(r: Any) -> Any:
    seen: list[Any] = []
    try:
        seen.extend(r.create(**KW, stream=True))
    except anthropic.APIError as exc:
        seen.append(("raised", type(exc).__name__, str(exc)))
    return seen


async def astream_error(r: Any) -> Any:
    seen: list[Any] = []
    try:
        async for event in await r.create(**KW, stream=True):
            seen.append(event)  # noqa: PERF401 - keeps the events read before the error
    except anthropic.APIError as exc:
        seen.append(("raised", type(exc).__name__, str(exc)))
    return seen


def raw(r: Any) -> Any:
    response = r.with_raw_response.create(**KW)
    return [response.headers, response.status_code, response.parse()]


async def araw(r: Any) -> Any:
    response = await r.with_raw_response.create(**KW)
    parsed = response.parse()
    if not isinstance(parsed, anthropic.types.Message):  # anthropic 2: parse() is async
        parsed = await parsed
    return [response.headers, response.status_code, parsed]


def raw_stream(r: Any) -> Any:
    response = r.with_raw_response.create(**KW, stream=True)
    return [response.headers, list(response.parse())]


async def _aparse(response: Any) -> Any:
    parsed = response.parse()
    return parsed if hasattr(parsed, "__aiter__") else await parsed


async def araw_stream(r: Any) -> Any:
    response = await r.with_raw_response.create(**KW, stream=True)
    return [response.headers, [e async for e in await _aparse(response)]]


def raw_stream_close(r: Any) -> Any:  # parsed, one event, then closed
    response = r.with_raw_response.create(**KW, stream=True)
    events = response.parse()
    first = next(iter(events))
    # anthropic 2 has APIResponse.close(); the legacy response of older ones has none: close
    # the stream the caller parsed from it.
    (response if hasattr(response, "close") else events).close()
    return first


async def araw_stream_close(r: Any) -> Any:
    response = await r.with_raw_response.create(**KW, stream=True)
    events = await _aparse(response)
    first = await events.__anext__()
    await (response if hasattr(response, "close") else events).close()
    return first


def raw_stream_unread(r: Any) -> Any:
    return r.with_raw_response.create(**KW, stream=True).headers


async def araw_stream_unread(r: Any) -> Any:
    return (await r.with_raw_response.create(**KW, stream=True)).headers


def raw_stream_http_close(r: Any) -> Any:  # one event, then the HTTP response closed
    response = r.with_raw_response.create(**KW, stream=True)
    first = next(iter(response.parse()))
    response.http_response.close()
    return [first, response.http_response.is_closed]


async def araw_stream_http_close(r: Any) -> Any:
    response = await r.with_raw_response.create(**KW, stream=True)
    first = await (await _aparse(response)).__anext__()
    await response.http_response.aclose()
    return [first, response.http_response.is_closed]


def raw_stream_read_first(r: Any) -> Any:  # body read (httpx closes it), then parsed
    response = r.with_raw_response.create(**KW, stream=True)
    response.http_response.read()
    return [response.headers, list(response.parse())]


async def araw_stream_read_first(r: Any) -> Any:
    response = await r.with_raw_response.create(**KW, stream=True)
    await response.http_response.aread()
    return [response.headers, [e async for e in await _aparse(response)]]


def raw_stream_unread_http_close(r: Any) -> Any:  # closed before parse()
    response = r.with_raw_response.create(**KW, stream=True)
    response.http_response.close()
    return [response.headers, response.http_response.is_closed]


async def araw_stream_unread_http_close(r: Any) -> Any:
    response = await r.with_raw_response.create(**KW, stream=True)
    await response.http_response.aclose()
    return [response.headers, response.http_response.is_closed]


def streaming(r: Any) -> Any:
    with r.with_streaming_response.create(**KW) as response:
        return [response.headers, response.parse()]


async def astreaming(r: Any) -> Any:
    async with r.with_streaming_response.create(**KW) as response:
        return [response.headers, await response.parse()]


def streaming_json(r: Any) -> Any:
    with r.with_streaming_response.create(**KW) as response:
        return response.json()


async def astreaming_json(r: Any) -> Any:
    async with r.with_streaming_response.create(**KW) as response:
        return await response.json()


def streaming_unread(r: Any) -> Any:
    with r.with_streaming_response.create(**KW) as response:
        return response.status_code


async def astreaming_unread(r: Any) -> Any:
    async with r.with_streaming_response.create(**KW) as response:
        return response.status_code


def streaming_stream(r: Any) -> Any:
    with r.with_streaming_response.create(**KW, stream=True) as response:
        return [response.headers, list(response.parse())]


async def astreaming_stream(r: Any) -> Any:
    async with r.with_streaming_response.create(**KW, stream=True) as response:
        return [response.headers, [e async for e in await response.parse()]]


def streaming_stream_break(r: Any) -> Any:
    with r.with_streaming_response.create(**KW, stream=True) as response:
        return next(iter(response.parse()))


async def astreaming_stream_break(r: Any) -> Any:
    async with r.with_streaming_response.create(**KW, stream=True) as response:
        return await (await response.parse()).__anext__()


def streaming_stream_http_close(r: Any) -> Any:  # one event, then the HTTP response closed
    with r.with_streaming_response.create(**KW, stream=True) as response:
        first = next(iter(response.parse()))
        response.http_response.close()
        return [first, response.http_response.is_closed]


async def astreaming_stream_http_close(r: Any) -> Any:
    async with r.with_streaming_response.create(**KW, stream=True) as response:
        first = await (await response.parse()).__anext__()
        await response.http_response.aclose()
        return [first, response.http_response.is_closed]


def streaming_stream_unread_http_close(r: Any) -> Any:  # closed before parse()
    with r.with_streaming_response.create(**KW, stream=True) as response:
        response.http_response.close()
        return [response.headers, response.http_response.is_closed]


async def astreaming_stream_unread_http_close(r: Any) -> Any:
    async with r.with_streaming_response.create(**KW, stream=True) as response:
        await response.http_response.aclose()
        return [response.headers, response.http_response.is_closed]


def helper(r: Any) -> Any:
    with r.stream(**KW) as events:
        texts = list(events.text_stream)
        return [texts, events.get_final_message()]


async def ahelper(r: Any) -> Any:
    async with r.stream(**KW) as events:
        texts = [t async for t in events.text_stream]
        return [texts, await events.get_final_message()]


def helper_break(r: Any) -> Any:
    with r.stream(**KW) as events:
        for event in events:
            return event
    return None


async def ahelper_break(r: Any) -> Any:
    async with r.stream(**KW) as events:
        async for event in events:
            return event
    return None


def helper_error(r: Any) -> Any:
    with r.stream(**KW) as events:
        return events.get_final_message()


async def ahelper_error(r: Any) -> Any:
    async with r.stream(**KW) as events:
        return await events.get_final_message()


_M = "messages"
_TOOL = tool_call_reply("get_weather", {"city": "Paris"})
_OVERLOADED = error_reply(529)
_MID = stream_error_reply(3, "boom", status=529)

PATHS = (
    CallPath("create", _M, "create", create, acreate, Expect(FULL), (REPLY,)),
    CallPath("create-tools", _M, "create", create, acreate, Expect(FULL), (_TOOL,)),
    CallPath("stream", _M, "create", stream, astream, Expect(FULL | STREAMED)),
    CallPath("stream-tools", _M, "create", stream, astream, Expect(FULL | STREAMED), (_TOOL,)),
    CallPath("stream-close", _M, "create", stream_close, astream_close, Expect(EARLY)),
    CallPath("stream-with", _M, "create", stream_with, astream_with, Expect(EARLY)),
    CallPath(
        "stream-abandoned",
        _M,
        "create",
        stream_abandoned,
        astream_abandoned,
        Expect(EARLY, abandoned=True),
    ),
    CallPath("error", _M, "create", create, acreate, Expect(error=True), (_OVERLOADED,)),
    CallPath(
        "stream-error",
        _M,
        "create",
        stream_error,
        astream_error,
        Expect(EARLY, error=True),
        (_MID,),
    ),
    CallPath("raw", _M, "create", raw, araw, Expect(FULL)),
    CallPath("raw-error", _M, "create", raw, araw, Expect(error=True), (_OVERLOADED,)),
    CallPath("raw-stream", _M, "create", raw_stream, araw_stream, Expect(FULL | STREAMED)),
    CallPath("raw-stream-close", _M, "create", raw_stream_close, araw_stream_close, Expect(EARLY)),
    CallPath(
        "raw-stream-unread",
        _M,
        "create",
        raw_stream_unread,
        araw_stream_unread,
        Expect(frozenset({"anthropic.request.id"}), abandoned=True),
    ),
    CallPath(
        "raw-stream-http-close",
        _M,
        "create",
        raw_stream_http_close,
        araw_stream_http_close,
        Expect(EARLY),
    ),
    CallPath(
        "raw-stream-read-first",
        _M,
        "create",
        raw_stream_read_first,
        araw_stream_read_first,
        Expect(FULL | STREAMED),
    ),
    CallPath(
        "raw-stream-unread-http-close",
        _M,
        "create",
        raw_stream_unread_http_close,
        araw_stream_unread_http_close,
        Expect(frozenset({"anthropic.request.id"})),
    ),
    CallPath("streaming", _M, "create", streaming, astreaming, Expect(FULL)),
    CallPath("streaming-json", _M, "create", streaming_json, astreaming_json, Expect(FULL)),
    CallPath(
        "streaming-unread",
        _M,
        "create",
        streaming_unread,
        astreaming_unread,
        Expect(frozenset({"anthropic.request.id"})),
    ),
    CallPath(
        "streaming-stream",
        _M,
        "create",
        streaming_stream,
        astreaming_stream,
        Expect(FULL | STREAMED),
    ),
    CallPath(
        "streaming-stream-break",
        _M,
        "create",
        streaming_stream_break,
        astreaming_stream_break,
        Expect(EARLY),
    ),
    CallPath(
        "streaming-stream-http-close",
        _M,
        "create",
        streaming_stream_http_close,
        astreaming_stream_http_close,
        Expect(EARLY),
    ),
    CallPath(
        "streaming-stream-unread-http-close",
        _M,
        "create",
        streaming_stream_unread_http_close,
        astreaming_stream_unread_http_close,
        Expect(frozenset({"anthropic.request.id"})),
    ),
    CallPath("helper", _M, "stream", helper, ahelper, Expect(FULL | STREAMED)),
    CallPath("helper-break", _M, "stream", helper_break, ahelper_break, Expect(EARLY)),
    CallPath(
        "helper-error",
        _M,
        "stream",
        helper_error,
        ahelper_error,
        Expect(error=True),
        (_OVERLOADED,),
    ),
)


def _client(stub: StubServer, is_async: bool) -> Any:
    cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
    return cls(base_url=stub.anthropic_base_url, api_key="test", max_retries=0)


@pytest.mark.parametrize("path", PATHS, ids=str)
def test_sync_path(
    path: CallPath,
    instrument: Instrument,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    compare_sync(
        path,
        lambda: _client(llm_stub, False),
        lambda: instrument(capture=CAPTURE),
        llm_stub,
        span_exporter,
    )


@pytest.mark.parametrize("path", PATHS, ids=str)
async def test_async_path(
    path: CallPath,
    instrument: Instrument,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    await compare_async(
        path,
        lambda: _client(llm_stub, True),
        lambda: instrument(capture=CAPTURE),
        llm_stub,
        span_exporter,
    )


def test_every_wrapped_method_has_a_path(instrument: Instrument, llm_stub: StubServer) -> None:
    instrumentor = instrument()
    clients = (_client(llm_stub, False), _client(llm_stub, True))
    assert uncovered(PATHS, clients, instrumentor._patches, "anthropic") == []
