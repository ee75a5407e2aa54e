"""Ready processors for wiring redaction into a provider by hand."""

from __future__ import annotations

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace.export import SpanExporter

from llmotel.redaction._redactor import Redactor
from llmotel.redaction._stage import RedactionStage
from llmotel.sdk.pipeline import PipelineLogRecordProcessor, PipelineSpanProcessor

__all__ = ["RedactingLogRecordProcessor", "RedactingSpanProcessor"]


class RedactingSpanProcessor(PipelineSpanProcessor):
    """A batch span processor whose exporter only ever sees redacted spans::

        provider.add_span_processor(RedactingSpanProcessor(OTLPSpanExporter()))

    ``redactor`` defaults to ``Redactor()`` (the default entities, ``<ENTITY_TYPE>``
    replacement); analysis runs on the batch worker thread, never on the thread that ends the
    span. ``time_budget``, ``redact_names`` and ``meter_provider`` go to
    :class:`RedactionStage`; the batch options are ``BatchSpanProcessor``'s.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        redactor: Redactor | None = None,
        *,
        time_budget: float = 0.5,
        redact_names: bool = True,
        meter_provider: MeterProvider | None = None,
        max_queue_size: int | None = None,
        schedule_delay_millis: float | None = None,
        max_export_batch_size: int | None = None,
        export_timeout_millis: float | None = None,
    ) -> None:
        self.stage = RedactionStage(
            redactor,
            time_budget=time_budget,
            redact_names=redact_names,
            meter_provider=meter_provider,
        )
        super().__init__(
            [self.stage],
            exporter,
            meter_provider=meter_provider,
            max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=max_export_batch_size,
            export_timeout_millis=export_timeout_millis,
        )


class RedactingLogRecordProcessor(PipelineLogRecordProcessor):
    """A batch log record processor whose exporter only ever sees redacted bodies and attributes::

        logger_provider.add_log_record_processor(RedactingLogRecordProcessor(OTLPLogExporter()))

    Same options as :class:`RedactingSpanProcessor`.
    """

    def __init__(
        self,
        exporter: LogRecordExporter,
        redactor: Redactor | None = None,
        *,
        time_budget: float = 0.5,
        redact_names: bool = True,
        meter_provider: MeterProvider | None = None,
        max_queue_size: int | None = None,
        schedule_delay_millis: float | None = None,
        max_export_batch_size: int | None = None,
        export_timeout_millis: float | None = None,
    ) -> None:
        self.stage = RedactionStage(
            redactor,
            time_budget=time_budget,
            redact_names=redact_names,
            meter_provider=meter_provider,
        )
        super().__init__(
            [self.stage],
            exporter,
            meter_provider=meter_provider,
            max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_millis,
            max_export_batch_size=max_export_batch_size,
            export_timeout_millis=export_timeout_millis,
        )
