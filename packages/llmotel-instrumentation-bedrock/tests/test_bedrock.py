"""boto3's bedrock-runtime client, instrumented, over real HTTP to the stub server."""

from __future__ import annotations

import gc
import importlib.metadata
import json
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError, EventStreamError
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.bedrock import BedrockInstrumentor
from llmotel.instrumentation.bedrock._extract import model_of
from llmotel.sdk.validation import assert_semconv
from llmotel.testing import (
    StubServer,
    Usage,
    check_cost,
    cut_stream_reply,
    error_reply,
    metric_points,
    stream_error_reply,
    text_reply,
    tool_call_reply,
)

from .conftest import Instrument

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PROFILE = "us." + CLAUDE
MESSAGES: Any = [{"role": "user", "content": [{"text": "Say hello"}]}]
TOOLS: Any = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Weather of a city",
                "inputSchema": {
                    "json": {"type": "object", "properties": {"city": {"type": "string"}}}
                },
            }
        }
    ]
}
CACHE_FIELDS = "cacheReadInputTokens" in (
    botocore.session.get_session()
    .get_service_model("bedrock-runtime")
    .shape_for("TokenUsage")
    .members
)
NEEDS_CACHE_FIELDS = pytest.mark.skipif(
    not CACHE_FIELDS, reason="this botocore's Converse usage has no cache token fields"
)


NO_GUARDRAIL = ("required:aws.bedrock.guardrail.id",)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    # v1.41 marks aws.bedrock.guardrail.id required; a call without a guardrail has none to report.
    assert_semconv(spans[0], allow=NO_GUARDRAIL)
    return spans[0]


def base(stub: StubServer, model: str = CLAUDE, operation: str = "chat") -> dict[str, Any]:
    return {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.request.model": model,
        "server.address": "127.0.0.1",
        "server.port": stub.port,
    }


def invoke(client: Any, model: str, body: dict[str, Any]) -> dict[str, Any]:
    return client.invoke_model(modelId=model, body=json.dumps(body))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("model_id", "model"),
    [
        (CLAUDE, CLAUDE),
        (PROFILE, CLAUDE),
        (
            "global.anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-sonnet-4-20250514-v1:0",
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.meta.llama3-8b-instruct-v1:0",
            "meta.llama3-8b-instruct-v1:0",
        ),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "amazon.nova-lite-v1:0",
        ),
        ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123", "abc123"),
        ("us.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0"),
        ("meta.llama3-8b-instruct-v1:0", "meta.llama3-8b-instruct-v1:0"),
    ],
)
def test_model_of(model_id: str, model: str) -> None:
    assert model_of(model_id) == model


# --- Converse -------------------------------------------------------------------------------------
def test_converse(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=12, output_tokens=3)))
    response = client.converse(
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
    tokens = {
        a["gen_ai.token.type"]: p.sum
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    }
    assert tokens == {"input": 12, "output": 3}
    [(attrs, duration)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.count == 1
    assert attrs == base(llm_stub)


@NEEDS_CACHE_FIELDS
def test_converse_cache_tokens(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    usage = Usage(
        input_tokens=5, output_tokens=2, cache_read_input_tokens=100, cache_creation_input_tokens=20
    )
    llm_stub.enqueue(text_reply("Hi", usage=usage))
    client.converse(modelId=CLAUDE, messages=MESSAGES)
    attrs = only_span(span_exporter).attributes or {}
    assert attrs["gen_ai.usage.input_tokens"] == 125  # semconv's input includes the cache tokens
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 20


def test_converse_tool_use_content(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="SPAN_AND_EVENT")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    messages = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "t0", "name": "get_weather", "input": {"city": "Rome"}}}
            ],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t0", "content": [{"text": "sunny"}]}}],
        },
    ]
    client.converse(
        modelId=CLAUDE, messages=messages, system=[{"text": "Be brief"}], toolConfig=TOOLS
    )
    attrs = only_span(span_exporter).attributes or {}
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert json.loads(str(attrs["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]},
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "t0",
                    "name": "get_weather",
                    "arguments": {"city": "Rome"},
                }
            ],
        },
        {
            "role": "user",
            "parts": [{"type": "tool_call_response", "id": "t0", "response": ["sunny"]}],
        },
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
    assert tool == {
        "type": "function",
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    details = [r for r in log_exporter.get_finished_logs() if r.log_record.event_name]
    assert [r.log_record.event_name for r in details] == [
        "gen_ai.client.inference.operation.details"
    ]


def test_no_content_by_default(
    instrumented: BedrockInstrumentor, client: Any, span_exporter: InMemorySpanExporter
) -> None:
    client.converse(
        modelId=CLAUDE, messages=MESSAGES, system=[{"text": "secret"}], toolConfig=TOOLS
    )
    attrs = only_span(span_exporter).attributes or {}
    assert not [k for k in attrs if "messages" in k or "instructions" in k or "definitions" in k]


def test_converse_stream(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(text_reply("Hello there friend", usage=Usage(input_tokens=4, output_tokens=3)))
    response = client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    stream = response["stream"]
    first = next(iter(stream))
    assert first == {"messageStart": {"role": "assistant"}}
    assert span_exporter.get_finished_spans() == ()  # open while the stream is
    rest = list(stream)
    assert [next(iter(e)) for e in rest][-2:] == ["messageStop", "metadata"]
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == 4
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello there friend"}],
            "finish_reason": "stop",
        }
    ]
    [(_, first_chunk)] = metric_points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    assert first_chunk.count == 1


def test_converse_stream_tool_use(
    instrument: Instrument, client: Any, llm_stub: StubServer, span_exporter: InMemorySpanExporter
) -> None:
    instrument(capture="SPAN_ONLY")
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}, text="Let me look."))
    list(client.converse_stream(modelId=CLAUDE, messages=MESSAGES, toolConfig=TOOLS)["stream"])
    attrs = only_span(span_exporter).attributes or {}
    assert json.loads(str(attrs["gen_ai.output.messages"]))[0]["parts"] == [
        {"type": "text", "content": "Let me look."},
        {
            "type": "tool_call",
            "id": "tooluse_stub000001_0",
            "name": "get_weather",
            "arguments": {"city": "Paris"},
        },
    ]


def test_stream_closed_early(
    instrumented: BedrockInstrumentor, client: Any, span_exporter: InMemorySpanExporter
) -> None:
    stream = client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"]
    for _ in stream:
        break
    assert span_exporter.get_finished_spans() == ()
    stream.close()
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert "llmotel.stream.abandoned" not in (span.attributes or {})


def test_stream_abandoned(
    instrumented: BedrockInstrumentor, client: Any, span_exporter: InMemorySpanExporter
) -> None:
    response = client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    next(iter(response["stream"]))
    del response
    gc.collect()
    span = only_span(span_exporter)
    assert (span.attributes or {})["llmotel.stream.abandoned"] is True


def test_stream_error_event(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(stream_error_reply(2, "Slow down", status=429))
    events = iter(client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"])
    next(events)
    next(events)
    with pytest.raises(EventStreamError):
        next(events)
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "EventStreamError"


def test_stream_cut_mid_way(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(cut_stream_reply(2, "one two three four"))
    stream = client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"]
    with pytest.raises(Exception) as caught:
        list(stream)
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == type(caught.value).__qualname__


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "ValidationException"), (429, "ThrottlingException"), (500, "InternalServerException")],
)
def test_client_errors(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    status: int,
    code: str,
) -> None:
    llm_stub.enqueue(error_reply(status, "Nope"))
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert caught.value.response["Error"]["Code"] == code
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == code  # botocore's modeled exception class
    [(attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs["error.type"] == code


# --- InvokeModel ----------------------------------------------------------------------------------
def test_invoke_anthropic_body_readable_as_uninstrumented(
    instrument: Instrument, client: Any, llm_stub: StubServer, span_exporter: InMemorySpanExporter
) -> None:
    instrument(capture="SPAN_ONLY")
    usage = Usage(
        input_tokens=7, output_tokens=2, cache_read_input_tokens=30, cache_creation_input_tokens=3
    )
    llm_stub.enqueue(text_reply("Hi you", usage=usage))
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "temperature": 0.5,
        "top_k": 5,
        "system": "Be brief",
        "messages": [{"role": "user", "content": "Hello"}],
    }
    response = invoke(client, PROFILE, body)
    raw = response["body"].read()
    assert json.loads(raw)["content"] == [{"type": "text", "text": "Hi you"}]
    assert response["body"].read() == b""  # read once, as botocore's own body
    span = only_span(span_exporter)
    assert span.name == f"chat {CLAUDE}"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.response.id"] == "msg_bdrk_stub000001"
    assert attrs["gen_ai.response.model"] == "claude-3-5-sonnet-20240620-v1:0"
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.top_k"] == 5.0
    assert attrs["gen_ai.usage.input_tokens"] == 40
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 30
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 3
    assert attrs["gen_ai.usage.output_tokens"] == 2
    assert json.loads(str(attrs["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be brief"}
    ]
    assert json.loads(str(attrs["gen_ai.output.messages"]))[0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("model", "body", "operation", "reason"),
    [
        (
            "meta.llama3-8b-instruct-v1:0",
            {"prompt": "Hi", "max_gen_len": 3},
            "text_completion",
            "length",
        ),
        ("amazon.titan-text-express-v1", {"inputText": "Hi"}, "text_completion", "FINISH"),
        (
            "us.amazon.nova-lite-v1:0",
            {
                "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                "inferenceConfig": {"maxTokens": 90},
            },
            "chat",
            "end_turn",
        ),
        (
            "mistral.mistral-7b-instruct-v0:2",
            {"prompt": "<s>[INST] Hi [/INST]"},
            "text_completion",
            "stop",
        ),
        (
            "mistral.mistral-large-2407-v1:0",
            {"messages": [{"role": "user", "content": "Hi"}]},
            "chat",
            "stop",
        ),
    ],
)
def test_invoke_families(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    model: str,
    body: dict[str, Any],
    operation: str,
    reason: str,
) -> None:
    instrument(capture="SPAN_ONLY")
    response = invoke(client, model, body)
    reply = response["body"].read()
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    span = only_span(span_exporter)
    attrs = dict(span.attributes or {})
    name = model_of(model)
    assert span.name == f"{operation} {name}"
    assert attrs["gen_ai.operation.name"] == operation
    assert attrs["gen_ai.request.model"] == name
    assert attrs["gen_ai.response.finish_reasons"] == (reason,)
    assert attrs["gen_ai.usage.input_tokens"] == int(headers["x-amzn-bedrock-input-token-count"])
    assert attrs["gen_ai.usage.output_tokens"] == int(headers["x-amzn-bedrock-output-token-count"])
    [output] = json.loads(str(attrs["gen_ai.output.messages"]))
    text = output["parts"][0]["content"]
    assert text.startswith("Stub reply")
    assert text in reply.decode()
    [message] = json.loads(str(attrs["gen_ai.input.messages"]))
    assert message["role"] == "user"


def test_invoke_embeddings(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    response = invoke(
        client, "amazon.titan-embed-text-v2:0", {"inputText": "a text", "dimensions": 256}
    )
    assert len(json.loads(response["body"].read())["embedding"]) == 256
    span = only_span(span_exporter)
    assert span.name == "embeddings amazon.titan-embed-text-v2:0"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == 2
    assert attrs["gen_ai.embeddings.dimension.count"] == 256


def test_invoke_body_iterated_in_chunks(
    instrumented: BedrockInstrumentor, client: Any, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(text_reply("line one"))
    response = invoke(client, "meta.llama3-8b-instruct-v1:0", {"prompt": "Hi"})
    assert b"".join(response["body"].iter_chunks(chunk_size=3)).startswith(
        b'{"generation": "line one"'
    )


def test_invoke_unknown_family_still_counts(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    response = client.invoke_model(
        modelId="arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123",
        body=b'{"prompt": "Hi"}',
        contentType="application/json",
    )
    response["body"].read()
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs["gen_ai.request.model"] == "abc123"
    assert attrs["gen_ai.usage.input_tokens"] == 1  # from the token-count headers


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (
            CLAUDE,
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "Hi"}],
            },
        ),
        ("meta.llama3-8b-instruct-v1:0", {"prompt": "Hi"}),
        ("amazon.titan-text-express-v1", {"inputText": "Hi"}),
        ("amazon.nova-micro-v1:0", {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}),
        ("mistral.mistral-7b-instruct-v0:2", {"prompt": "Hi"}),
        ("mistral.mistral-large-2407-v1:0", {"messages": [{"role": "user", "content": "Hi"}]}),
    ],
)
def test_invoke_streams(
    instrument: Instrument,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    model: str,
    body: dict[str, Any],
) -> None:
    instrument(capture="SPAN_ONLY")
    response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in response["body"]]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == metrics["inputTokenCount"]
    assert attrs["gen_ai.usage.output_tokens"] == metrics["outputTokenCount"]
    assert len(attrs["gen_ai.response.finish_reasons"]) == 1
    [output] = json.loads(str(attrs["gen_ai.output.messages"]))
    assert output["parts"][0]["content"] == f"Stub reply from {model}: Hi"


def test_invoke_error(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(error_reply(400, "Malformed", type="ValidationException"))
    with pytest.raises(ClientError):
        client.invoke_model(modelId=CLAUDE, body=b"{}")
    assert (only_span(span_exporter).attributes or {})["error.type"] == "ValidationException"


# --- scope ----------------------------------------------------------------------------------------
def test_other_services_are_untouched(
    instrumented: BedrockInstrumentor, llm_stub: StubServer, span_exporter: InMemorySpanExporter
) -> None:
    sts = boto3.client("sts", endpoint_url=llm_stub.url)
    with pytest.raises(Exception):  # the stub does not speak STS
        sts.get_caller_identity()
    assert llm_stub.requests[-1].body == b"Action=GetCallerIdentity&Version=2011-06-15"
    assert span_exporter.get_finished_spans() == ()


def test_client_object_untouched(instrumented: BedrockInstrumentor, client: Any) -> None:
    assert "converse" not in vars(client)
    assert "_make_api_call" not in vars(client)
    assert "_make_api_call" not in vars(type(client))


def test_uninstrument_and_reinstrument(
    instrument: Instrument, client: Any, span_exporter: InMemorySpanExporter
) -> None:
    instrumentor = instrument()
    instrumentor.uninstrument()
    client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert span_exporter.get_finished_spans() == ()
    instrument()
    client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert len(span_exporter.get_finished_spans()) == 1


def test_latest_experimental_names(
    instrument: Instrument, client: Any, llm_stub: StubServer, span_exporter: InMemorySpanExporter
) -> None:
    instrument(latest=True)
    llm_stub.enqueue(
        text_reply(
            "Hi", usage=Usage(input_tokens=5, output_tokens=1, cache_creation_input_tokens=2)
        )
    )
    client.converse(modelId=CLAUDE, messages=MESSAGES)
    attrs = dict(span_exporter.get_finished_spans()[0].attributes or {})
    if CACHE_FIELDS:
        assert attrs["gen_ai.usage.cache_write.input_tokens"] == 2


def test_entry_point() -> None:
    [entry] = [
        e
        for e in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if e.name == "llmotel_bedrock"
    ]
    assert entry.load() is BedrockInstrumentor


def test_cost_from_genai_prices(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    client: Any,
    llm_stub: StubServer,
) -> None:
    check_cost(
        BedrockInstrumentor(),
        (tracer_provider, meter_provider, metric_reader),
        llm_stub,
        lambda: client.converse(modelId=PROFILE, messages=MESSAGES),
        model=CLAUDE,
        provider_id="aws",
    )


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": []}),
        ("amazon.nova-micro-v1:0", {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}),
    ],
)
def test_invoke_stream_without_content_skips_deltas(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    model: str,
    body: dict[str, Any],
) -> None:
    llm_stub.enqueue(text_reply("one two three", usage=Usage(input_tokens=4, output_tokens=3)))
    response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    assert len(list(response["body"])) > 3
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs["gen_ai.usage.input_tokens"] == 4
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert "gen_ai.output.messages" not in attrs


def test_invoke_body_that_fails_to_read(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    from llmotel.testing import raw_reply

    llm_stub.enqueue(raw_reply({"generation": "a long enough reply"}, truncate_at=10))
    response = client.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=b'{"prompt": "Hi"}')
    span = only_span(span_exporter)  # ended: the reply could not be read
    assert span.status.status_code is StatusCode.ERROR
    with pytest.raises(Exception) as caught:
        response["body"].read()  # the caller's own read fails as it would have
    assert (span.attributes or {})["error.type"] == type(caught.value).__qualname__


def test_stream_is_still_an_event_stream(instrumented: BedrockInstrumentor, client: Any) -> None:
    from botocore.eventstream import EventStream

    stream = client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"]
    assert isinstance(stream, EventStream)
    stream.close()


def test_event_only_content(
    instrument: Instrument,
    client: Any,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    instrument(capture="EVENT_ONLY")
    client.converse(modelId=CLAUDE, messages=MESSAGES)
    attrs = dict(only_span(span_exporter).attributes or {})
    assert "gen_ai.input.messages" not in attrs
    [event] = [r.log_record for r in log_exporter.get_finished_logs() if r.log_record.event_name]
    assert event.event_name == "gen_ai.client.inference.operation.details"
    assert "Say hello" in json.dumps(dict(event.attributes or {}), default=str)


def test_invoke_with_a_file_body(
    instrumented: BedrockInstrumentor,
    client: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    import io

    body = io.BytesIO(b'{"prompt": "Hi", "max_gen_len": 20}')
    response = client.invoke_model(modelId="meta.llama3-8b-instruct-v1:0", body=body)
    assert json.loads(response["body"].read())["generation"].endswith(": Hi")
    assert llm_stub.requests[-1].json == {"prompt": "Hi", "max_gen_len": 20}  # sent whole
    attrs = dict(only_span(span_exporter).attributes or {})
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert "gen_ai.request.max_tokens" not in attrs  # a file is not read ahead of botocore
    assert attrs["gen_ai.usage.input_tokens"] == 1
