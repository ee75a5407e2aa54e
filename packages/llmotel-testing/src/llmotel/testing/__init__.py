"""A local LLM stub server (OpenAI, Anthropic, Mistral AI, Google Gen AI and Bedrock HTTP APIs) and pytest
fixtures for in-memory telemetry capture.

``StubServer`` answers the real ``openai``, ``anthropic``, ``mistralai``, ``google-genai`` and ``boto3`` SDKs
over HTTP with deterministic,
scriptable replies; the pytest plugin (``llmotel.testing.pytest_plugin``, loaded automatically)
provides the ``llm_stub``, ``span_exporter``/``tracer_provider``,
``metric_reader``/``meter_provider`` and ``log_exporter``/``logger_provider`` fixtures.
"""

from llmotel.testing._assertions import (
    console_spans,
    find_span,
    find_spans,
    metric_points,
    span_tree,
)
from llmotel.testing._bedrock import AWS_TEST_ENV, event_stream
from llmotel.testing._cost import check_cost
from llmotel.testing._instrument import (
    CONSOLE_ENV,
    check_disabled_by_name,
    check_loads_by_entry_point,
    check_patched_on_import,
    run_instrumented,
)
from llmotel.testing._replies import (
    Reply,
    StreamError,
    ToolCall,
    Usage,
    cut_stream_reply,
    error_reply,
    raw_reply,
    stream_error_reply,
    text_reply,
    tool_call_reply,
)
from llmotel.testing._server import RecordedRequest, StubServer
from llmotel.testing._tokens import count_tokens
from llmotel.testing.version import __version__

__all__ = [
    "AWS_TEST_ENV",
    "CONSOLE_ENV",
    "RecordedRequest",
    "Reply",
    "StreamError",
    "StubServer",
    "ToolCall",
    "Usage",
    "__version__",
    "check_cost",
    "check_disabled_by_name",
    "check_loads_by_entry_point",
    "check_patched_on_import",
    "console_spans",
    "count_tokens",
    "cut_stream_reply",
    "error_reply",
    "event_stream",
    "find_span",
    "find_spans",
    "metric_points",
    "raw_reply",
    "run_instrumented",
    "span_tree",
    "stream_error_reply",
    "text_reply",
    "tool_call_reply",
]
