"""PipelineSpanProcessor / PipelineLogRecordProcessor: the bounded queue, shedding content under backlog,
counting every record that is not delivered whole, bounded shutdown, several exporters."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.sdk.pipeline import (
    CONTENT_REMOVED_ATTRIBUTE,
    MutableLogRecord,
    MutableSpan,
    PipelineLogRecordProcessor,
    PipelineSpanProcessor,
    content_sensitive,
)
from llmotel.sdk.spans import estimate_bytes
from llmotel.semconv.attributes import GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES
from llmotel.testing import metric_points

PII = "jane.doe@example.com"
MESSAGES = json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"mail {PII}"}]}])
SHED = "llmotel.pipeline.shed"


class SlowRedactor:
    """A content-sensitive stage that takes its time; the first call waits until the test lets it go."""

    content_sensitive = True
    name = "slow_redact"

    def __init__(self, per_record_s: float) -> None:
        self.per_record_s = per_record_s
        self.release = threading.Event()
        self.calls = 0
        self.shed_calls = 0

    def __call__(self, record: MutableSpan) -> MutableSpan:
        self.release.wait(10)
        self.calls += 1
        time.sleep(self.per_record_s)
        for attributes in [record.attributes, *(e.attributes for e in record.events)]:
            for key, value in list(attributes.items()):
                if isinstance(value, str):
                    attributes[key] = value.replace(PII, "<EMAIL_ADDRESS>")
        return record

    def shed(self, record: MutableSpan) -> MutableSpan:
        self.shed_calls += 1
        record.attributes["user.id"] = "<REDACTION_FAILED>"
        return record


class BlockingExporter(SpanExporter):
    """Exports nothing until ``release`` is set (a dead or slow backend); ``shutdown`` releases it with a failure,
    as the OTLP exporters abort their retries."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.stopped = False
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(30)
        if self.stopped:
            return SpanExportResult.FAILURE
        self.spans += spans
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.stopped = True
        self.release.set()


def _chat_spans(provider: TracerProvider, n: int) -> None:
    tracer = provider.get_tracer("test")
    for i in range(n):
        with tracer.start_as_current_span(
            f"chat {i}",
            attributes={
                "gen_ai.operation.name": "chat",
                GEN_AI_INPUT_MESSAGES: MESSAGES,
                GEN_AI_OUTPUT_MESSAGES: MESSAGES,
                "user.id": PII,
            },
        ) as span:
            span.add_event(
                "gen_ai.client.inference.operation.details", {GEN_AI_INPUT_MESSAGES: MESSAGES}
            )


def _shed_points(reader: InMemoryMetricReader) -> dict[tuple[str, str], int]:
    return {
        (a["llmotel.pipeline.outcome"], a["llmotel.pipeline.reason"]): p.value
        for a, p in metric_points(reader, SHED)
    }


def test_backlog_sheds_content_before_the_slow_stage_and_keeps_every_span(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    redactor = SlowRedactor(per_record_s=0.002)
    exporter = InMemorySpanExporter()
    processor = PipelineSpanProcessor(
        [redactor],
        exporter,
        meter_provider=meters,
        max_queue_size=400,
        max_export_batch_size=20,
        schedule_delay_millis=60_000,
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with caplog.at_level(logging.WARNING, logger="llmotel.sdk.pipeline"):
        _chat_spans(provider, 300)  # the first batch is held in the stage: the queue backs up
        redactor.release.set()
        assert processor.force_flush(20_000)

    spans = exporter.get_finished_spans()
    assert len(spans) == 300
    shed = [s for s in spans if s.attributes.get(CONTENT_REMOVED_ATTRIBUTE) == "backlog"]
    whole = [s for s in spans if CONTENT_REMOVED_ATTRIBUTE not in (s.attributes or {})]
    assert len(shed) + len(whole) == 300
    assert len(shed) > 0
    assert len(whole) >= 20
    for span in shed:
        assert GEN_AI_INPUT_MESSAGES not in span.attributes  # type: ignore[operator]
        assert GEN_AI_OUTPUT_MESSAGES not in span.attributes  # type: ignore[operator]
        assert span.attributes["user.id"] == "<REDACTION_FAILED>"  # type: ignore[index]
        assert dict(span.events[0].attributes or {}) == {}
    assert not [s for s in spans if PII in json.dumps(dict(s.attributes or {}))]
    assert not [s for s in spans for e in s.events if PII in json.dumps(dict(e.attributes or {}))]
    # The analysis ran only on the spans exported whole; the shed ones got the stage's cheap form.
    assert redactor.calls == len(whole)
    assert redactor.shed_calls == len(shed)
    stats = processor.export_stats()
    assert stats.exported == 300
    assert dict(stats.content_removed) == {"backlog": len(shed)}
    assert dict(stats.dropped) == {}
    assert _shed_points(reader) == {("content_removed", "backlog"): len(shed)}
    backlog_lines = [r for r in caplog.records if "export is behind" in r.getMessage()]
    assert len(backlog_lines) == 1
    provider.shutdown()


def test_without_a_content_sensitive_stage_nothing_is_shed() -> None:
    calls: list[int] = []

    def slow_tag(record: MutableSpan) -> MutableSpan:
        calls.append(1)
        time.sleep(0.001)
        return record

    exporter = InMemorySpanExporter()
    processor = PipelineSpanProcessor(
        [slow_tag], exporter, max_queue_size=400, max_export_batch_size=20
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    _chat_spans(provider, 200)
    assert processor.force_flush(20_000)
    spans = exporter.get_finished_spans()
    assert len(spans) == 200
    assert all(s.attributes[GEN_AI_INPUT_MESSAGES] == MESSAGES for s in spans)  # type: ignore[index]
    assert len(calls) == 200
    provider.shutdown()


def test_a_full_queue_drops_and_counts_every_span() -> None:
    reader = InMemoryMetricReader()
    exporter = BlockingExporter()
    processor = PipelineSpanProcessor(
        [],
        exporter,
        meter_provider=MeterProvider(metric_readers=[reader]),
        max_queue_size=10,
        max_export_batch_size=5,
        schedule_delay_millis=60_000,
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    _chat_spans(provider, 40)
    exporter.release.set()
    assert processor.force_flush(10_000)
    stats = processor.export_stats()
    assert stats.dropped["queue_full"] > 0
    assert stats.exported + stats.dropped["queue_full"] == 40
    assert len(exporter.spans) == stats.exported
    assert _shed_points(reader) == {("dropped", "queue_full"): stats.dropped["queue_full"]}
    provider.shutdown()


def test_the_byte_bound_holds_whatever_the_count() -> None:
    exporter = BlockingExporter()
    processor = PipelineSpanProcessor(
        [], exporter, max_queue_size=1000, max_queue_bytes=20_000, schedule_delay_millis=60_000
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    _chat_spans(provider, 100)  # each span holds ~1 KB of text
    queued = processor.export_stats()
    assert queued.queued_bytes <= 20_000
    assert queued.queued + queued.dropped["queue_full"] == 100
    exporter.release.set()
    provider.shutdown()


def test_the_queue_counts_spans_with_the_one_size_estimate() -> None:
    exporter = BlockingExporter()
    processor = PipelineSpanProcessor([], exporter, schedule_delay_millis=60_000)
    seen: list[ReadableSpan] = []

    class Seen(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            seen.append(span)

    provider = TracerProvider()
    provider.add_span_processor(Seen())
    provider.add_span_processor(processor)
    _chat_spans(provider, 3)
    assert processor.export_stats().queued_bytes == sum(estimate_bytes(s) for s in seen)
    exporter.release.set()
    provider.shutdown()


def test_shutdown_with_a_stuck_exporter_returns_in_time_and_counts_what_is_lost() -> None:
    exporter = BlockingExporter()
    processor = PipelineSpanProcessor(
        [], exporter, max_export_batch_size=5, shutdown_timeout_millis=300
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    _chat_spans(provider, 12)
    started = time.monotonic()
    provider.shutdown()
    assert time.monotonic() - started < 1.5
    stats = processor.export_stats()
    assert stats.exported == 0
    assert dict(stats.dropped) == {"shutdown": 12}


def test_several_exporters_get_the_same_spans_from_one_run_of_the_stages() -> None:
    runs: list[str] = []

    def tag(record: MutableSpan) -> MutableSpan:
        runs.append(record.name)
        record.attributes["tagged"] = True
        return record

    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    processor = PipelineSpanProcessor([tag], [first, second])
    provider = TracerProvider()
    provider.add_span_processor(processor)
    _chat_spans(provider, 3)
    assert processor.force_flush()
    names = sorted(runs)
    assert names == ["chat 0", "chat 1", "chat 2"]
    for exporter in (first, second):
        spans = exporter.get_finished_spans()
        assert sorted(s.name for s in spans) == names
        assert all(s.attributes["tagged"] is True for s in spans)  # type: ignore[index]
    assert processor.export_stats().exported == 6
    provider.shutdown()


def test_log_records_are_shed_without_body() -> None:
    release = threading.Event()

    @content_sensitive
    def slow_redact(record: MutableLogRecord) -> MutableLogRecord:
        release.wait(10)
        time.sleep(0.002)
        record.body = "<redacted>"
        return record

    exporter = InMemoryLogRecordExporter()
    processor = PipelineLogRecordProcessor(
        [slow_redact],
        exporter,
        max_queue_size=400,
        max_export_batch_size=20,
        schedule_delay_millis=60_000,
    )
    provider = LoggerProvider()
    provider.add_log_record_processor(processor)
    logger = provider.get_logger("test")
    for _ in range(200):
        logger.emit(
            LogRecord(
                body=f"mail {PII}",
                severity_number=SeverityNumber.INFO,
                attributes={GEN_AI_INPUT_MESSAGES: MESSAGES},
                event_name="gen_ai.client.inference.operation.details",
            )
        )
    release.set()
    assert processor.force_flush(20_000)
    records = exporter.get_finished_logs()
    assert len(records) == 200
    shed = [r for r in records if (r.log_record.attributes or {}).get(CONTENT_REMOVED_ATTRIBUTE)]
    assert len(shed) == processor.export_stats().content_removed["backlog"]
    assert len(shed) > 0
    assert all(r.log_record.body is None for r in shed)
    assert not [r for r in shed if GEN_AI_INPUT_MESSAGES in (r.log_record.attributes or {})]
    assert not [r for r in records if PII in str(r.log_record.body)]
    provider.shutdown()


@pytest.mark.parametrize(
    "options",
    [{"max_queue_size": 0}, {"max_queue_bytes": -1}, {"max_export_batch_size": 4096}],
)
def test_bad_bounds_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="max_"):
        PipelineSpanProcessor([], InMemorySpanExporter(), **options)


def test_content_stages_get_a_share_of_the_worker_while_spans_keep_coming() -> None:
    # Far below the queue's bounds, but each step of the stage takes longer than the time saved up for it.
    redactor = SlowRedactor(per_record_s=0.02)
    redactor.release.set()
    exporter = InMemorySpanExporter()
    processor = PipelineSpanProcessor(
        [redactor], exporter, max_queue_size=4000, max_export_batch_size=32
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    _chat_spans(provider, 100)
    assert processor.force_flush(20_000)
    spans = exporter.get_finished_spans()
    shed = [s for s in spans if s.attributes.get(CONTENT_REMOVED_ATTRIBUTE) == "backlog"]
    assert len(spans) == 100
    # 1st batch whole (0.5 s saved up), 2nd shed (the share is spent and 36 wait), the last 36 whole (few wait).
    assert len(shed) == 32
    assert redactor.calls == 68
    provider.shutdown()
