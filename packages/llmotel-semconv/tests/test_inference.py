"""The shared inference emitter: one invocation → one span, its metric points and its event."""

from __future__ import annotations

import json
import threading

import pytest
from opentelemetry import context, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.semconv import points
from llmotel.semconv.capture import CaptureSettings, ContentCapture
from llmotel.semconv.extensions import LLMOTEL_PENDING_POINTS
from llmotel.semconv.inference import (
    STREAM_ABANDONED,
    InferenceTelemetry,
    Invocation,
    inference_in_progress,
)
from llmotel.semconv.messages import InputMessage, TextPart
from llmotel.testing import metric_points


def telemetry(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    content: ContentCapture = ContentCapture.NO_CONTENT,
    latest: bool = False,
) -> InferenceTelemetry:
    return InferenceTelemetry(
        "test.scope",
        "1.0",
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        settings=CaptureSettings(content, latest),
    )


def invocation() -> Invocation:
    inv = Invocation(
        "chat", "openai", request_model="m", server_address="api.example.com", server_port=443
    )
    inv.temperature = 0.5
    inv.max_tokens = 10
    return inv


def respond(inv: Invocation) -> None:
    inv.response_id = "r1"
    inv.response_model = "m-2025"
    inv.finish_reasons = ["stop"]
    inv.input_tokens = 120
    inv.output_tokens = 7
    inv.cache_read_input_tokens = 100
    inv.cache_creation_input_tokens = 20


COMMON = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "m",
    "server.address": "api.example.com",
    "server.port": 443,
}


def test_span_and_metrics(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider)
    inv = invocation()
    t.start(inv)
    assert inference_in_progress()
    assert t.should_skip()
    respond(inv)
    t.finish(inv)
    assert not inference_in_progress()
    [span] = span_exporter.get_finished_spans()
    assert span.name == "chat m"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        **COMMON,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.max_tokens": 10,
        "gen_ai.response.id": "r1",
        "gen_ai.response.model": "m-2025",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.usage.cache_read.input_tokens": 100,
        "gen_ai.usage.cache_creation.input_tokens": 20,
    }
    metric_attrs = {**COMMON, "gen_ai.response.model": "m-2025"}
    [(attrs, duration)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert (attrs, duration.count) == (metric_attrs, 1)
    usage = {
        a["gen_ai.token.type"]: (a, p.sum)
        for a, p in metric_points(metric_reader, "gen_ai.client.token.usage")
    }
    assert usage == {
        "input": ({**metric_attrs, "gen_ai.token.type": "input"}, 120),
        "output": ({**metric_attrs, "gen_ai.token.type": "output"}, 7),
    }
    assert log_exporter.get_finished_logs() == ()
    t.finish(inv)  # a second end is ignored
    assert len(span_exporter.get_finished_spans()) == 1


def test_failure(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider)
    inv = invocation()
    t.start(inv)
    t.fail(inv, TimeoutError("too slow"))
    [span] = span_exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "TimeoutError: too slow"
    assert span.attributes is not None
    assert span.attributes["error.type"] == "TimeoutError"
    assert [e.name for e in span.events] == ["exception"]
    [(attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs["error.type"] == "TimeoutError"
    assert metric_points(metric_reader, "gen_ai.client.token.usage") == []


def test_failure_emits_the_exception_event(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    # NO_CONTENT: no details event, but gen_ai.client.operation.exception all the same
    t = telemetry(tracer_provider, meter_provider, logger_provider)
    inv = invocation()
    t.start(inv)
    t.fail(inv, TimeoutError("too slow"))
    [span] = span_exporter.get_finished_spans()
    [log] = log_exporter.get_finished_logs()
    record = log.log_record
    assert record.event_name == "gen_ai.client.operation.exception"
    assert record.severity_number is SeverityNumber.WARN
    assert dict(record.attributes or {}) == {
        "exception.type": "TimeoutError",
        "exception.message": "too slow",
        "gen_ai.request.model": "m",
    }
    assert span.context is not None
    assert record.trace_id == span.context.trace_id
    assert record.span_id == span.context.span_id


def test_provider_attributes(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider)
    inv = invocation()
    inv.attributes = {"openai.api.type": "chat_completions"}
    t.start(inv)
    span = inv.span
    assert span is not None
    assert span.attributes is not None  # type: ignore[attr-defined]
    assert span.attributes["openai.api.type"] == "chat_completions"  # type: ignore[attr-defined]
    inv.attributes["openai.response.service_tier"] = "default"
    t.finish(inv)
    [ended] = span_exporter.get_finished_spans()
    assert ended.attributes is not None
    assert ended.attributes["openai.api.type"] == "chat_completions"
    assert ended.attributes["openai.response.service_tier"] == "default"


def test_stream_chunks_and_abandon(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider)
    inv = Invocation("chat", "openai", request_model="m", stream=True)
    t.start(inv)
    t.detach(inv)
    assert not inference_in_progress()
    for _ in range(3):
        t.chunk(inv)
    worker = threading.Thread(target=t.abandon, args=(inv,))  # finalizers run anywhere
    worker.start()
    worker.join()
    [span] = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes[STREAM_ABANDONED] is True
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.time_to_first_chunk"] >= 0  # type: ignore[operator]
    [(_, ttfc)] = metric_points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    [(_, per_chunk)] = metric_points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert (ttfc.count, per_chunk.count) == (1, 2)  # one point per chunk after the first
    times = t.chunk_times(inv)
    assert per_chunk.sum == pytest.approx(times[-1] - times[0])


def test_no_op_meter_provider_records_nothing_and_queues_nothing(
    tracer_provider: TracerProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    t = telemetry(tracer_provider, NoOpMeterProvider(), logger_provider)  # type: ignore[arg-type]
    queued = points.pending()
    inv = Invocation("chat", "openai", request_model="m", stream=True)
    t.start(inv)
    t.detach(inv)
    for _ in range(3):
        t.chunk(inv)
    respond(inv)
    t.finish(inv)
    [span] = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.output_tokens"] == 7
    assert points.pending() == queued  # no points wait for a collection


@pytest.mark.parametrize("mode", list(ContentCapture))
def test_content_modes(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
    log_exporter: InMemoryLogRecordExporter,
    mode: ContentCapture,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider, mode)
    assert t.capture_content is mode.any
    inv = invocation()
    inv.input_messages = [InputMessage("user", [TextPart("Hi")])]
    inv.output_messages = [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello"}],
            "finish_reason": "stop",
        }
    ]
    inv.system_instructions = [TextPart("Be brief.")]
    inv.tool_definitions = [{"type": "function", "name": "f"}]
    t.start(inv)
    t.finish(inv)
    [span] = span_exporter.get_finished_spans()
    attrs = span.attributes or {}
    content_keys = {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
    }
    assert (content_keys <= set(attrs)) is mode.on_span
    assert not (content_keys & set(attrs)) or mode.on_span
    if mode.on_span:
        assert (
            attrs["gen_ai.input.messages"]
            == '[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]'
        )
    logs = log_exporter.get_finished_logs()
    assert len(logs) == (1 if mode.on_event else 0)
    if mode.on_event:
        record = logs[0].log_record
        assert record.event_name == "gen_ai.client.inference.operation.details"
        assert record.span_id == span.context.span_id
        assert record.attributes is not None
        assert json.loads(json.dumps(record.attributes["gen_ai.system_instructions"])) == [
            {"type": "text", "content": "Be brief."}
        ]
        assert record.attributes["gen_ai.operation.name"] == "chat"
        assert record.attributes["gen_ai.request.temperature"] == 0.5


def test_latest_experimental(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider, latest=True)
    inv = invocation()
    t.start(inv)
    respond(inv)
    t.finish(inv)
    [span] = span_exporter.get_finished_spans()
    attrs = span.attributes or {}
    assert attrs["gen_ai.usage.cache_write.input_tokens"] == 20
    assert "gen_ai.usage.cache_creation.input_tokens" not in attrs
    assert metric_points(metric_reader, "gen_ai.client.operation.duration") == []
    [(_, duration)] = metric_points(metric_reader, "gen_ai.client.inference.duration")
    [(_, tokens_in)] = metric_points(
        metric_reader, "gen_ai.client.inference.operation.input_tokens"
    )
    [(_, tokens_out)] = metric_points(
        metric_reader, "gen_ai.client.inference.operation.output_tokens"
    )
    assert (duration.count, tokens_in.sum, tokens_out.sum) == (1, 120, 7)


def test_embeddings_keep_operation_duration_under_latest(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider, latest=True)
    inv = Invocation("embeddings", "openai", request_model="e")
    t.start(inv)
    t.finish(inv)
    [(attrs, _)] = metric_points(metric_reader, "gen_ai.client.operation.duration")
    assert attrs["gen_ai.operation.name"] == "embeddings"


def test_should_skip(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider)
    tracer = tracer_provider.get_tracer("peer")
    assert not t.should_skip()
    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        assert t.should_skip()
    finally:
        context.detach(token)
    with tracer.start_as_current_span("app"):
        assert not t.should_skip()  # a plain parent span is not a GenAI call
    with tracer.start_as_current_span(
        "chat x", kind=SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat"}
    ):
        assert t.should_skip()
    with tracer.start_as_current_span(
        "agent", kind=SpanKind.INTERNAL, attributes={"gen_ai.operation.name": "invoke_agent"}
    ):
        assert not t.should_skip()  # an agent span wraps calls, it is not one
    with tracer.start_as_current_span(
        "ChatCompletion", attributes={"openinference.span.kind": "LLM"}
    ):
        assert t.should_skip()
    with trace.use_span(trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)):
        assert not t.should_skip()


def test_nothing_raises_into_the_caller(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider, ContentCapture.SPAN_AND_EVENT)
    inv = invocation()
    t.start(inv)
    inv.finish_reasons = 5  # type: ignore[assignment]
    inv.output_messages = [object()]  # type: ignore[list-item]
    t.finish(inv)
    [span] = span_exporter.get_finished_spans()  # ended even though building attributes failed
    assert span.end_time is not None
    assert not inference_in_progress()


def test_chunk_points_of_a_second_emitter_on_the_same_meter(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    metric_reader: InMemoryMetricReader,
) -> None:
    # uninstrument() + instrument() again: the SDK returns the first emitter's instruments
    telemetry(tracer_provider, meter_provider, logger_provider)
    t = telemetry(tracer_provider, meter_provider, logger_provider)
    inv = Invocation("chat", "openai", request_model="m", stream=True)
    t.start(inv)
    t.detach(inv)
    for _ in range(4):
        t.chunk(inv)
    t.finish(inv)
    [(attrs, per_chunk)] = metric_points(
        metric_reader, "gen_ai.client.operation.time_per_output_chunk"
    )
    assert per_chunk.count == 3
    assert attrs["gen_ai.request.model"] == "m"
    names = {
        m.name
        for rm in metric_reader.get_metrics_data().resource_metrics  # type: ignore[union-attr]
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert LLMOTEL_PENDING_POINTS not in names  # it never has data


def test_metric_points_carry_exemplars_of_the_span(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    t = telemetry(tracer_provider, meter_provider, logger_provider)
    inv = Invocation("chat", "openai", request_model="m", stream=True)
    t.start(inv)
    t.detach(inv)
    # gaps 0.005, 0.005, 0.49, 0.005 s: buckets (0, 0.01] and (0.32, 0.64]
    first = inv._start + 0.1
    t.chunk_times(inv).extend([first, first + 0.005, first + 0.010, first + 0.5, first + 0.505])
    respond(inv)
    t.finish(inv)
    [span] = span_exporter.get_finished_spans()
    assert span.context is not None
    ids = (span.context.trace_id, span.context.span_id)
    # One collection: a reader hands each exemplar out once.
    data = metric_reader.get_metrics_data()
    assert data is not None
    points = {
        m.name: list(m.data.data_points)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    [duration] = points["gen_ai.client.operation.duration"]
    assert [(e.trace_id, e.span_id) for e in duration.exemplars] == [ids]
    [per_chunk] = points["gen_ai.client.operation.time_per_output_chunk"]
    assert per_chunk.count == 4
    # the reservoir keeps the last point of each bucket: the stream's last gap there, with the span
    exemplars = sorted((round(e.value, 6), e.trace_id, e.span_id) for e in per_chunk.exemplars)
    assert exemplars == [(0.005, *ids), (0.49, *ids)]
    tokens = points["gen_ai.client.token.usage"]
    assert [[(e.trace_id, e.span_id) for e in p.exemplars] for p in tokens] == [[ids], [ids]]
