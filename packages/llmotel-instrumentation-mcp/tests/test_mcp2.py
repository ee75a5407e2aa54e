"""mcp 2.x with the real SDK: it makes its own spans (``mcp.shared._otel``, ``mcp.server._otel``)
and propagates the trace context through ``params._meta`` itself, so llmotel patches nothing; each
request gives one span per side, both in one trace (in memory, over streamable HTTP, over stdio to a
subprocess under ``opentelemetry-instrument``). llmotel-sdk's ConventionNormalizer renames the SDK's
CLIENT spans the MCP conventions' way and adds the ``gen_ai.*`` attributes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import mcp_app
import pytest
import wrapt
from mcp import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.sdk import ConventionNormalizer, PipelineSpanExporter
from llmotel.testing.otlp import OtlpReceiver

SDK_SCOPE = "mcp-python-sdk"
SERVER_KIND = 2  # OTLP's SPAN_KIND_SERVER

# The SDK's tracer is the global one: one global provider for this module, feeding the spans as
# they are (RAW) and through the llmotel pipeline's normalizer (NORMALIZED).
RAW = InMemorySpanExporter()
NORMALIZED = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def global_provider() -> Iterator[None]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RAW))
    pipeline = PipelineSpanExporter([ConventionNormalizer()], NORMALIZED)
    provider.add_span_processor(SimpleSpanProcessor(pipeline))
    trace.set_tracer_provider(provider)
    yield
    provider.shutdown()


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAW.clear()
    NORMALIZED.clear()


def spans(exporter: InMemorySpanExporter, name: str, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name and s.kind is kind]


def assert_one_pair(client_name: str, server_name: str) -> tuple[ReadableSpan, ReadableSpan]:
    [client] = spans(RAW, client_name, SpanKind.CLIENT)
    [server] = spans(RAW, server_name, SpanKind.SERVER)
    assert client.instrumentation_scope.name == SDK_SCOPE
    assert server.instrumentation_scope.name == SDK_SCOPE
    assert server.context.trace_id == client.context.trace_id
    assert server.parent is not None
    assert server.parent.span_id == client.context.span_id
    return client, server


def legacy() -> Client:
    """The real client and server in one process over the SDK's in-memory streams: JSON-RPC as
    on a wire. (The default in-process mode, a ``DirectDispatcher`` pair, sends no JSON-RPC and makes
    no CLIENT spans: see test_in_process_direct_has_server_spans_only.)"""
    return Client(mcp_app.build(), mode="legacy")


def llmotel_wrappers() -> list[str]:
    """Every wrapt wrapper on a class or function of the loaded mcp modules."""
    found = []
    for name, module in list(sys.modules.items()):
        if not (name == "mcp" or name.startswith("mcp.")):
            continue
        for owner_name, owner in list(vars(module).items()):
            if isinstance(owner, wrapt.ObjectProxy):
                found.append(f"{name}.{owner_name}")
            elif isinstance(owner, type):
                found += [
                    f"{name}.{owner_name}.{attr}"
                    for attr, value in vars(owner).items()
                    if isinstance(value, wrapt.ObjectProxy)
                ]
    return found


def test_the_sdk_traces_itself() -> None:
    assert mcp_app.MAJOR == 2
    import llmotel.instrumentation.mcp as llmotel_mcp

    assert llmotel_mcp._sdk_traces_itself() is True


async def test_llmotel_patches_nothing(
    instrument: Callable[..., Any], span_exporter: InMemorySpanExporter
) -> None:
    import mcp.client.client
    import mcp.server.lowlevel.server
    import mcp.shared.jsonrpc_dispatcher  # noqa: F401  the modules 1.x's patches live in on 2.x

    instrumentor = instrument()
    assert instrumentor.is_instrumented_by_opentelemetry
    assert llmotel_wrappers() == []
    async with legacy() as client:
        result = await client.call_tool("add", {"a": 1, "b": 2})
    assert result.is_error is False
    assert span_exporter.get_finished_spans() == ()  # llmotel's provider: nothing from llmotel
    assert_one_pair("MCP send tools/call add", "tools/call add")


async def test_in_memory_one_span_per_side() -> None:
    async with legacy() as client:
        await client.call_tool("add", {"a": 1, "b": 2})
        await client.call_tool("fail", {"reason": "no"})
        await client.get_prompt("greet", {"name": "Ada"})
        await client.read_resource("note://a")
    finished = RAW.get_finished_spans()
    requests = [s for s in finished if "jsonrpc.request.id" in (s.attributes or {})]
    clients = sorted(s.name for s in requests if s.kind is SpanKind.CLIENT)
    servers = sorted(s.name for s in requests if s.kind is SpanKind.SERVER)
    assert len(requests) == len(clients) + len(servers)
    assert [n.removeprefix("MCP send ") for n in clients] == servers
    assert servers == [
        "initialize",
        "prompts/get greet",
        "resources/read",
        "tools/call add",
        "tools/call fail",
        "tools/list",
    ]
    # A notification has no response and no CLIENT span: the server's is a root.
    [notified] = [s for s in finished if s not in requests]
    assert notified.name == "notifications/initialized"
    assert notified.parent is None
    client, server = assert_one_pair("MCP send tools/call add", "tools/call add")
    assert client.attributes["jsonrpc.request.id"] == server.attributes["jsonrpc.request.id"]
    assert dict(client.attributes or {}).keys() == {"mcp.method.name", "jsonrpc.request.id"}
    assert server.attributes["gen_ai.operation.name"] == "execute_tool"
    assert server.attributes["gen_ai.tool.name"] == "add"
    _, failed = assert_one_pair("MCP send tools/call fail", "tools/call fail")
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["error.type"] == "tool_error"


async def test_in_process_direct_has_server_spans_only() -> None:
    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span("caller") as caller:
        async with Client(mcp_app.build()) as client:
            await client.call_tool("add", {"a": 1, "b": 2})
    finished = RAW.get_finished_spans()
    assert [s.name for s in finished if s.kind is SpanKind.CLIENT] == []
    [served] = spans(RAW, "tools/call add", SpanKind.SERVER)
    assert served.parent is not None
    assert served.parent.span_id == caller.get_span_context().span_id


async def test_normalized_client_spans_follow_the_mcp_conventions() -> None:
    async with legacy() as client:
        await client.call_tool("add", {"a": 1, "b": 2})
        await client.get_prompt("greet", {"name": "Ada"})
    finished = NORMALIZED.get_finished_spans()
    assert len(finished) == len(RAW.get_finished_spans())
    [tool] = [s for s in finished if s.name == "tools/call add" and s.kind is SpanKind.CLIENT]
    attributes = dict(tool.attributes or {})
    assert attributes.pop("jsonrpc.request.id").isdigit()
    assert attributes == {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
    }
    [prompt] = [s for s in finished if s.name == "prompts/get greet" and s.kind is SpanKind.CLIENT]
    assert prompt.attributes["gen_ai.prompt.name"] == "greet"
    assert not [s for s in finished if s.name.startswith("MCP send ")]
    # The server's spans already follow the conventions: they pass unchanged.
    [served] = [s for s in finished if s.name == "tools/call add" and s.kind is SpanKind.SERVER]
    [raw] = spans(RAW, "tools/call add", SpanKind.SERVER)
    assert dict(served.attributes or {}) == dict(raw.attributes or {})


async def test_streamable_http(http_url: str) -> None:
    async with Client(http_url) as client:
        result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.is_error is False
    assert_one_pair("MCP send tools/call add", "tools/call add")


async def test_stdio_one_trace_across_processes() -> None:
    with OtlpReceiver() as receiver:
        async with Client(mcp_app.server_params(receiver)) as client:
            result = await client.call_tool("add", {"a": 2, "b": 3})
            assert await anyio.to_thread.run_sync(
                lambda: receiver.wait_for(
                    lambda r: any(s.name == "tools/call add" for s in r.spans()), timeout=30
                )
            )
        [served] = [s for s in receiver.spans() if s.name == "tools/call add"]
    assert result.is_error is False
    [client] = spans(RAW, "MCP send tools/call add", SpanKind.CLIENT)
    assert served.kind == SERVER_KIND
    assert served.scope == SDK_SCOPE
    assert served.trace_id == format(client.context.trace_id, "032x")
    assert served.parent_span_id == format(client.context.span_id, "016x")


def _client_under_opentelemetry_instrument(**env: str) -> list[Any]:
    with OtlpReceiver() as receiver:
        command = mcp_app.instrumented_command("client")
        done = subprocess.run(
            command,
            env=mcp_app.instrumented_env(receiver, **env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        # The process has exited: the distro exported everything at shutdown.
        assert receiver.wait_for(lambda r: bool(r.spans()), timeout=30)
        return list(receiver.spans())


@pytest.mark.parametrize("normalize", [None, "add"], ids=["default", "add"])
def test_normalized_under_opentelemetry_instrument(normalize: str | None) -> None:
    """The distro, by default (``LLMOTEL_NORMALIZE`` off: it runs the mcp 2.x mapping alone, since
    llmotel-instrumentation-mcp is installed) and with ``LLMOTEL_NORMALIZE=add``: the SDK's CLIENT
    spans leave the process named and attributed as the MCP conventions say."""
    received = _client_under_opentelemetry_instrument(
        **({} if normalize is None else {"LLMOTEL_NORMALIZE": normalize})
    )
    client_kind = 3  # OTLP's SPAN_KIND_CLIENT
    [tool] = [s for s in received if s.name == "tools/call add" and s.kind == client_kind]
    assert tool.scope == SDK_SCOPE
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool.attributes["gen_ai.tool.name"] == "add"
    [prompt] = [s for s in received if s.name == "prompts/get greet" and s.kind == client_kind]
    assert prompt.attributes["gen_ai.prompt.name"] == "greet"
    assert not [s for s in received if s.name.startswith("MCP send ")]
    [served] = [s for s in received if s.name == "tools/call add" and s.kind == SERVER_KIND]
    assert served.parent_span_id == tool.span_id


def test_mcp_instrumentation_disabled_leaves_the_sdk_names() -> None:
    """With llmotel_mcp disabled and normalization off, the distro leaves mcp 2.x's spans as the
    SDK names them."""
    received = _client_under_opentelemetry_instrument(
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="llmotel_mcp"
    )
    assert [s for s in received if s.name == "MCP send tools/call add"]
    assert not [s for s in received if s.name == "tools/call add" and s.kind == 3]


def test_doctor_says_the_names_are_given() -> None:
    """``llmotel doctor`` with mcp 2.x installed and normalization off: the mcp mapping runs."""
    from llmotel.distro._doctor import diagnose

    assert diagnose({}, check_network=False).config["mcp_sdk_span_names"] is True
