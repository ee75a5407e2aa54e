"""Every instrumented openai call path, uninstrumented vs instrumented: the caller gets the same
results (chunks, objects, headers, exceptions) and each call leaves exactly one ended span with the
response attributes that path allows. A path added to ``PATHS`` goes through both checks, and
``test_every_wrapped_method_has_a_path`` fails when a wrapped SDK method has no path."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

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
MODEL = "gpt-4o-mini"
MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
REPLY = text_reply("one two three four", usage=Usage(input_tokens=9, output_tokens=4))


class Answer(BaseModel):
    value: int


RESPONSE = frozenset(
    {"gen_ai.response.id", "gen_ai.response.model", "gen_ai.response.finish_reasons"}
)
USAGE = frozenset({"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"})
CHAT = RESPONSE | {
    "openai.api.type",
    "openai.response.service_tier",
    "openai.response.system_fingerprint",
}
CHAT_FULL = CHAT | USAGE
CHAT_EARLY = CHAT - {"gen_ai.response.finish_reasons"}  # left before the last chunk
STREAMED = frozenset({"gen_ai.request.stream", "gen_ai.response.time_to_first_chunk"})
RESPONSES = RESPONSE | USAGE | {"openai.api.type", "openai.response.service_tier"}


def _create(**kw: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": MESSAGES, **kw}


# -- chat.completions.create ----------------------------------------------------------------------


def chat_plain(r: Any) -> Any:
    return r.create(**_create())


async def achat_plain(r: Any) -> Any:
    return await r.create(**_create())


def chat_stream(r: Any) -> Any:
    return list(r.create(**_create(stream=True)))


async def achat_stream(r: Any) -> Any:
    return [c async for c in await r.create(**_create(stream=True))]


def chat_stream_usage(r: Any) -> Any:  # the caller asked for the usage chunk: it sees it
    return list(r.create(**_create(stream=True, stream_options={"include_usage": True})))


async def achat_stream_usage(r: Any) -> Any:
    stream = await r.create(**_create(stream=True, stream_options={"include_usage": True}))
    return [c async for c in stream]


def chat_stream_close(r: Any) -> Any:
    stream = r.create(**_create(stream=True))
    first = next(stream)
    stream.close()
    return [first, stream.response.is_closed]


async def achat_stream_close(r: Any) -> Any:
    stream = await r.create(**_create(stream=True))
    first = await stream.__anext__()
    await stream.close()
    return [first, stream.response.is_closed]


def chat_stream_with(r: Any) -> Any:  # left the with block after one chunk
    with r.create(**_create(stream=True)) as stream:
        for chunk in stream:
            return chunk
    return None


async def achat_stream_with(r: Any) -> Any:
    async with await r.create(**_create(stream=True)) as stream:
        async for chunk in stream:
            return chunk
    return None


def chat_stream_abandoned(r: Any) -> Any:
    return next(r.create(**_create(stream=True)))  # the stream is dropped unread


async def achat_stream_abandoned(r: Any) -> Any:
    stream = await r.create(**_create(stream=True))
    first = await stream.__anext__()
    del stream
    return first


def chat_tools(r: Any) -> Any:
    return r.create(**_create())


async def achat_tools(r: Any) -> Any:
    return await r.create(**_create())


def chat_tools_stream(r: Any) -> Any:
    return list(r.create(**_create(stream=True)))


async def achat_tools_stream(r: Any) -> Any:
    return [c async for c in await r.create(**_create(stream=True))]


def chat_error(r: Any) -> Any:
    return r.create(**_create())


async def achat_error(r: Any) -> Any:
    return await r.create(**_create())


def chat_stream_error(r: Any) -> Any:
    seen: list[Any] = []
    try:
        seen.extend(r.create(**_create(stream=True)))
    except openai.APIError as exc:
        seen.append(("raised", type(exc).__name__, str(exc)))
    return seen


async def achat_stream_error(r: Any) -> Any:
    seen: list[Any] = []
    try:
        async for chunk in await r.create(**_create(stream=True)):
            seen.append(chunk)  # noqa: PERF401 - keeps the chunks read before the error
    except openai.APIError as exc:
        seen.append(("raised", type(exc).__name__, str(exc)))
    return seen


# -- raw and streaming responses ------------------------------------------------------------------


def chat_raw(r: Any) -> Any:
    raw = r.with_raw_response.create(**_create())
    return [raw.headers, raw.status_code, raw.parse()]


async def achat_raw(r: Any) -> Any:
    raw = await r.with_raw_response.create(**_create())
    return [raw.headers, raw.status_code, raw.parse()]


def chat_raw_stream(r: Any) -> Any:
    raw = r.with_raw_response.create(**_create(stream=True))
    return [raw.headers, list(raw.parse())]


async def achat_raw_stream(r: Any) -> Any:
    raw = await r.with_raw_response.create(**_create(stream=True))
    return [raw.headers, [c async for c in raw.parse()]]


def chat_raw_stream_usage(r: Any) -> Any:
    raw = r.with_raw_response.create(**_create(stream=True, stream_options={"include_usage": True}))
    return [raw.headers, list(raw.parse())]


async def achat_raw_stream_usage(r: Any) -> Any:
    raw = await r.with_raw_response.create(
        **_create(stream=True, stream_options={"include_usage": True})
    )
    return [raw.headers, [c async for c in raw.parse()]]


def chat_raw_stream_unread(r: Any) -> Any:  # headers read, the stream never parsed
    return r.with_raw_response.create(**_create(stream=True)).headers


async def achat_raw_stream_unread(r: Any) -> Any:
    return (await r.with_raw_response.create(**_create(stream=True))).headers


def chat_raw_stream_http_close(r: Any) -> Any:  # one chunk, then the HTTP response closed
    raw = r.with_raw_response.create(**_create(stream=True))
    first = next(iter(raw.parse()))
    raw.http_response.close()
    return [first, raw.http_response.is_closed]


async def achat_raw_stream_http_close(r: Any) -> Any:
    raw = await r.with_raw_response.create(**_create(stream=True))
    first = await raw.parse().__anext__()
    await raw.http_response.aclose()
    return [first, raw.http_response.is_closed]


def chat_raw_stream_read_first(r: Any) -> Any:  # body read (httpx closes it), then parsed
    raw = r.with_raw_response.create(**_create(stream=True))
    raw.http_response.read()
    return [raw.headers, list(raw.parse())]


async def achat_raw_stream_read_first(r: Any) -> Any:
    raw = await r.with_raw_response.create(**_create(stream=True))
    await raw.http_response.aread()
    return [raw.headers, [c async for c in raw.parse()]]


def chat_raw_stream_unread_http_close(r: Any) -> Any:  # closed before parse()
    raw = r.with_raw_response.create(**_create(stream=True))
    raw.http_response.close()
    return [raw.headers, raw.http_response.is_closed]


async def achat_raw_stream_unread_http_close(r: Any) -> Any:
    raw = await r.with_raw_response.create(**_create(stream=True))
    await raw.http_response.aclose()
    return [raw.headers, raw.http_response.is_closed]


def chat_streaming(r: Any) -> Any:
    with r.with_streaming_response.create(**_create()) as response:
        return [response.headers, response.parse()]


async def achat_streaming(r: Any) -> Any:
    async with r.with_streaming_response.create(**_create()) as response:
        return [response.headers, await response.parse()]


def chat_streaming_json(r: Any) -> Any:  # read as JSON, never parse()d
    with r.with_streaming_response.create(**_create()) as response:
        return response.json()


async def achat_streaming_json(r: Any) -> Any:
    async with r.with_streaming_response.create(**_create()) as response:
        return await response.json()


def chat_streaming_unread(r: Any) -> Any:  # closed without reading the body
    with r.with_streaming_response.create(**_create()) as response:
        return response.status_code


async def achat_streaming_unread(r: Any) -> Any:
    async with r.with_streaming_response.create(**_create()) as response:
        return response.status_code


def chat_streaming_stream(r: Any) -> Any:
    with r.with_streaming_response.create(**_create(stream=True)) as response:
        return [response.headers, list(response.parse())]


async def achat_streaming_stream(r: Any) -> Any:
    async with r.with_streaming_response.create(**_create(stream=True)) as response:
        return [response.headers, [c async for c in await response.parse()]]


def chat_streaming_stream_break(r: Any) -> Any:  # one chunk, then the with block closes it
    with r.with_streaming_response.create(**_create(stream=True)) as response:
        return next(iter(response.parse()))


async def achat_streaming_stream_break(r: Any) -> Any:
    async with r.with_streaming_response.create(**_create(stream=True)) as response:
        return await (await response.parse()).__anext__()


# -- parse and the stream helper ------------------------------------------------------------------


def chat_parse(r: Any) -> Any:
    return r.parse(**_create(response_format=Answer))


async def achat_parse(r: Any) -> Any:
    return await r.parse(**_create(response_format=Answer))


def chat_parse_raw(r: Any) -> Any:
    raw = r.with_raw_response.parse(**_create(response_format=Answer))
    return [raw.headers, raw.parse()]


async def achat_parse_raw(r: Any) -> Any:
    raw = await r.with_raw_response.parse(**_create(response_format=Answer))
    return [raw.headers, raw.parse()]


def chat_helper(r: Any) -> Any:
    with r.stream(**_create()) as stream:
        events = list(stream)
        return [events, stream.get_final_completion()]


async def achat_helper(r: Any) -> Any:
    async with r.stream(**_create()) as stream:
        events = [e async for e in stream]
        return [events, await stream.get_final_completion()]


def chat_helper_break(r: Any) -> Any:
    with r.stream(**_create()) as stream:
        for event in stream:
            return event
    return None


async def achat_helper_break(r: Any) -> Any:
    async with r.stream(**_create()) as stream:
        async for event in stream:
            return event
    return None


# -- legacy completions, embeddings ---------------------------------------------------------------

_PROMPT = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say done", "max_tokens": 5}


def completion(r: Any) -> Any:
    return r.create(**_PROMPT)


async def acompletion(r: Any) -> Any:
    return await r.create(**_PROMPT)


def completion_stream(r: Any) -> Any:
    return list(r.create(**_PROMPT, stream=True))


async def acompletion_stream(r: Any) -> Any:
    return [c async for c in await r.create(**_PROMPT, stream=True)]


_EMBED = {"model": "text-embedding-3-small", "input": ["a", "b"]}


def embeddings(r: Any) -> Any:
    return r.create(**_EMBED)


async def aembeddings(r: Any) -> Any:
    return await r.create(**_EMBED)


def embeddings_raw(r: Any) -> Any:
    raw = r.with_raw_response.create(**_EMBED)
    return [raw.headers, raw.parse()]


async def aembeddings_raw(r: Any) -> Any:
    raw = await r.with_raw_response.create(**_EMBED)
    return [raw.headers, raw.parse()]


# -- responses ------------------------------------------------------------------------------------

_INPUT = {"model": "gpt-4.1", "input": "Hello"}


def responses(r: Any) -> Any:
    return r.create(**_INPUT)


async def aresponses(r: Any) -> Any:
    return await r.create(**_INPUT)


def responses_stream(r: Any) -> Any:
    return list(r.create(**_INPUT, stream=True))


async def aresponses_stream(r: Any) -> Any:
    return [e async for e in await r.create(**_INPUT, stream=True)]


def responses_raw_stream(r: Any) -> Any:
    raw = r.with_raw_response.create(**_INPUT, stream=True)
    return [raw.headers, list(raw.parse())]


async def aresponses_raw_stream(r: Any) -> Any:
    raw = await r.with_raw_response.create(**_INPUT, stream=True)
    return [raw.headers, [e async for e in raw.parse()]]


def responses_streaming(r: Any) -> Any:
    with r.with_streaming_response.create(**_INPUT) as response:
        return [response.headers, response.parse()]


async def aresponses_streaming(r: Any) -> Any:
    async with r.with_streaming_response.create(**_INPUT) as response:
        return [response.headers, await response.parse()]


def responses_parse(r: Any) -> Any:
    return r.parse(**_INPUT, text_format=Answer)


async def aresponses_parse(r: Any) -> Any:
    return await r.parse(**_INPUT, text_format=Answer)


def responses_helper(r: Any) -> Any:
    with r.stream(**_INPUT) as stream:
        events = list(stream)
        return [events, stream.get_final_response()]


async def aresponses_helper(r: Any) -> Any:
    async with r.stream(**_INPUT) as stream:
        events = [e async for e in stream]
        return [events, await stream.get_final_response()]


def responses_helper_break(r: Any) -> Any:
    with r.stream(**_INPUT) as stream:
        for event in stream:
            return event
    return None


async def aresponses_helper_break(r: Any) -> Any:
    async with r.stream(**_INPUT) as stream:
        async for event in stream:
            return event
    return None


def responses_retrieve(r: Any) -> Any:
    return r.retrieve(r.create(**_INPUT).id)


async def aresponses_retrieve(r: Any) -> Any:
    return await r.retrieve((await r.create(**_INPUT)).id)


def responses_error(r: Any) -> Any:
    return r.create(**_INPUT)


async def aresponses_error(r: Any) -> Any:
    return await r.create(**_INPUT)


_C = "chat.completions"
_TOOL = tool_call_reply("get_weather", {"city": "Paris"}, usage=Usage(input_tokens=5))
_RATE = error_reply(429)
_MID = stream_error_reply(2, "boom")
CHAT_STREAM = CHAT_FULL | STREAMED
RAW_STREAM = CHAT | STREAMED  # no usage: nobody asked for it, and we must not

PATHS = (
    CallPath("chat", _C, "create", chat_plain, achat_plain, Expect(CHAT_FULL), (REPLY,)),
    CallPath(
        "chat-stream",
        _C,
        "create",
        chat_stream,
        achat_stream,
        Expect(CHAT_STREAM, rewrites_request=True),
    ),
    CallPath(
        "chat-stream-usage",
        _C,
        "create",
        chat_stream_usage,
        achat_stream_usage,
        Expect(CHAT_STREAM),
    ),
    CallPath(
        "chat-stream-close",
        _C,
        "create",
        chat_stream_close,
        achat_stream_close,
        Expect(CHAT_EARLY, rewrites_request=True),
    ),
    CallPath(
        "chat-stream-with",
        _C,
        "create",
        chat_stream_with,
        achat_stream_with,
        Expect(CHAT_EARLY, rewrites_request=True),
    ),
    CallPath(
        "chat-stream-abandoned",
        _C,
        "create",
        chat_stream_abandoned,
        achat_stream_abandoned,
        Expect(CHAT_EARLY, abandoned=True, rewrites_request=True),
    ),
    CallPath("chat-tools", _C, "create", chat_tools, achat_tools, Expect(CHAT_FULL), (_TOOL,)),
    CallPath(
        "chat-tools-stream",
        _C,
        "create",
        chat_tools_stream,
        achat_tools_stream,
        Expect(CHAT_STREAM, rewrites_request=True),
        (_TOOL,),
    ),
    CallPath(
        "chat-error",
        _C,
        "create",
        chat_error,
        achat_error,
        Expect(error=True),
        (_RATE,),
    ),
    CallPath(
        "chat-stream-error",
        _C,
        "create",
        chat_stream_error,
        achat_stream_error,
        Expect(error=True, rewrites_request=True),
        (_MID,),
    ),
    CallPath("chat-raw", _C, "create", chat_raw, achat_raw, Expect(CHAT_FULL)),
    CallPath(
        "chat-raw-error",
        _C,
        "create",
        chat_raw,
        achat_raw,
        Expect(error=True),
        (_RATE,),
    ),
    CallPath(
        "chat-raw-stream", _C, "create", chat_raw_stream, achat_raw_stream, Expect(RAW_STREAM)
    ),
    CallPath(
        "chat-raw-stream-usage",
        _C,
        "create",
        chat_raw_stream_usage,
        achat_raw_stream_usage,
        Expect(CHAT_STREAM),
    ),
    CallPath(
        "chat-raw-stream-unread",
        _C,
        "create",
        chat_raw_stream_unread,
        achat_raw_stream_unread,
        Expect(abandoned=True),
    ),
    CallPath(
        "chat-raw-stream-http-close",
        _C,
        "create",
        chat_raw_stream_http_close,
        achat_raw_stream_http_close,
        Expect(CHAT_EARLY | STREAMED),
    ),
    CallPath(
        "chat-raw-stream-read-first",
        _C,
        "create",
        chat_raw_stream_read_first,
        achat_raw_stream_read_first,
        Expect(RAW_STREAM),
    ),
    CallPath(
        "chat-raw-stream-unread-http-close",
        _C,
        "create",
        chat_raw_stream_unread_http_close,
        achat_raw_stream_unread_http_close,
        Expect(),
    ),
    CallPath("chat-streaming", _C, "create", chat_streaming, achat_streaming, Expect(CHAT_FULL)),
    CallPath(
        "chat-streaming-json",
        _C,
        "create",
        chat_streaming_json,
        achat_streaming_json,
        Expect(CHAT_FULL),
    ),
    CallPath(
        "chat-streaming-unread",
        _C,
        "create",
        chat_streaming_unread,
        achat_streaming_unread,
        Expect(),
    ),
    CallPath(
        "chat-streaming-stream",
        _C,
        "create",
        chat_streaming_stream,
        achat_streaming_stream,
        Expect(RAW_STREAM),
    ),
    CallPath(
        "chat-streaming-stream-break",
        _C,
        "create",
        chat_streaming_stream_break,
        achat_streaming_stream_break,
        Expect(CHAT_EARLY | {"gen_ai.request.stream"}),
    ),
    CallPath(
        "chat-parse",
        _C,
        "parse",
        chat_parse,
        achat_parse,
        Expect(CHAT_FULL | {"gen_ai.output.type"}),
        (text_reply({"value": 42}),),
    ),
    CallPath(
        "chat-parse-raw",
        _C,
        "parse",
        chat_parse_raw,
        achat_parse_raw,
        Expect(CHAT_FULL),
        (text_reply({"value": 42}),),
    ),
    CallPath(
        "chat-helper",
        _C,
        "stream",
        chat_helper,
        achat_helper,
        Expect(CHAT_STREAM, rewrites_request=True),
    ),
    CallPath(
        "chat-helper-break",
        _C,
        "stream",
        chat_helper_break,
        achat_helper_break,
        Expect(CHAT_EARLY, rewrites_request=True),
    ),
    CallPath(
        "completion",
        "completions",
        "create",
        completion,
        acompletion,
        Expect(RESPONSE | USAGE | {"openai.response.system_fingerprint"}),
    ),
    CallPath(
        "completion-stream",
        "completions",
        "create",
        completion_stream,
        acompletion_stream,
        Expect(RESPONSE | USAGE | STREAMED, rewrites_request=True),
    ),
    CallPath(
        "embeddings",
        "embeddings",
        "create",
        embeddings,
        aembeddings,
        Expect(frozenset({"gen_ai.response.model", "gen_ai.usage.input_tokens"})),
    ),
    CallPath(
        "embeddings-raw",
        "embeddings",
        "create",
        embeddings_raw,
        aembeddings_raw,
        Expect(frozenset({"gen_ai.response.model", "gen_ai.usage.input_tokens"})),
    ),
    CallPath("responses", "responses", "create", responses, aresponses, Expect(RESPONSES)),
    CallPath(
        "responses-stream",
        "responses",
        "create",
        responses_stream,
        aresponses_stream,
        Expect(RESPONSES | STREAMED),
    ),
    CallPath(
        "responses-raw-stream",
        "responses",
        "create",
        responses_raw_stream,
        aresponses_raw_stream,
        Expect(RESPONSES | STREAMED),
    ),
    CallPath(
        "responses-streaming",
        "responses",
        "create",
        responses_streaming,
        aresponses_streaming,
        Expect(RESPONSES),
    ),
    CallPath(
        "responses-parse",
        "responses",
        "parse",
        responses_parse,
        aresponses_parse,
        Expect(RESPONSES | {"gen_ai.output.type"}),
        (text_reply({"value": 42}),),
    ),
    CallPath(
        "responses-helper",
        "responses",
        "stream",
        responses_helper,
        aresponses_helper,
        Expect(RESPONSES | STREAMED),
    ),
    CallPath(
        "responses-helper-break",
        "responses",
        "stream",
        responses_helper_break,
        aresponses_helper_break,
        Expect(frozenset({"gen_ai.response.id", "gen_ai.response.model"})),
    ),
    CallPath(
        "responses-retrieve",
        "responses",
        "retrieve",
        responses_retrieve,
        aresponses_retrieve,
        Expect(RESPONSES, spans=2),
    ),
    CallPath(
        "responses-error",
        "responses",
        "create",
        responses_error,
        aresponses_error,
        Expect(error=True),
        (_RATE,),
    ),
)


def _client(stub: StubServer, is_async: bool) -> Any:
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(base_url=stub.openai_base_url, api_key="test", max_retries=0)


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
    assert uncovered(PATHS, clients, instrumentor._patches._wrapped, "openai") == []
