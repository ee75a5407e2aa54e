"""The distro's mcp 2.x stage (``McpSdkSpanNames``, run when ``LLMOTEL_NORMALIZE`` is off and
llmotel-instrumentation-mcp finds mcp 2.x): it renames mcp 2.x's CLIENT spans and nothing else.
Its run on the real SDK's spans under ``opentelemetry-instrument`` is in
llmotel-instrumentation-mcp's ``test_mcp2.py`` (the ``tests-mcp-newest`` session)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from llmotel.distro._doctor import diagnose
from llmotel.distro._setup import McpSdkSpanNames, mcp_sdk_spans
from llmotel.sdk.pipeline import MutableSpan


def record(scope: str, name: str, attributes: dict[str, Any]) -> MutableSpan:
    span = TracerProvider().get_tracer(scope).start_span(name, attributes=attributes)
    span.end()
    return MutableSpan.from_span(span)


def test_mcp_sdk_client_span_renamed() -> None:
    out = McpSdkSpanNames()(
        record("mcp-python-sdk", "MCP send tools/call add", {"mcp.method.name": "tools/call"})
    )
    assert out.name == "tools/call add"
    assert dict(out.attributes) == {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
    }


def test_other_conventions_left_alone() -> None:
    """An OpenInference span passes as it came: only the full normalizer (LLMOTEL_NORMALIZE)
    translates it."""
    attributes = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o"}
    out = McpSdkSpanNames()(record("openinference", "ChatCompletion", attributes))
    assert out.name == "ChatCompletion"
    assert dict(out.attributes) == attributes


def test_disabled_mcp_instrumentation_turns_it_off() -> None:
    assert mcp_sdk_spans({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai, llmotel_mcp"}) is False
    assert mcp_sdk_spans({"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "*"}) is False


def test_doctor_says_whether_it_runs() -> None:
    env = {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "llmotel_mcp"}
    assert diagnose(env, check_network=False).config["mcp_sdk_span_names"] is False
    normalized = {"LLMOTEL_NORMALIZE": "add"}
    assert diagnose(normalized, check_network=False).config["mcp_sdk_span_names"] is False
