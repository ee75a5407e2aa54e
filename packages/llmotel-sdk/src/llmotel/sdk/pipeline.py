"""The pipeline primitive: transform copies of finished spans and log records before export.

A *stage* is a plain callable ``stage(record) -> record | None``. Span stages get a
:class:`MutableSpan`, log stages a :class:`MutableLogRecord`; returning ``None`` drops the record.
A stage may also offer ``process_batch(records) -> records`` to see a whole export batch at once.
:class:`PipelineSpanExporter` / :class:`PipelineLogExporter` wrap a real exporter and run the
stages on the exporting thread; :class:`PipelineSpanProcessor` / :class:`PipelineLogRecordProcessor`
queue records (bounded), run the stages on their own worker and, when it falls behind, shed content
before spans (see :class:`ExportStats`). See ``docs/pipeline.md`` for how to write a stage.
"""

from llmotel.sdk._content import CONTENT_REMOVED_ATTRIBUTE, is_content_attribute
from llmotel.sdk._pipeline import (
    BatchStage,
    ExportStats,
    LogStage,
    PipelineLogExporter,
    PipelineLogRecordProcessor,
    PipelineSpanExporter,
    PipelineSpanProcessor,
    PipelineStats,
    SpanStage,
    StageStats,
    content_sensitive,
    stage_name,
)
from llmotel.sdk._records import MutableEvent, MutableLink, MutableLogRecord, MutableSpan

__all__ = [
    "CONTENT_REMOVED_ATTRIBUTE",
    "BatchStage",
    "ExportStats",
    "LogStage",
    "MutableEvent",
    "MutableLink",
    "MutableLogRecord",
    "MutableSpan",
    "PipelineLogExporter",
    "PipelineLogRecordProcessor",
    "PipelineSpanExporter",
    "PipelineSpanProcessor",
    "PipelineStats",
    "SpanStage",
    "StageStats",
    "content_sensitive",
    "is_content_attribute",
    "stage_name",
]
