"""Every instrumented bedrock-runtime call path, uninstrumented vs instrumented, on boto3 and on
aiobotocore: the caller gets the same results (replies, bodies, events, response metadata,
exceptions), the stub the same requests, and each call leaves exactly one ended span with the
response attributes that path allows. A path added to ``PATHS`` goes through every check (its
``run`` on a boto3 client, its ``arun`` on an aiobotocore one); ``test_every_operation_has_a_path``
fails when an instrumented operation has none."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore import xform_name
from botocore.exceptions import EventStreamError
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation import bedrock
from llmotel.testing import (
    StubServer,
    Usage,
    error_reply,
    stream_error_reply,
    text_reply,
    tool_call_reply,
)
from llmotel.testing.differential import CallPath, Expect, compare_async, compare_sync

from .conftest import Instrument

# Content capture on: the instrumented run goes through every accumulator and content reader too.
CAPTURE = "SPAN_AND_EVENT"
CLAUDE = "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
MESSAGES: Any = [{"role": "user", "content": [{"text": "Say hello"}]}]
TOOLS: Any = {
    "tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]
}
REPLY = text_reply("one two three four", usage=Usage(input_tokens=9, output_tokens=4))
TOOL = tool_call_reply("get_weather", {"city": "Paris"}, text="Looking.")
BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "anthropic": (
        CLAUDE,
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 100,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Say hello"}],
        },
    ),
    "llama": ("meta.llama3-8b-instruct-v1:0", {"prompt": "Say hello", "max_gen_len": 50}),
    "titan": ("amazon.titan-text-express-v1", {"inputText": "Say hello"}),
    "nova": (
        "amazon.nova-lite-v1:0",
        {"messages": [{"role": "user", "content": [{"text": "Say hello"}]}]},
    ),
    "mistral": ("mistral.mistral-7b-instruct-v0:2", {"prompt": "<s>[INST] Say hello [/INST]"}),
    "mistral-chat": (
        "mistral.mistral-large-2407-v1:0",
        {"messages": [{"role": "user", "content": "Say hello"}]},
    ),
}

USAGE = frozenset({"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"})
FULL = USAGE | {"gen_ai.response.finish_reasons"}
STREAMED = frozenset({"gen_ai.request.stream", "gen_ai.response.time_to_first_chunk"})
EARLY = STREAMED


def _runtime(client: Any) -> Any:
    return client.runtime


def converse(r: Any) -> Any:
    return r.converse(modelId=CLAUDE, messages=MESSAGES, system=[{"text": "Be brief."}])


def converse_tools(r: Any) -> Any:
    return r.converse(modelId=CLAUDE, messages=MESSAGES, toolConfig=TOOLS)


def _streamed(response: dict[str, Any], key: str, events: list[Any]) -> dict[str, Any]:
    return {**{k: v for k, v in response.items() if k != key}, key: events}


def converse_stream(r: Any) -> Any:
    response = r.converse_stream(modelId=CLAUDE, messages=MESSAGES, toolConfig=TOOLS)
    return _streamed(response, "stream", list(response["stream"]))


def converse_stream_close(r: Any) -> Any:
    response = r.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    events = iter(response["stream"])
    first = [next(events), next(events)]
    response["stream"].close()
    return _streamed(response, "stream", first)


def converse_stream_abandoned(r: Any) -> Any:
    response = r.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    first = next(iter(response["stream"]))
    return _streamed(response, "stream", [first])  # the stream itself is dropped unread


def converse_stream_error(r: Any) -> Any:
    response = r.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    seen: list[Any] = []
    try:
        seen.extend(response["stream"])
    except EventStreamError as exc:
        seen.append(("raised", exc.response["Error"]))
    return _streamed(response, "stream", seen)


def converse_stream_with(r: Any) -> Any:
    # botocore's EventStream is no context manager: the caller gets Python's own TypeError, then
    # reads the stream as usual.
    response = r.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    seen: list[Any] = []
    try:
        with response["stream"]:
            pass
    except TypeError as exc:
        seen.append(("raised", str(exc)))
    seen.extend(response["stream"])
    return _streamed(response, "stream", seen)


def _invoke(family: str) -> Any:
    model, body = BODIES[family]

    def run(r: Any) -> Any:
        response = r.invoke_model(modelId=model, body=json.dumps(body))
        return {**response, "body": response["body"].read()}

    return run


def _invoke_stream(family: str) -> Any:
    model, body = BODIES[family]

    def run(r: Any) -> Any:
        response = r.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
        return _streamed(response, "body", list(response["body"]))

    return run


def invoke_embed(r: Any) -> Any:
    response = r.invoke_model(
        modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": "a text"})
    )
    return {**response, "body": response["body"].read()}


def invoke_stream_close(r: Any) -> Any:
    model, body = BODIES["llama"]
    response = r.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    first = next(iter(response["body"]))
    response["body"].close()
    return _streamed(response, "body", [first])


def invoke_stream_abandoned(r: Any) -> Any:
    model, body = BODIES["anthropic"]
    response = r.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    return _streamed(response, "body", [next(iter(response["body"]))])


# The same paths on aiobotocore's client: awaited calls, streams read with async for.
async def aconverse(r: Any) -> Any:
    return await r.converse(modelId=CLAUDE, messages=MESSAGES, system=[{"text": "Be brief."}])


async def aconverse_tools(r: Any) -> Any:
    return await r.converse(modelId=CLAUDE, messages=MESSAGES, toolConfig=TOOLS)


async def _left_behind() -> None:
    # A generator an async for left early is closed by a task the event loop schedules.
    for _ in range(3):
        await asyncio.sleep(0)


async def aconverse_stream(r: Any) -> Any:
    response = await r.converse_stream(modelId=CLAUDE, messages=MESSAGES, toolConfig=TOOLS)
    return _streamed(response, "stream", [e async for e in response["stream"]])


async def aconverse_stream_close(r: Any) -> Any:
    response = await r.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    events = aiter(response["stream"])
    first = [await anext(events), await anext(events)]
    response["stream"].close()
    return _streamed(response, "stream", first)


async def aconverse_stream_abandoned(r: Any) -> Any:
    response = await r.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    seen = []
    async for event in response["stream"]:
        seen.append(event)
        break
    await _left_behind()
    return _streamed(response, "stream", seen)  # the stream itself is dropped unread


async def aconverse_stream_with(r: Any) -> Any:
    response = await r.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    seen: list[Any] = []
    try:
        async with response["stream"]:
            pass
    except TypeError as exc:
        seen.append(("raised", str(exc)))
    seen.extend([e async for e in response["stream"]])
    return _streamed(response, "stream", seen)


async def aconverse_stream_error(r: Any) -> Any:
    response = await r.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    seen: list[Any] = []
    try:
        async for event in response["stream"]:
            seen.append(event)  # noqa: PERF401 - the events before the error are kept
    except EventStreamError as exc:
        seen.append(("raised", exc.response["Error"]))
    return _streamed(response, "stream", seen)


def _ainvoke(family: str) -> Any:
    model, body = BODIES[family]

    async def run(r: Any) -> Any:
        response = await r.invoke_model(modelId=model, body=json.dumps(body))
        return {**response, "body": await response["body"].read()}

    return run


def _ainvoke_stream(family: str) -> Any:
    model, body = BODIES[family]

    async def run(r: Any) -> Any:
        response = await r.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
        return _streamed(response, "body", [e async for e in response["body"]])

    return run


async def ainvoke_embed(r: Any) -> Any:
    response = await r.invoke_model(
        modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": "a text"})
    )
    return {**response, "body": await response["body"].read()}


async def ainvoke_stream_close(r: Any) -> Any:
    model, body = BODIES["llama"]
    response = await r.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    seen = []
    async for event in response["body"]:
        seen.append(event)
        break
    response["body"].close()
    return _streamed(response, "body", seen)


async def ainvoke_stream_abandoned(r: Any) -> Any:
    model, body = BODIES["anthropic"]
    response = await r.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    first = await anext(aiter(response["body"]))
    await _left_behind()
    return _streamed(response, "body", [first])


def _path(name: str, method: str, run: Any, arun: Any, expect: Expect, *replies: Any) -> CallPath:
    return CallPath(name, "runtime", method, run, arun, expect, tuple(replies))


_THROTTLED = error_reply(429, "Too many requests")
_INVALID = error_reply(400, "Malformed input request")
_ABANDONED = Expect(EARLY, abandoned=True)

PATHS = (
    _path("converse", "converse", converse, aconverse, Expect(FULL), REPLY),
    _path("converse-tools", "converse", converse_tools, aconverse_tools, Expect(FULL), TOOL),
    _path("converse-throttled", "converse", converse, aconverse, Expect(error=True), _THROTTLED),
    _path("converse-invalid", "converse", converse, aconverse, Expect(error=True), _INVALID),
    _path(
        "stream",
        "converse_stream",
        converse_stream,
        aconverse_stream,
        Expect(FULL | STREAMED),
        REPLY,
    ),
    _path(
        "stream-tools",
        "converse_stream",
        converse_stream,
        aconverse_stream,
        Expect(FULL | STREAMED),
        TOOL,
    ),
    _path(
        "stream-close",
        "converse_stream",
        converse_stream_close,
        aconverse_stream_close,
        Expect(EARLY),
    ),
    _path(
        "stream-abandoned",
        "converse_stream",
        converse_stream_abandoned,
        aconverse_stream_abandoned,
        _ABANDONED,
    ),
    _path(
        "stream-with",
        "converse_stream",
        converse_stream_with,
        aconverse_stream_with,
        Expect(FULL | STREAMED),
        REPLY,
    ),
    _path(
        "stream-error-event",
        "converse_stream",
        converse_stream_error,
        aconverse_stream_error,
        Expect(STREAMED, error=True),
        stream_error_reply(2, "Slow down", status=429),
    ),
    _path(
        "stream-throttled",
        "converse_stream",
        converse_stream,
        aconverse_stream,
        Expect(error=True),
        _THROTTLED,
    ),
    *(
        _path(f"invoke-{family}", "invoke_model", _invoke(family), _ainvoke(family), Expect(FULL))
        for family in BODIES
    ),
    _path(
        "invoke-embeddings",
        "invoke_model",
        invoke_embed,
        ainvoke_embed,
        Expect(frozenset({"gen_ai.usage.input_tokens"})),
    ),
    _path(
        "invoke-invalid",
        "invoke_model",
        _invoke("anthropic"),
        _ainvoke("anthropic"),
        Expect(error=True),
        _INVALID,
    ),
    *(
        _path(
            f"invoke-stream-{family}",
            "invoke_model_with_response_stream",
            _invoke_stream(family),
            _ainvoke_stream(family),
            Expect(FULL | STREAMED),
        )
        for family in BODIES
    ),
    _path(
        "invoke-stream-close",
        "invoke_model_with_response_stream",
        invoke_stream_close,
        ainvoke_stream_close,
        Expect(EARLY),
    ),
    _path(
        "invoke-stream-abandoned",
        "invoke_model_with_response_stream",
        invoke_stream_abandoned,
        ainvoke_stream_abandoned,
        _ABANDONED,
    ),
    _path(
        "invoke-stream-error-event",
        "invoke_model_with_response_stream",
        _invoke_stream("titan"),
        _ainvoke_stream("titan"),
        Expect(error=True),
        stream_error_reply(1, "The model failed", status=424),
    ),
)


@pytest.mark.parametrize("path", PATHS, ids=str)
def test_sync_path(
    path: CallPath,
    instrument: Instrument,
    new_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    compare_sync(
        path,
        lambda: SimpleNamespace(runtime=new_client()),
        lambda: instrument(capture=CAPTURE),
        llm_stub,
        span_exporter,
    )


@pytest.mark.parametrize("path", PATHS, ids=str)
async def test_async_path(
    path: CallPath,
    instrument: Instrument,
    new_aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    clients = [SimpleNamespace(runtime=await new_aio_client()) for _ in range(2)]
    await compare_async(
        path, lambda: clients.pop(0), lambda: instrument(capture=CAPTURE), llm_stub, span_exporter
    )


def test_every_operation_has_a_path() -> None:
    instrumented = {xform_name(op) for op in bedrock._OPERATIONS}
    assert instrumented - {p.method for p in PATHS} == set()
