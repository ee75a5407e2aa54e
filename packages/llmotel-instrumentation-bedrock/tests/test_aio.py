"""aiobotocore's async bedrock-runtime client, instrumented, over real HTTP to the stub server: the
same spans, attributes and metric points as the boto3 path, and every way an async stream ends."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import aiobotocore.client
import botocore.client
import pytest
from aiobotocore.eventstream import AioEventStream
from botocore.exceptions import ClientError, EventStreamError
from opentelemetry import trace
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.bedrock import BedrockInstrumentor
from llmotel.testing import (
    StubServer,
    Usage,
    check_patched_on_import,
    cut_stream_reply,
    error_reply,
    metric_points,
    raw_reply,
    stream_error_reply,
    text_reply,
    tool_call_reply,
)

from .conftest import AIO_UNSUPPORTED, Instrument
from .test_bedrock import CLAUDE, MESSAGES, PROFILE, TOOLS, base, only_span

pytestmark = pytest.mark.skipif(AIO_UNSUPPORTED is not None, reason=AIO_UNSUPPORTED or "")

LLAMA = "meta.llama3-8b-instruct-v1:0"


async def invoke(client: Any, model: str, body: dict[str, Any]) -> dict[str, Any]:
    return await client.invoke_model(modelId=model, body=json.dumps(body))  # type: ignore[no-any-return]


def tokens(metric_reader: InMemoryMetricReader) -> dict[Any, Any]:
    return {
        a["gen_ai.token.type"]: p.sum
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    }


async def test_converse(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=12, output_tokens=3)))
    response = await aio_client.converse(
        modelId=PROFILE,
        messages=MESSAGES,
        inferenceConfig={
            "maxTokens": 100,
            "temperature": 0.2,
            "topP": 0.9,
            "stopSequences": ["END"],
        },
        additionalModelRequestFields={"top_k": 40},
        guardrailConfig={"guardrailIdentifier": "gr-1", "guardrailVersion": "1"},
    )
    assert response["output"]["message"]["content"] == [{"text": "Hello!"}]
    span = only_span(span_exporter)
    assert span.name == f"chat {CLAUDE}"
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "llmotel.instrumentation.bedrock"
    assert dict(span.attributes or {}) == {
        **base(llm_stub),
        "aws.bedrock.guardrail.id": "gr-1",
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40.0,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
    }
    assert tokens(metric_reader) == {"input": 12, "output": 3}
    [(attrs, duration)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.count == 1
    assert attrs == base(llm_stub)


async def test_span_is_a_child_of_the_callers_and_the_context_is_restored(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    with tracer_provider.get_tracer("app").start_as_current_span("request") as parent:
        await aio_client.converse(modelId=CLAUDE, messages=MESSAGES)
        assert trace.get_current_span() is parent
        stream = (await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]
        assert trace.get_current_span() is parent  # a stream's span is not left current
        async for _ in stream:
            pass
    chat, streamed, request = span_exporter.get_finished_spans()
    for span in (chat, streamed):
        assert span.parent is not None
        assert span.parent.span_id == request.context.span_id


async def test_content_on_span_and_event(
    instrument: Instrument,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="SPAN_AND_EVENT")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    await aio_client.converse(
        modelId=CLAUDE, messages=MESSAGES, system=[{"text": "Be brief"}], toolConfig=TOOLS
    )
    attrs = only_span(span_exporter).attributes or {}
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief"}
    ]
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "tooluse_stub000001_0",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_call",
        }
    ]
    [tool] = json.loads(str(attrs["gen_ai.tool.definitions"]))
    assert tool["name"] == "get_weather"
    details = [r for r in log_exporter.get_finished_logs() if r.log_record.event_name]
    assert [r.log_record.event_name for r in details] == [
        "gen_ai.client.inference.operation.details"
    ]


async def test_no_content_by_default(
    instrumented: BedrockInstrumentor, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    await aio_client.converse(
        modelId=CLAUDE, messages=MESSAGES, system=[{"text": "secret"}], toolConfig=TOOLS
    )
    attrs = only_span(span_exporter).attributes or {}
    assert not [k for k in attrs if "messages" in k or "instructions" in k or "definitions" in k]


async def test_converse_stream(
    instrument: Instrument,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(text_reply("Hello there friend", usage=Usage(input_tokens=4, output_tokens=3)))
    response = await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    stream = response["stream"]
    assert isinstance(stream, AioEventStream)
    events = aiter(stream)
    assert await anext(events) == {"messageStart": {"role": "assistant"}}
    assert span_exporter.get_finished_spans() == ()  # open while the stream is
    rest = [event async for event in events]
    assert [next(iter(e)) for e in rest][-2:] == ["messageStop", "metadata"]
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert attrs.pop("gen_ai.response.time_to_first_chunk") > 0
    output = json.loads(str(attrs.pop("gen_ai.output.messages")))
    assert json.loads(str(attrs.pop("gen_ai.input.messages"))) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}
    ]
    assert attrs == {
        **base(llm_stub),
        "gen_ai.request.stream": True,
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 4,
        "gen_ai.usage.output_tokens": 3,
    }
    assert output == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello there friend"}],
            "finish_reason": "stop",
        }
    ]
    assert tokens(metric_reader) == {"input": 4, "output": 3}
    [(_, first)] = metric_points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    assert first.count == 1
    [(_, per_chunk)] = metric_points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == len(rest)  # one point per event after the first


async def test_stream_anext_as_aiobotocore(
    instrumented: BedrockInstrumentor, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    # aiobotocore's own __anext__ returns an async generator; aiter() and __anext__() share one
    # position, as they do on the stream itself.
    stream = (await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]
    first = [e async for e in stream.__anext__()][:1]
    assert first == [{"messageStart": {"role": "assistant"}}]
    assert [e async for e in stream] == []
    assert len(span_exporter.get_finished_spans()) == 1


async def test_stream_broken_out_of_then_closed(
    instrumented: BedrockInstrumentor, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    stream = (await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]
    async for _ in stream:
        break
    await asyncio.sleep(0)  # the loop closes the generator left behind
    assert span_exporter.get_finished_spans() == ()  # leaving the loop is not the end
    stream.close()  # synchronous, as aiobotocore's
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert "llmotel.stream.abandoned" not in (span.attributes or {})
    assert (span.attributes or {})["gen_ai.request.stream"] is True


async def test_stream_resumed_after_break(
    instrumented: BedrockInstrumentor, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    stream = (await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]
    async for _ in stream:
        break
    rest = [e async for e in stream]
    assert next(iter(rest[-1])) == "metadata"
    span = only_span(span_exporter)
    assert (span.attributes or {})["gen_ai.usage.output_tokens"] > 0


async def test_stream_abandoned(
    instrumented: BedrockInstrumentor, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    response = await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    await anext(aiter(response["stream"]))
    del response
    for _ in range(3):  # the loop closes the generator anext() left (a task it schedules)
        await asyncio.sleep(0)
    gc.collect()
    span = only_span(span_exporter)
    assert (span.attributes or {})["llmotel.stream.abandoned"] is True
    assert span.status.status_code is StatusCode.UNSET


async def test_stream_never_read_abandoned(
    instrumented: BedrockInstrumentor, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    await aio_client.invoke_model_with_response_stream(modelId=LLAMA, body=b'{"prompt": "Hi"}')
    gc.collect()
    assert (only_span(span_exporter).attributes or {})["llmotel.stream.abandoned"] is True


async def test_stream_error_event(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(stream_error_reply(2, "Slow down", status=429))
    stream = (await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]
    seen: list[Any] = []

    async def read_all() -> None:
        seen.extend([event async for event in stream])

    with pytest.raises(EventStreamError) as caught:
        await read_all()
    assert seen == []  # the comprehension raised before extending
    assert caught.value.response["Error"]["Code"] == "throttlingException"
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "EventStreamError"
    [(attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs["error.type"] == "EventStreamError"


async def test_stream_cut_mid_way(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(cut_stream_reply(2, "one two three four"))
    stream = (await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]
    with pytest.raises(Exception) as caught:
        async for _ in stream:
            pass
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == type(caught.value).__qualname__


async def test_stream_cancelled_while_waiting(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.chunk_delay = 5.0
    stream = (await aio_client.converse_stream(modelId=CLAUDE, messages=MESSAGES))["stream"]

    async def read_all() -> None:
        async for _ in stream:
            pass

    task = asyncio.create_task(read_all())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = only_span(span_exporter)
    assert (span.attributes or {})["error.type"] == "CancelledError"
    stream.close()


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "ValidationException"), (429, "ThrottlingException"), (500, "InternalServerException")],
)
async def test_client_errors(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    status: int,
    code: str,
) -> None:
    llm_stub.enqueue(error_reply(status, "Nope"))
    with pytest.raises(ClientError) as caught:
        await aio_client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert caught.value.response["Error"]["Code"] == code
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == code
    [(attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs == {**base(llm_stub), "error.type": code}


async def test_invoke_body_reads_as_uninstrumented(
    instrument: Instrument,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrument(capture="SPAN_ONLY")
    usage = Usage(
        input_tokens=7, output_tokens=2, cache_read_input_tokens=30, cache_creation_input_tokens=3
    )
    llm_stub.enqueue(text_reply("Hi you", usage=usage))
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "top_k": 5,
        "system": "Be brief",
        "messages": [{"role": "user", "content": "Hello"}],
    }
    response = await invoke(aio_client, PROFILE, body)
    assert type(response["body"]).__module__ == "aiobotocore.response"
    raw = await response["body"].read()
    assert json.loads(raw)["content"] == [{"type": "text", "text": "Hi you"}]
    assert await response["body"].read() == b""  # read once, as aiobotocore's own body
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert json.loads(str(attrs.pop("gen_ai.system_instructions"))) == [
        {"type": "text", "content": "Be brief"}
    ]
    assert json.loads(str(attrs.pop("gen_ai.input.messages")))[0]["role"] == "user"
    assert json.loads(str(attrs.pop("gen_ai.output.messages")))[0]["finish_reason"] == "stop"
    assert attrs == {
        **base(llm_stub),
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.top_k": 5.0,
        "gen_ai.response.id": "msg_bdrk_stub000001",
        "gen_ai.response.model": "claude-3-5-sonnet-20240620-v1:0",
        "gen_ai.response.finish_reasons": ("end_turn",),
        "gen_ai.usage.input_tokens": 40,
        "gen_ai.usage.cache_read.input_tokens": 30,
        "gen_ai.usage.cache_creation.input_tokens": 3,
        "gen_ai.usage.output_tokens": 2,
    }


async def test_invoke_body_in_chunks_lines_and_async_for(
    instrumented: BedrockInstrumentor, new_aio_client: Any, llm_stub: StubServer
) -> None:
    client = await new_aio_client()
    want = b'{"generation": "line one'
    llm_stub.enqueue(text_reply("line one"))
    body = (await invoke(client, LLAMA, {"prompt": "Hi"}))["body"]
    assert b"".join([c async for c in body.iter_chunks(chunk_size=3)]).startswith(want)
    llm_stub.enqueue(text_reply("line one"))
    body = (await invoke(client, LLAMA, {"prompt": "Hi"}))["body"]
    assert b"".join([c async for c in body]).startswith(want)
    llm_stub.enqueue(text_reply("line one"))
    body = (await invoke(client, LLAMA, {"prompt": "Hi"}))["body"]
    [line] = [line async for line in body.iter_lines()]
    assert line.startswith(want)
    llm_stub.enqueue(text_reply("line one"))
    body = (await invoke(client, LLAMA, {"prompt": "Hi"}))["body"]
    assert (await body.read(5), await body.read(5), body.tell()) == (b'{"gen', b"erati", 10)
    body.close()


async def test_invoke_body_that_fails_to_read(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    await _check_body_that_fails_to_read(aio_client, llm_stub, span_exporter)


async def _check_body_that_fails_to_read(
    client: Any, llm_stub: StubServer, span_exporter: InMemorySpanExporter
) -> None:
    """A truncated InvokeModel body: the span ends failed, the caller's own read() fails as it
    would have, with the error the span names."""
    llm_stub.enqueue(raw_reply({"generation": "a long enough reply"}, truncate_at=10))
    response = await client.invoke_model(modelId=LLAMA, body=b'{"prompt": "Hi"}')
    span = only_span(span_exporter)  # ended: the reply could not be read
    assert span.status.status_code is StatusCode.ERROR
    with pytest.raises(Exception) as caught:
        await response["body"].read()  # the caller's own read fails as it would have
    assert (span.attributes or {})["error.type"] == type(caught.value).__qualname__


@pytest.mark.parametrize(
    ("model", "body", "operation"),
    [
        (
            CLAUDE,
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "Hi"}],
            },
            "chat",
        ),
        (LLAMA, {"prompt": "Hi"}, "text_completion"),
        ("amazon.titan-text-express-v1", {"inputText": "Hi"}, "text_completion"),
        (
            "amazon.nova-micro-v1:0",
            {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]},
            "chat",
        ),
        ("mistral.mistral-7b-instruct-v0:2", {"prompt": "Hi"}, "text_completion"),
        (
            "mistral.mistral-large-2407-v1:0",
            {"messages": [{"role": "user", "content": "Hi"}]},
            "chat",
        ),
    ],
)
async def test_invoke_streams(
    instrument: Instrument,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    model: str,
    body: dict[str, Any],
    operation: str,
) -> None:
    instrument(capture="SPAN_ONLY")
    response = await aio_client.invoke_model_with_response_stream(
        modelId=model, body=json.dumps(body)
    )
    chunks = [json.loads(e["chunk"]["bytes"]) async for e in response["body"]]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    span = only_span(span_exporter)
    assert span.name == f"{operation} {model}"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.input_tokens"] == metrics["inputTokenCount"]
    assert attrs["gen_ai.usage.output_tokens"] == metrics["outputTokenCount"]
    assert len(attrs["gen_ai.response.finish_reasons"]) == 1
    [output] = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output["parts"][0]["content"] == f"Stub reply from {model}: Hi"


async def test_invoke_embeddings(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    response = await invoke(
        aio_client, "amazon.titan-embed-text-v2:0", {"inputText": "a text", "dimensions": 256}
    )
    assert len(json.loads(await response["body"].read())["embedding"]) == 256
    span = only_span(span_exporter)
    assert span.name == "embeddings amazon.titan-embed-text-v2:0"
    assert dict(span.attributes or {}) == {
        **base(llm_stub, "amazon.titan-embed-text-v2:0", "embeddings"),
        "gen_ai.usage.input_tokens": 2,
        "gen_ai.usage.output_tokens": 0,  # from the token-count headers, as for boto3
        "gen_ai.embeddings.dimension.count": 256,
    }


async def test_concurrent_calls_have_their_own_spans(
    instrumented: BedrockInstrumentor, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    async def stream(model: str) -> int:
        response = await aio_client.converse_stream(modelId=model, messages=MESSAGES)
        return len([e async for e in response["stream"]])

    models = ["amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0", CLAUDE]
    await asyncio.gather(
        *(stream(m) for m in models), aio_client.converse(modelId=LLAMA, messages=MESSAGES)
    )
    spans = span_exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == sorted(f"chat {m}" for m in [*models, LLAMA])
    assert all(s.parent is None for s in spans)  # none became another's child


async def test_one_span_per_call_and_sync_untouched(
    instrumented: BedrockInstrumentor,
    aio_client: Any,
    client: Any,
    span_exporter: InMemorySpanExporter,
) -> None:
    await aio_client.converse(modelId=CLAUDE, messages=MESSAGES)
    client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert [s.name for s in span_exporter.get_finished_spans()] == [f"chat {CLAUDE}"] * 2


async def test_client_object_untouched(instrumented: BedrockInstrumentor, aio_client: Any) -> None:
    assert "converse" not in vars(aio_client)
    assert "_make_api_call" not in vars(aio_client)
    assert "_make_api_call" not in vars(type(aio_client))


async def test_other_services_are_untouched(
    instrumented: BedrockInstrumentor, llm_stub: StubServer, span_exporter: InMemorySpanExporter
) -> None:
    from aiobotocore.session import AioSession

    async with AioSession().create_client("sts", endpoint_url=llm_stub.url) as sts:
        with pytest.raises(Exception):  # the stub does not speak STS
            await sts.get_caller_identity()
    assert llm_stub.requests[-1].body == b"Action=GetCallerIdentity&Version=2011-06-15"
    assert span_exporter.get_finished_spans() == ()


async def test_uninstrument_leaves_aiobotocore_as_before(
    instrument: Instrument, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    before = vars(aiobotocore.client.AioBaseClient)["_make_api_call"]
    sync_before = vars(botocore.client.BaseClient)["_make_api_call"]
    instrumentor = instrument()
    assert vars(aiobotocore.client.AioBaseClient)["_make_api_call"] is not before
    instrumentor.uninstrument()
    assert vars(aiobotocore.client.AioBaseClient)["_make_api_call"] is before
    assert vars(botocore.client.BaseClient)["_make_api_call"] is sync_before
    await aio_client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert span_exporter.get_finished_spans() == ()
    instrument()
    await aio_client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert len(span_exporter.get_finished_spans()) == 1


def test_aiobotocore_is_patched_when_the_application_imports_it() -> None:
    # Installed but never imported (or not installed), aiobotocore is never imported or patched.
    check_patched_on_import(
        "llmotel.instrumentation.bedrock:BedrockInstrumentor",
        "aiobotocore",
        "aiobotocore.client:AioBaseClient._make_api_call",
    )


async def test_suppressed_instrumentation_makes_no_span(
    instrumented: BedrockInstrumentor, aio_client: Any, span_exporter: InMemorySpanExporter
) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        await aio_client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert span_exporter.get_finished_spans() == ()


async def _read(body: Any) -> Any:
    return await body.read()


async def _read_in_parts(body: Any) -> Any:
    return (await body.read(5), await body.read(5), body.tell(), await body.read())


async def _chunks(body: Any) -> Any:
    return [c async for c in body.iter_chunks(chunk_size=7)]


async def _async_for(body: Any) -> Any:
    return b"".join([c async for c in body])


async def _lines(body: Any) -> Any:
    return [line async for line in body.iter_lines()]


@pytest.mark.parametrize(
    "read", [_read, _read_in_parts, _chunks, _async_for, _lines], ids=lambda f: f.__name__
)
async def test_httpx_backend_body_reads_as_uninstrumented(
    read: Any,
    instrument: Instrument,
    new_httpx_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    # aiobotocore's httpx backend reads its body by the httpx response's own iterators: the
    # instrumented caller gets a body of the same class that reads the same, and the span the
    # reply's fields.
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    reply = text_reply("line one", usage=Usage(input_tokens=4, output_tokens=2))
    llm_stub.enqueue(reply)
    plain = await invoke(await new_httpx_client(), CLAUDE, body)
    want = (type(plain["body"]), await read(plain["body"]))
    instrument()
    llm_stub.reset()  # the same reply id again
    llm_stub.enqueue(reply)
    response = await invoke(await new_httpx_client(), CLAUDE, body)
    assert (type(response["body"]), await read(response["body"])) == want
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.response.id"] == "msg_bdrk_stub000001"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (4, 2)


async def test_httpx_backend_body_that_fails_to_read(
    instrumented: BedrockInstrumentor,
    new_httpx_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    await _check_body_that_fails_to_read(await new_httpx_client(), llm_stub, span_exporter)


async def test_httpx_backend_stream_fails_as_uninstrumented(
    instrument: Instrument,
    new_httpx_client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    # aiobotocore's AioEventStream reads an aiohttp response's content only: on the httpx backend
    # the caller's async for fails, instrumented or not, and the span ends with that error.
    async def first_event() -> BaseException:
        response = await (await new_httpx_client()).converse_stream(
            modelId=CLAUDE, messages=MESSAGES
        )
        with pytest.raises(Exception) as caught:
            async for _ in response["stream"]:
                pass
        return caught.value

    llm_stub.enqueue(text_reply("Hi"))
    plain = await first_event()
    instrument()
    llm_stub.enqueue(text_reply("Hi"))
    error = await first_event()
    assert (type(error), str(error)) == (type(plain), str(plain))
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == type(error).__qualname__
