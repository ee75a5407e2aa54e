"""The span/log pipeline and the LLM semantic-convention span processors for the OpenTelemetry SDK.

* :mod:`llmotel.sdk.pipeline` — stages over copies of finished spans/logs, run before export.
* :class:`ContextEnricher` — copies ``using_session``/``using_user``/``using_conversation`` ids
  onto every span at start.
* :mod:`llmotel.sdk.config` — reading ``LLMOTEL_*`` settings from the environment.
"""

from llmotel.sdk._enricher import ContextEnricher
from llmotel.sdk.pipeline import (
    MutableEvent,
    MutableLink,
    MutableLogRecord,
    MutableSpan,
    PipelineLogExporter,
    PipelineLogRecordProcessor,
    PipelineSpanExporter,
    PipelineSpanProcessor,
    PipelineStats,
    StageStats,
    content_sensitive,
)
from llmotel.sdk.version import __version__
from llmotel.semconv.context import (
    get_context_attributes,
    using_attributes,
    using_conversation,
    using_session,
    using_user,
)

__all__ = [
    "ContextEnricher",
    "MutableEvent",
    "MutableLink",
    "MutableLogRecord",
    "MutableSpan",
    "PipelineLogExporter",
    "PipelineLogRecordProcessor",
    "PipelineSpanExporter",
    "PipelineSpanProcessor",
    "PipelineStats",
    "StageStats",
    "__version__",
    "content_sensitive",
    "get_context_attributes",
    "using_attributes",
    "using_conversation",
    "using_session",
    "using_user",
]
