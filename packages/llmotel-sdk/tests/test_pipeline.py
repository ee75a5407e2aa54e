"""PipelineSpanExporter / PipelineLogExporter: copies, stages, fail-closed, counters, bad input."""

from __future__ import annotations

import gc
import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from llmotel.sdk.pipeline import (
    CONTENT_REMOVED_ATTRIBUTE,
    MutableLogRecord,
    MutableSpan,
    PipelineLogExporter,
    PipelineLogRecordProcessor,
    PipelineSpanExporter,
    PipelineSpanProcessor,
    content_sensitive,
)
from llmotel.testing import metric_points

MESSAGES = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "my card 4111"}]}])


def make_span(provider: TracerProvider, **attributes: Any) -> None:
    tracer = provider.get_tracer("test")
    other = tracer.start_span("other")
    other.end()
    with tracer.start_as_current_span(
        "chat gpt-4o",
        kind=SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": MESSAGES,
            **attributes,
        },
        links=[Link(other.get_span_context(), {"gen_ai.input.messages": MESSAGES, "k": "v"})],
    ) as span:
        span.add_event("exception", {"exception.message": "bad 4111", "exception.type": "E"})
        span.set_status(Status(StatusCode.ERROR, "bad 4111"))


@pytest.fixture
def pipeline_provider(span_exporter: InMemorySpanExporter) -> Iterator[Any]:
    providers: list[TracerProvider] = []

    def build(stages: list[Any], **kwargs: Any) -> tuple[TracerProvider, PipelineSpanExporter]:
        pipeline = PipelineSpanExporter(stages, span_exporter, **kwargs)
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(pipeline))
        providers.append(provider)
        return provider, pipeline

    yield build
    for provider in providers:
        provider.shutdown()


def chat_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    return next(s for s in exporter.get_finished_spans() if s.name != "other")


def test_stage_edits_reach_exporter_and_source_is_untouched(
    pipeline_provider: Any, span_exporter: InMemorySpanExporter
) -> None:
    seen: list[ReadableSpan] = []

    def rename(record: MutableSpan) -> MutableSpan:
        seen.append(record.source)
        record.name = "chat renamed"
        record.attributes["added"] = 1
        record.events[0].attributes["exception.type"] = "F"
        record.links[0].attributes["k"] = "w"
        record.status = Status(StatusCode.OK)
        return record

    provider, pipeline = pipeline_provider([rename])
    make_span(provider)
    out = span_exporter.get_finished_spans()[-1]
    assert out.name == "chat renamed"
    assert out.attributes is not None
    assert out.attributes["added"] == 1
    assert out.events[0].attributes == {"exception.message": "bad 4111", "exception.type": "F"}
    assert out.links[0].attributes == {"gen_ai.input.messages": MESSAGES, "k": "w"}
    assert out.status.status_code is StatusCode.OK
    assert out.kind is SpanKind.CLIENT
    assert out.context == seen[-1].context
    assert (out.start_time, out.end_time) == (seen[-1].start_time, seen[-1].end_time)
    assert out.resource is seen[-1].resource
    assert out.instrumentation_scope == seen[-1].instrumentation_scope
    # The finished span the SDK handed over is unchanged.
    source = seen[-1]
    assert source.name == "chat gpt-4o"
    assert source.attributes is not None
    assert "added" not in source.attributes
    assert source.events[0].attributes["exception.type"] == "E"  # type: ignore[index]
    assert source.status.status_code is StatusCode.ERROR
    stats = pipeline.stats()
    assert (stats.records_in, stats.records_out, stats.failed) == (2, 2, 0)
    assert stats.stages["rename"].records_out == 2


def test_none_drops_and_counts(pipeline_provider: Any, span_exporter: InMemorySpanExporter) -> None:
    def only_chat(record: MutableSpan) -> MutableSpan | None:
        return record if record.name.startswith("chat") else None

    only_chat.name = "only_chat"  # type: ignore[attr-defined]
    provider, pipeline = pipeline_provider([only_chat])
    make_span(provider)
    assert [s.name for s in span_exporter.get_finished_spans()] == ["chat gpt-4o"]
    stage = pipeline.stats().stages["only_chat"]
    assert (stage.records_in, stage.records_out, stage.dropped, stage.failed) == (2, 1, 1, 0)


def test_content_sensitive_failure_strips_content_everywhere(
    pipeline_provider: Any, span_exporter: InMemorySpanExporter
) -> None:
    @content_sensitive
    def redact(record: MutableSpan) -> MutableSpan:
        record.attributes["half"] = "done"
        raise RuntimeError("could not analyze 'my card 4111'")

    provider, pipeline = pipeline_provider([redact])
    make_span(provider, **{"llm.input_messages.0.message.content": "my card 4111"})
    span = chat_span(span_exporter)
    assert span.attributes == {
        "gen_ai.operation.name": "chat",
        "half": "done",
        CONTENT_REMOVED_ATTRIBUTE: "redact",
    }
    assert span.events[0].attributes == {"exception.type": "E"}
    assert span.links[0].attributes == {"k": "v"}
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is None
    stage = pipeline.stats().stages["redact"]
    assert (stage.records_in, stage.records_out, stage.failed, stage.content_removed) == (
        2,
        2,
        2,
        2,
    )


def test_plain_stage_failure_passes_record_unchanged(
    pipeline_provider: Any, span_exporter: InMemorySpanExporter
) -> None:
    def half_done(record: MutableSpan) -> MutableSpan:
        record.name = "changed"
        record.attributes["gen_ai.operation.name"] = "changed"
        record.events[0].attributes.clear()
        record.links.clear()
        raise ValueError("oops")

    def after(record: MutableSpan) -> MutableSpan:
        record.attributes["after"] = True
        return record

    provider, pipeline = pipeline_provider([half_done, after])
    make_span(provider)
    span = chat_span(span_exporter)
    assert span.name == "chat gpt-4o"
    assert span.attributes is not None
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert span.attributes["after"] is True
    assert CONTENT_REMOVED_ATTRIBUTE not in span.attributes
    assert span.events[0].attributes == {"exception.message": "bad 4111", "exception.type": "E"}
    assert len(span.links) == 1
    stats = pipeline.stats().stages
    assert stats["half_done"].failed == 2
    assert stats["after"].records_in == 2


class _Atomic:
    """An atomic stage: it tags the record when the price is known, and raises before changing anything
    when it is not (or, ``contract_broken``, after a change: what no atomic stage may do)."""

    atomic = True

    def __init__(self, *, contract_broken: bool = False) -> None:
        self.contract_broken = contract_broken
        self.records: list[MutableSpan] = []

    def __call__(self, record: MutableSpan) -> MutableSpan:
        self.records.append(record)
        if "price" not in record.attributes:
            if self.contract_broken:
                record.attributes["half"] = True
            raise LookupError("no price")
        record.attributes["tagged"] = True
        return record


def test_an_atomic_stage_edits_the_record_in_place_and_a_failing_one_passes_it_on(
    pipeline_provider: Any, span_exporter: InMemorySpanExporter
) -> None:
    stage = _Atomic()
    provider, pipeline = pipeline_provider([stage])
    make_span(provider, price=1.0)
    span = chat_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["tagged"] is True
    span_exporter.clear()
    make_span(provider)
    span = chat_span(span_exporter)
    assert span.attributes is not None
    assert "tagged" not in span.attributes
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert pipeline.stats().stages["_Atomic"].failed == 3  # the unpriced chat span and both "other"


def test_an_atomic_stage_gets_no_snapshot(
    pipeline_provider: Any, span_exporter: InMemorySpanExporter
) -> None:
    # What tells atomic from plain stages: a plain one's half-done change is undone, an atomic one's stays.
    provider, _ = pipeline_provider([_Atomic(contract_broken=True)])
    make_span(provider)
    span = chat_span(span_exporter)
    assert span.attributes is not None
    assert span.attributes["half"] is True


def test_wrong_return_type_is_a_failure(
    pipeline_provider: Any, span_exporter: InMemorySpanExporter
) -> None:
    class Sloppy:
        name = "sloppy"
        content_sensitive = True

        def __call__(self, record: MutableSpan) -> Any:
            return True

    provider, pipeline = pipeline_provider([Sloppy()])
    make_span(provider)
    assert chat_span(span_exporter).attributes[CONTENT_REMOVED_ATTRIBUTE] == "sloppy"  # type: ignore[index]
    assert pipeline.stats().stages["sloppy"].failed == 2


class BatchRedactor:
    """A stage with a batch form: the pipeline calls ``process_batch`` instead of ``__call__``."""

    name = "batch"
    content_sensitive = True

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.batches: list[int] = []

    def __call__(self, record: MutableSpan) -> MutableSpan | None:
        raise AssertionError("the batch form must be preferred")

    def process_batch(self, records: list[MutableSpan]) -> list[MutableSpan]:
        self.batches.append(len(records))
        if self.fail:
            raise RuntimeError("analyzer down")
        for record in records:
            record.attributes.pop("gen_ai.input.messages", None)
        return [r for r in records if r.name != "other"]


def test_batch_form_is_preferred(span_exporter: InMemorySpanExporter) -> None:
    stage = BatchRedactor()
    pipeline = PipelineSpanExporter([stage], span_exporter)
    provider = TracerProvider()
    make_span(provider)  # spans are created with a provider that exports nowhere...
    tracer = provider.get_tracer("t")
    spans = []
    for name in ("a", "other", "b"):
        span = tracer.start_span(name, attributes={"gen_ai.input.messages": "x"})
        span.end()
        spans.append(span)
    assert pipeline.export(spans) is SpanExportResult.SUCCESS  # ...and exported here in one batch
    assert stage.batches == [3]
    assert [s.name for s in span_exporter.get_finished_spans()] == ["a", "b"]
    assert all(s.attributes == {} for s in span_exporter.get_finished_spans())
    assert pipeline.stats().stages["batch"].dropped == 1


def test_failing_batch_form_strips_the_whole_batch(span_exporter: InMemorySpanExporter) -> None:
    pipeline = PipelineSpanExporter([BatchRedactor(fail=True)], span_exporter)
    tracer = TracerProvider().get_tracer("t")
    spans = []
    for name in ("a", "b"):
        span = tracer.start_span(name, attributes={"gen_ai.input.messages": "x", "n": 1})
        span.end()
        spans.append(span)
    pipeline.export(spans)
    assert [s.attributes for s in span_exporter.get_finished_spans()] == [
        {"n": 1, CONTENT_REMOVED_ATTRIBUTE: "batch"}
    ] * 2
    stage = pipeline.stats().stages["batch"]
    assert (stage.failed, stage.content_removed, stage.records_out) == (2, 2, 2)


def test_content_sensitive_wraps_what_cannot_take_an_attribute() -> None:
    class Redactor:
        def redact(self, record: MutableSpan) -> MutableSpan:
            return record

    stage = content_sensitive(Redactor().redact)
    assert stage.content_sensitive is True  # type: ignore[attr-defined]
    assert stage.name == "Redactor.redact"  # type: ignore[attr-defined]


def test_self_telemetry_as_metrics(
    span_exporter: InMemorySpanExporter,
    meter_provider: Any,
    metric_reader: InMemoryMetricReader,
) -> None:
    @content_sensitive
    def redact(record: MutableSpan) -> MutableSpan | None:
        if record.name == "other":
            return None
        raise RuntimeError

    pipeline = PipelineSpanExporter([redact], span_exporter, meter_provider=meter_provider)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(pipeline))
    make_span(provider)
    points = {
        p[0]["llmotel.pipeline.outcome"]: p[1].value
        for p in metric_points(metric_reader, "llmotel.pipeline.records")
    }
    assert points == {"in": 2, "out": 1, "dropped": 1, "failed": 1, "content_removed": 1}
    attrs, point = metric_points(metric_reader, "llmotel.pipeline.stage.duration")[0]
    assert attrs == {"llmotel.pipeline.signal": "traces", "llmotel.pipeline.stage": "redact"}
    assert point.count == 2  # one per exported batch (SimpleSpanProcessor: one span each)


def test_empty_pipeline_passes_spans_through(span_exporter: InMemorySpanExporter) -> None:
    pipeline = PipelineSpanExporter([], span_exporter)
    span = TracerProvider().get_tracer("t").start_span("x")
    span.end()
    pipeline.export([span])
    assert span_exporter.get_finished_spans() == (span,)
    assert pipeline.stats().records_out == 1


def test_shutdown_and_flush_delegate() -> None:
    calls: list[str] = []

    class Recorder(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            calls.append("shutdown")

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            calls.append(f"flush {timeout_millis}")
            return False

    pipeline = PipelineSpanExporter([], Recorder())
    assert pipeline.force_flush(5) is False
    pipeline.shutdown()
    assert calls == ["flush 5", "shutdown"]


def test_processor_batches_through_the_pipeline(span_exporter: InMemorySpanExporter) -> None:
    def tag(record: MutableSpan) -> MutableSpan:
        record.attributes["tagged"] = True
        return record

    processor = PipelineSpanProcessor([tag], span_exporter, schedule_delay_millis=60_000)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    make_span(provider)
    assert processor.force_flush()
    assert [s.attributes["tagged"] for s in span_exporter.get_finished_spans()] == [True, True]  # type: ignore[index]
    assert processor.stats().records_out == 2
    provider.shutdown()


# -- bad input -------------------------------------------------------------------------------------


def test_bad_input_never_escapes(span_exporter: InMemorySpanExporter) -> None:
    def parse_messages(record: MutableSpan) -> MutableSpan:
        value = record.attributes.get("gen_ai.input.messages")
        if isinstance(value, str):
            record.attributes["count"] = len(json.loads(value))
        return record

    pipeline = PipelineSpanExporter([parse_messages], span_exporter)
    tracer = TracerProvider().get_tracer("t")
    spans = []
    for value in ("{not json", "x" * 1_000_000, 12, ["a", "b"], '[{"role": "user"}]'):
        span = tracer.start_span("s", attributes={"gen_ai.input.messages": value})
        for i in range(2_000):
            span.add_event("chunk", {"i": i})
        span.end()
        spans.append(span)
    assert pipeline.export(spans) is SpanExportResult.SUCCESS
    out = span_exporter.get_finished_spans()
    assert len(out) == 5
    assert [s.attributes.get("count") for s in out] == [None, None, None, None, 1]  # type: ignore[union-attr]
    assert out[1].attributes["gen_ai.input.messages"] == "x" * 1_000_000  # type: ignore[index]
    assert len(out[0].events) == 128  # the SDK's event limit held on the source...
    assert out[0].dropped_events == 2_000 - 128  # ...and its dropped count is carried over
    assert pipeline.stats().stages["parse_messages"].failed == 2


def test_thousands_of_events_fail_closed_quickly(span_exporter: InMemorySpanExporter) -> None:
    events = [
        Event("exception", {"exception.message": f"secret {i}", "exception.type": "E"}, i)
        for i in range(5_000)
    ]
    big = ReadableSpan("big", events=events, attributes={"gen_ai.input.messages": MESSAGES})

    @content_sensitive
    def redact(record: MutableSpan) -> MutableSpan:
        raise RuntimeError

    pipeline = PipelineSpanExporter([redact], span_exporter)
    start = time.perf_counter()
    pipeline.export([big])
    assert time.perf_counter() - start < 2.0
    (out,) = span_exporter.get_finished_spans()
    assert len(out.events) == 5_000
    assert all(e.attributes == {"exception.type": "E"} for e in out.events)
    assert out.attributes == {CONTENT_REMOVED_ATTRIBUTE: "redact"}
    assert big.events[0].attributes["exception.message"] == "secret 0"  # type: ignore[index]


def test_broken_record_shape_fails_closed(span_exporter: InMemorySpanExporter) -> None:
    def breaks_events(record: MutableSpan) -> MutableSpan:
        record.events = 42  # type: ignore[assignment]
        return record

    redact = content_sensitive(lambda record: record)
    pipeline = PipelineSpanExporter([redact, breaks_events], span_exporter)
    span = (
        TracerProvider().get_tracer("t").start_span("x", attributes={"gen_ai.input.messages": "m"})
    )
    span.end()
    pipeline.export([span])
    # A redactor ran, so the unredacted source must not be exported in place of the broken copy.
    assert span_exporter.get_finished_spans() == ()
    assert pipeline.stats().failed == 1


# -- volume and threads ----------------------------------------------------------------------------


class _Discard(SpanExporter):
    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Any) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _spans(n: int, *, events: bool = True) -> list[ReadableSpan]:
    tracer = TracerProvider().get_tracer("t")
    spans = []
    for i in range(n):
        span = tracer.start_span(
            "chat m",
            attributes={"gen_ai.operation.name": "chat", "gen_ai.input.messages": MESSAGES},
        )
        if events:
            span.add_event("e", {"i": i})
        span.end()
        spans.append(span)
    return spans


def test_100k_spans_flat_memory() -> None:
    @content_sensitive
    def touch(record: MutableSpan) -> MutableSpan:
        record.attributes["seen"] = True
        return record

    sink = _Discard()
    pipeline = PipelineSpanExporter([touch], sink)
    batch = _spans(512, events=False)
    for _ in range(20):  # warm up caches and free lists
        pipeline.export(batch)
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(196):  # 196 * 512 ≈ 100k spans
            pipeline.export(batch)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.count == 216 * 512
    assert pipeline.stats().records_out == 216 * 512
    assert after - before < 64 * 1024, f"grew by {after - before} bytes"


def test_concurrent_exports_count_exactly() -> None:
    def touch(record: MutableSpan) -> MutableSpan:
        record.attributes["seen"] = True
        return record

    sink = InMemorySpanExporter()
    pipeline = PipelineSpanExporter([touch], sink)
    batch = _spans(50)
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(25):
            pipeline.export(batch)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = pipeline.stats()
    assert stats.records_in == stats.records_out == 8 * 25 * 50
    assert len(sink.get_finished_spans()) == 8 * 25 * 50
    assert all(s.attributes["seen"] for s in sink.get_finished_spans())  # type: ignore[index]


# -- logs ------------------------------------------------------------------------------------------


def test_log_pipeline_rebuilds_records(log_exporter: InMemoryLogRecordExporter) -> None:
    def tag(record: MutableLogRecord) -> MutableLogRecord:
        record.attributes["tagged"] = True
        record.body = {"replaced": True}
        record.severity_number = SeverityNumber.WARN
        return record

    provider = LoggerProvider()
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(PipelineLogExporter([tag], log_exporter))
    )
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("parent") as span:
        provider.get_logger("l").emit(
            LogRecord(body="hello", event_name="gen_ai.client.inference.operation.details")
        )
    (record,) = log_exporter.get_finished_logs()
    log = record.log_record
    assert log.body == {"replaced": True}
    assert log.attributes == {"tagged": True}
    assert log.event_name == "gen_ai.client.inference.operation.details"
    assert log.severity_number is SeverityNumber.WARN
    assert log.trace_id == span.get_span_context().trace_id
    assert log.span_id == span.get_span_context().span_id


def test_log_content_sensitive_failure_removes_body(
    log_exporter: InMemoryLogRecordExporter,
) -> None:
    @content_sensitive
    def redact(record: MutableLogRecord) -> MutableLogRecord:
        raise RuntimeError

    processor = PipelineLogRecordProcessor([redact], log_exporter, schedule_delay_millis=60_000)
    provider = LoggerProvider()
    provider.add_log_record_processor(processor)
    provider.get_logger("l").emit(
        LogRecord(
            body={"content": "my card 4111"},
            attributes={"gen_ai.output.messages": MESSAGES, "exception.message": "4111", "n": 1},
        )
    )
    assert processor.force_flush()
    (record,) = log_exporter.get_finished_logs()
    assert record.log_record.body is None
    assert record.log_record.attributes == {"n": 1, CONTENT_REMOVED_ATTRIBUTE: "redact"}
    assert processor.stats().stages["redact"].content_removed == 1
    provider.shutdown()
