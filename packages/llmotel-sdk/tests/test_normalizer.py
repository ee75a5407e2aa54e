"""ConventionNormalizer over real OpenInference / OpenLLMetry span dumps."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.sdk import ConventionNormalizer, PipelineSpanExporter
from llmotel.sdk.pipeline import MutableSpan
from llmotel.sdk.validation import assert_semconv, validate_span

from .conftest import CONVENTIONS, all_foreign_spans, load_spans

Loader = Callable[[str], list[ReadableSpan]]


def normalize(span: ReadableSpan, mode: Any = "replace") -> MutableSpan:
    return ConventionNormalizer(mode)(MutableSpan.from_span(span))


def test_every_dump_is_present() -> None:
    assert CONVENTIONS == [
        "openinference-anthropic",
        "openinference-openai",
        "openllmetry-anthropic",
        "openllmetry-anthropic-legacy",
        "openllmetry-openai",
        "openllmetry-openai-legacy",
    ]


@pytest.mark.parametrize(("convention", "index"), all_foreign_spans())
def test_replace_mode_output_is_semconv_valid(convention: str, index: int) -> None:
    record = normalize(load_spans(convention)[index], "replace")
    assert_semconv(record)


@pytest.mark.parametrize(("convention", "index"), all_foreign_spans())
def test_add_mode_keeps_originals_and_only_old_names_remain(convention: str, index: int) -> None:
    source = load_spans(convention)[index]
    record = normalize(source, "add")
    assert_semconv(record, allow=["deprecated"])
    assert source.attributes is not None
    for key, value in source.attributes.items():
        if key != "gen_ai.tool.definitions":  # repaired in place, see below
            assert record.attributes[key] == value


def test_openinference_openai_chat(foreign_spans: Loader) -> None:
    record = normalize(foreign_spans("openinference-openai")[0])
    assert record.name == "chat gpt-4o-mini"
    attrs = record.attributes
    assert {k: v for k, v in attrs.items() if k.startswith("gen_ai.")} == {
        "gen_ai.provider.name": "openai",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.usage.input_tokens": 7,
        "gen_ai.usage.output_tokens": 12,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 0,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.input.messages": '[{"role":"system","parts":[{"type":"text","content":"You are '
        'terse."}]},{"role":"user","parts":[{"type":"text","content":"Say hello."}]}]',
        "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text","content":"Stub '
        'reply from gpt-4o-mini: Say hello."}],"finish_reason":"stop"}]',
    }
    # Replaced: the OpenInference names that were translated are gone; the rest stays.
    assert not any(k.startswith(("llm.input_messages.", "llm.output_messages.")) for k in attrs)
    assert "openinference.span.kind" not in attrs
    assert attrs["llm.token_count.total"] == 19
    assert "input.value" in attrs


def test_openinference_tool_call_and_definitions(foreign_spans: Loader) -> None:
    attrs = normalize(foreign_spans("openinference-openai")[2]).attributes
    assert json.loads(str(attrs["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "name": "get_weather",
                    "id": "call_stub000003_0",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_call",
        }
    ]
    assert json.loads(str(attrs["gen_ai.tool.definitions"])) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]


def test_openinference_stream_and_embeddings(foreign_spans: Loader) -> None:
    _, stream, _, embeddings = (normalize(s) for s in foreign_spans("openinference-openai"))
    assert stream.attributes["gen_ai.request.stream"] is True
    assert embeddings.name == "embeddings text-embedding-3-small"
    assert embeddings.attributes["gen_ai.usage.input_tokens"] == 2
    assert embeddings.attributes["gen_ai.request.encoding_formats"] == ["base64"]
    assert isinstance(embeddings.attributes["gen_ai.embeddings.dimension.count"], int)


def test_openinference_anthropic_content_blocks(foreign_spans: Loader) -> None:
    record = normalize(foreign_spans("openinference-anthropic")[0])
    assert record.name == "chat claude-haiku-4-5"
    assert record.attributes["gen_ai.provider.name"] == "anthropic"
    assert json.loads(str(record.attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Stub reply from claude-haiku-4-5: Say hello."}],
            "finish_reason": "stop",
        }
    ]


def test_openllmetry_legacy_openai(foreign_spans: Loader) -> None:
    record = normalize(foreign_spans("openllmetry-openai-legacy")[2])
    attrs = record.attributes
    assert record.name == "chat gpt-4o-mini"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (4, 10)
    assert attrs["server.address"] == "127.0.0.1"
    assert isinstance(attrs["server.port"], int)
    assert attrs["openai.response.system_fingerprint"] == "fp_llmotel_stub"
    assert attrs["gen_ai.input.messages"] == (
        '[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]'
    )
    assert json.loads(str(attrs["gen_ai.output.messages"]))[0]["parts"] == [
        {
            "type": "tool_call",
            "name": "get_weather",
            "id": "call_stub000003_0",
            "arguments": {"city": "Paris"},
        }
    ]
    assert not any(
        k.startswith(("gen_ai.prompt.", "gen_ai.completion.", "llm.request.")) for k in attrs
    )
    assert "gen_ai.system" not in attrs


def test_openllmetry_legacy_anthropic_provider_value(foreign_spans: Loader) -> None:
    record = normalize(foreign_spans("openllmetry-anthropic-legacy")[1])
    # "Anthropic" (capitalized, as OpenLLMetry writes gen_ai.system) -> the semconv value.
    assert record.attributes["gen_ai.provider.name"] == "anthropic"
    assert record.attributes["gen_ai.request.stream"] is True


def test_current_openllmetry_span_name_and_tool_definitions(foreign_spans: Loader) -> None:
    record = normalize(foreign_spans("openllmetry-anthropic")[2], "add")
    assert record.name == "chat claude-haiku-4-5"
    assert json.loads(str(record.attributes["gen_ai.tool.definitions"]))[0]["type"] == "function"


def test_existing_semconv_values_win(foreign_spans: Loader) -> None:
    span = foreign_spans("openinference-openai")[0]
    record = MutableSpan.from_span(span)
    record.attributes["gen_ai.request.model"] = "explicit"
    ConventionNormalizer("add")(record)
    assert record.attributes["gen_ai.request.model"] == "explicit"
    assert record.name == "chat explicit"


def test_semconv_span_passes_untouched() -> None:
    span = (
        TracerProvider()
        .get_tracer("t")
        .start_span(
            "chat gpt-4o",
            attributes={"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"},
        )
    )
    span.end()
    record = MutableSpan.from_span(span)
    attrs = record.attributes
    ConventionNormalizer()(record)
    assert record.attributes is attrs
    assert attrs == {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}
    assert record.name == "chat gpt-4o"


def mcp_sdk_span(name: str, attributes: dict[str, Any]) -> MutableSpan:
    """A span as the mcp SDK 2.x's client makes it (its real ones are tested in
    llmotel-instrumentation-mcp's test_mcp2.py)."""
    span = TracerProvider().get_tracer("mcp-python-sdk").start_span(name, attributes=attributes)
    span.end()
    return MutableSpan.from_span(span)


@pytest.mark.parametrize("mode", ["add", "replace"])
@pytest.mark.parametrize(
    ("name", "method", "renamed", "added"),
    [
        (
            "MCP send tools/call add",
            "tools/call",
            "tools/call add",
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "add"},
        ),
        (
            "MCP send prompts/get greet",
            "prompts/get",
            "prompts/get greet",
            {"gen_ai.prompt.name": "greet"},
        ),
        ("MCP send resources/read", "resources/read", "resources/read", {}),
        ("MCP send tools/list", "tools/list", "tools/list", {}),
        # The name does not start with the method: not the SDK's span, left as it is.
        ("MCP send tools/call add", "tools/list", "MCP send tools/call add", {}),
        ("MCP send tools/callx", "tools/call", "MCP send tools/callx", {}),
    ],
)
def test_mcp_sdk_client_span(
    name: str, method: str, renamed: str, added: dict[str, str], mode: Any
) -> None:
    original = {"mcp.method.name": method, "jsonrpc.request.id": "2"}
    record = ConventionNormalizer(mode)(mcp_sdk_span(name, original))
    assert record.name == renamed
    assert record.attributes == {**original, **added}


def test_mcp_sdk_client_span_keeps_what_it_has() -> None:
    attributes = {"mcp.method.name": "tools/call", "gen_ai.tool.name": "kept"}
    record = ConventionNormalizer()(mcp_sdk_span("MCP send tools/call add", attributes))
    assert record.attributes["gen_ai.tool.name"] == "kept"
    assert record.name == "tools/call add"


def test_mode_is_checked() -> None:
    assert ConventionNormalizer().mode == "add"
    with pytest.raises(ValueError, match="mode must be 'add' or 'replace', not 'both'"):
        ConventionNormalizer("both")  # type: ignore[arg-type]


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        {"openinference.span.kind": "LLM", "llm.invocation_parameters": "{not json"},
        {"openinference.span.kind": "LLM", "llm.invocation_parameters": '["a list"]'},
        {"openinference.span.kind": "LLM", "llm.model_name": 42, "llm.token_count.prompt": "x"},
        {"openinference.span.kind": 7, "llm.tools.0.tool.json_schema": "{bad"},
        {"openinference.span.kind": "LLM", "llm.input_messages.x.message.role": "user"},
        {"openinference.span.kind": "LLM", "llm.input_messages.0.message.content": "x" * 1_000_000},
        {"llm.request.type": "chat", "gen_ai.prompt.0.content": '[{"type": "text"}, 3]'},
        {"llm.request.type": ["chat"], "gen_ai.completion.0.tool_calls.0.arguments": "{oops"},
        {"gen_ai.system": 12, "gen_ai.usage.prompt_tokens": "many"},
        {"gen_ai.openai.api_base": "http://[::1", "llm.is_streaming": "yes"},
        {
            "llm.request.type": "chat",
            **{f"gen_ai.prompt.{i}.content": f"m{i}" for i in range(5_000)},
        },
    ],
)
def test_bad_input_never_raises(attributes: dict[str, Any]) -> None:
    span = TracerProvider().get_tracer("t").start_span("odd")
    span.end()
    record = MutableSpan.from_span(span)
    record.attributes.update(attributes)
    out = ConventionNormalizer("replace")(record)
    assert out is record
    validate_span(out)  # whatever came out can be checked without raising


def test_in_a_pipeline(foreign_spans: Loader) -> None:
    sink = InMemorySpanExporter()
    pipeline = PipelineSpanExporter([ConventionNormalizer("replace")], sink)
    pipeline.export(foreign_spans("openllmetry-openai-legacy"))
    names = [s.name for s in sink.get_finished_spans()]
    assert names == ["chat gpt-4o-mini"] * 3 + ["embeddings text-embedding-3-small"]
    for span in sink.get_finished_spans():
        assert_semconv(span)
    assert pipeline.stats().stages["ConventionNormalizer"].failed == 0
