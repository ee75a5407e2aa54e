"""The span/log pipeline and the LLM semantic-convention span processors for the OpenTelemetry SDK.

* :mod:`llmotel.sdk.pipeline` — stages over copies of finished spans/logs, run before export.
* :class:`ContextEnricher` — copies ``using_session``/``using_user``/``using_conversation`` ids
  onto every span at start.
* :class:`ConventionNormalizer` — a pipeline stage rewriting OpenInference/OpenLLMetry/deprecated
  names into GenAI semconv v1.41; :class:`SemconvValidator` and :func:`assert_semconv` check spans.
* :mod:`llmotel.sdk.config` — reading ``LLMOTEL_*`` settings from the environment.
"""

from llmotel.sdk._enricher import ContextEnricher
from llmotel.sdk.normalize import ConventionNormalizer
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
from llmotel.sdk.validation import SemconvValidator, assert_semconv
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
    "ConventionNormalizer",
    "MutableEvent",
    "MutableLink",
    "MutableLogRecord",
    "MutableSpan",
    "PipelineLogExporter",
    "PipelineLogRecordProcessor",
    "PipelineSpanExporter",
    "PipelineSpanProcessor",
    "PipelineStats",
    "SemconvValidator",
    "StageStats",
    "__version__",
    "assert_semconv",
    "content_sensitive",
    "get_context_attributes",
    "using_attributes",
    "using_conversation",
    "using_session",
    "using_user",
]
