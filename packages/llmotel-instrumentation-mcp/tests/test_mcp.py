"""The real client and the real FastMCP server in one process (the SDK's in-memory transport): one
CLIENT and one SERVER span per request, the server's the child of the client's through
``params._meta``, with the MCP conventions' attributes, and the duration metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
import mcp_app
import pytest
from mcp.shared.exceptions import McpError
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CreateMessageResult, TextContent
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmotel.instrumentation.mcp import MCPInstrumentor
from llmotel.testing import metric_points


def connect() -> Any:
    return create_connected_server_and_client_session(mcp_app.build()._mcp_server)


def pair(exporter: InMemorySpanExporter, name: str) -> tuple[ReadableSpan, ReadableSpan]:
    """The (client, server) spans named ``name``; exactly one of each."""
    spans = [s for s in exporter.get_finished_spans() if s.name == name]
    [client] = [s for s in spans if s.kind is SpanKind.CLIENT]
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    return client, server


def assert_linked(client: ReadableSpan, server: ReadableSpan) -> None:
    assert server.context.trace_id == client.context.trace_id
    assert server.parent is not None
    assert server.parent.span_id == client.context.span_id


async def test_tool_call(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async with connect() as session:
        result = await session.call_tool("add", {"a": 1, "b": 2})
    assert result.isError is False
    client, server = pair(span_exporter, "tools/call add")
    assert_linked(client, server)
    for span in (client, server):
        attributes = dict(span.attributes or {})
        assert attributes.pop("jsonrpc.request.id").isdigit()
        assert attributes.pop("mcp.protocol.version")
        assert attributes == {
            "mcp.method.name": "tools/call",
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "add",
        }
        assert span.status.status_code is StatusCode.UNSET
    assert client.attributes["jsonrpc.request.id"] == server.attributes["jsonrpc.request.id"]
    assert client.instrumentation_scope.name == "llmotel.instrumentation.mcp"


async def test_initialize_agrees_on_the_protocol_version(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async with connect() as session:
        await session.send_ping()
    client, server = pair(span_exporter, "initialize")
    assert_linked(client, server)
    assert client.attributes["jsonrpc.request.id"] == "0"
    version = client.attributes["mcp.protocol.version"]
    assert server.attributes["mcp.protocol.version"] == version
    ping_client, ping_server = pair(span_exporter, "ping")
    assert ping_client.attributes["mcp.protocol.version"] == version
    assert ping_server.attributes["mcp.protocol.version"] == version


@pytest.mark.parametrize(
    ("tool", "arguments", "text"),
    [("fail", {"reason": "no"}, "no"), ("missing", {}, "Unknown tool: missing")],
    ids=["tool-raises", "unknown-tool"],
)
async def test_tool_errors_are_tool_error(
    instrumented: MCPInstrumentor,
    span_exporter: InMemorySpanExporter,
    tool: str,
    arguments: dict[str, Any],
    text: str,
) -> None:
    async with connect() as session:
        result = await session.call_tool(tool, arguments)
    assert result.isError is True
    assert text in result.content[0].text  # type: ignore[union-attr]
    client, server = pair(span_exporter, f"tools/call {tool}")
    assert_linked(client, server)
    for span in (client, server):
        assert span.attributes["error.type"] == "tool_error"
        assert span.status.status_code is StatusCode.ERROR
        assert "rpc.response.status_code" not in span.attributes


async def test_resource_read(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async with connect() as session:
        result = await session.read_resource("note://a")  # type: ignore[arg-type]
    assert result.contents[0].text == "note a"  # type: ignore[union-attr]
    client, server = pair(span_exporter, "resources/read")  # the URI is never in the name
    assert_linked(client, server)
    assert client.attributes["mcp.resource.uri"] == "note://a"
    assert server.attributes["mcp.resource.uri"] == "note://a"
    assert "error.type" not in client.attributes


async def test_server_raising_is_the_json_rpc_error(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async with connect() as session:
        with pytest.raises(McpError) as raised:
            await session.read_resource("note://broken")  # type: ignore[arg-type]
    code = str(raised.value.error.code)
    client, server = pair(span_exporter, "resources/read")
    assert_linked(client, server)
    for span in (client, server):
        assert span.attributes["error.type"] == code
        assert span.attributes["rpc.response.status_code"] == code
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == raised.value.error.message


async def test_prompt_get(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async with connect() as session:
        result = await session.get_prompt("greet", {"name": "Ada"})
    assert result.messages[0].content.text == "Hello Ada"  # type: ignore[union-attr]
    client, server = pair(span_exporter, "prompts/get greet")
    assert_linked(client, server)
    assert client.attributes["gen_ai.prompt.name"] == "greet"
    assert server.attributes["gen_ai.prompt.name"] == "greet"
    assert "gen_ai.operation.name" not in client.attributes  # execute_tool is for tools only


async def test_list_methods(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async with connect() as session:
        tools = await session.list_tools()
        await session.list_resources()
        templates = await session.list_resource_templates()
        prompts = await session.list_prompts()
    assert {t.name for t in tools.tools} == {"add", "ask", "fail", "log", "slow"}
    assert templates.resourceTemplates[0].uriTemplate == "note://{name}"
    assert prompts.prompts[0].name == "greet"
    for method in ("tools/list", "resources/list", "resources/templates/list", "prompts/list"):
        client, server = pair(span_exporter, method)
        assert_linked(client, server)
        assert client.attributes["mcp.method.name"] == method
        assert "mcp.resource.uri" not in client.attributes


async def test_client_timeout(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async with connect() as session:
        with pytest.raises(McpError) as raised:
            await session.call_tool(
                "slow", {"seconds": 0.5}, read_timeout_seconds=timedelta(seconds=0.05)
            )
        await anyio.sleep(0.6)  # the server finishes the call
    [client] = [
        s
        for s in span_exporter.get_finished_spans()
        if s.kind is SpanKind.CLIENT and s.name == "tools/call slow"
    ]
    assert client.attributes["error.type"] == str(raised.value.error.code)
    assert client.status.status_code is StatusCode.ERROR


async def test_client_cancel(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    async with connect() as session:
        with anyio.move_on_after(0.05) as scope:
            await session.call_tool("slow", {"seconds": 0.5})
        assert scope.cancelled_caught
        await anyio.sleep(0.6)
    [client] = [
        s
        for s in span_exporter.get_finished_spans()
        if s.kind is SpanKind.CLIENT and s.name == "tools/call slow"
    ]
    assert client.attributes["error.type"] == "CancelledError"
    assert client.status.status_code is StatusCode.ERROR
    assert client.end_time is not None


async def test_duration_metrics(
    instrumented: MCPInstrumentor, metric_reader: InMemoryMetricReader
) -> None:
    async with connect() as session:
        await session.call_tool("add", {"a": 1, "b": 2})
        await session.call_tool("fail", {"reason": "x"})
    for name in ("mcp.client.operation.duration", "mcp.server.operation.duration"):
        points = {
            (attrs.get("gen_ai.tool.name"), attrs.get("error.type")): (attrs, point)
            for attrs, point in metric_points(metric_reader, name)
            if attrs.get("mcp.method.name") == "tools/call"
        }
        assert set(points) == {("add", None), ("fail", "tool_error")}
        attrs, point = points["add", None]
        assert point.count == 1
        assert attrs["gen_ai.operation.name"] == "execute_tool"


async def test_user_spans_nest_under_the_server_span(
    instrumented: MCPInstrumentor, tracer_provider: Any, span_exporter: InMemorySpanExporter
) -> None:
    server = mcp_app.build()
    tracer = tracer_provider.get_tracer("app")

    @server.tool()
    def traced() -> str:
        with tracer.start_as_current_span("inside"):
            return "ok"

    async with create_connected_server_and_client_session(server._mcp_server) as session:
        await session.call_tool("traced", {})
    [inside] = [s for s in span_exporter.get_finished_spans() if s.name == "inside"]
    _, served = pair(span_exporter, "tools/call traced")
    assert inside.parent is not None
    assert inside.parent.span_id == served.context.span_id


async def test_uninstrument_restores_the_sdk(
    instrument: Any, span_exporter: InMemorySpanExporter
) -> None:
    instrumentor = instrument()
    instrumentor.uninstrument()
    async with connect() as session:
        await session.call_tool("add", {"a": 1, "b": 2})
    assert span_exporter.get_finished_spans() == ()
    instrumentor.instrument()  # the fixture uninstruments it again at teardown


async def test_server_requests_to_the_client(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    # A tool that asks the client to sample: the server's CLIENT span nests under its tools/call
    # SERVER span, and the client serves it as a SERVER span in the same trace.
    server = mcp_app.build()

    async def sample(context: Any, params: Any) -> CreateMessageResult:
        text = TextContent(type="text", text="sampled")
        return CreateMessageResult(role="assistant", content=text, model="m")

    async with create_connected_server_and_client_session(
        server._mcp_server, sampling_callback=sample
    ) as session:
        result = await session.call_tool("ask", {})
    assert result.content[0].text == "sampled"  # type: ignore[union-attr]
    tool_client, tool_server = pair(span_exporter, "tools/call ask")
    asked, answered = pair(span_exporter, "sampling/createMessage")
    assert asked.parent is not None
    assert asked.parent.span_id == tool_server.context.span_id
    assert_linked(asked, answered)
    assert answered.context.trace_id == tool_client.context.trace_id
    assert (
        answered.attributes["mcp.protocol.version"]
        == tool_client.attributes["mcp.protocol.version"]
    )


async def test_notifications_are_a_client_and_a_server_span(
    instrumented: MCPInstrumentor,
    span_exporter: InMemorySpanExporter,
    metric_reader: InMemoryMetricReader,
) -> None:
    # The client's notifications/initialized (sent once initialize has answered): a CLIENT span,
    # and the server's handling of it a SERVER span continuing its trace through params._meta.
    async with connect() as session:
        await session.send_ping()
    client, server = pair(span_exporter, "notifications/initialized")
    assert_linked(client, server)
    version = pair(span_exporter, "initialize")[0].attributes["mcp.protocol.version"]
    for span in (client, server):
        assert dict(span.attributes or {}) == {
            "mcp.method.name": "notifications/initialized",
            "mcp.protocol.version": version,
        }
        assert span.status.status_code is StatusCode.UNSET
    for name in ("mcp.client.operation.duration", "mcp.server.operation.duration"):
        [(attrs, point)] = [
            (attrs, point)
            for attrs, point in metric_points(metric_reader, name)
            if attrs.get("mcp.method.name") == "notifications/initialized"
        ]
        assert point.count == 1
        assert attrs == {
            "mcp.method.name": "notifications/initialized",
            "mcp.protocol.version": version,
        }


async def test_server_notifications_nest_under_the_request(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    # A tool that logs to the client: the server sends notifications/message inside its
    # tools/call SERVER span, and the client's handling of it (its logging callback) is a SERVER
    # span of the same trace.
    received: list[Any] = []

    async def logged(params: Any) -> None:
        received.append(params.data)

    async with create_connected_server_and_client_session(
        mcp_app.build()._mcp_server, logging_callback=logged
    ) as session:
        result = await session.call_tool("log", {"text": "half way"})
    assert result.content[0].text == "logged"  # type: ignore[union-attr]
    assert received == ["half way"]
    tool_client, tool_server = pair(span_exporter, "tools/call log")
    sent, handled = pair(span_exporter, "notifications/message")
    assert sent.parent is not None
    assert sent.parent.span_id == tool_server.context.span_id
    assert_linked(sent, handled)
    assert handled.context.trace_id == tool_client.context.trace_id
    assert "jsonrpc.request.id" not in sent.attributes
    assert sent.attributes["mcp.protocol.version"] == tool_server.attributes["mcp.protocol.version"]
    assert (
        handled.attributes["mcp.protocol.version"] == tool_client.attributes["mcp.protocol.version"]
    )
    assert handled.end_time is not None


async def test_concurrent_requests_on_one_session(
    instrument: Callable[..., MCPInstrumentor], span_exporter: InMemorySpanExporter
) -> None:
    # 30 requests in flight at once on one session (the server handles each in a task of its
    # own), a third of them logging to the client, a third failing: each server span is the child
    # of its own client span and has its own outcome; each log message nests under its own call.
    instrument(capture="SPAN_ONLY")
    logged: list[Any] = []

    async def on_log(params: Any) -> None:
        logged.append(params.data)

    async def one(session: Any, i: int) -> None:
        if i % 3 == 0:
            await session.call_tool("log", {"text": f"call {i}"})
        elif i % 3 == 1:
            await session.call_tool("fail", {"reason": f"call {i}"})
        else:
            await session.call_tool("slow", {"seconds": 0.01 * (i % 5)})

    async with (
        create_connected_server_and_client_session(
            mcp_app.build()._mcp_server, logging_callback=on_log
        ) as session,
        anyio.create_task_group() as tg,
    ):
        for i in range(30):
            tg.start_soon(one, session, i)
    assert sorted(logged) == sorted(f"call {i}" for i in range(0, 30, 3))
    spans = span_exporter.get_finished_spans()
    calls = [s for s in spans if s.attributes.get("mcp.method.name") == "tools/call"]
    clients = {s.attributes["jsonrpc.request.id"]: s for s in calls if s.kind is SpanKind.CLIENT}
    servers = {s.attributes["jsonrpc.request.id"]: s for s in calls if s.kind is SpanKind.SERVER}
    assert len(clients) == len(servers) == 30
    for request_id, server in servers.items():
        client = clients[request_id]
        assert_linked(client, server)
        assert server.name == client.name
        arguments = json.loads(server.attributes["gen_ai.tool.call.arguments"])
        assert arguments == json.loads(client.attributes["gen_ai.tool.call.arguments"])
        failed = server.name == "tools/call fail"
        assert (server.attributes.get("error.type") == "tool_error") is failed
        result = json.loads(server.attributes["gen_ai.tool.call.result"])
        if failed:
            assert arguments["reason"] in result["content"][0]["text"]
    by_id = {s.context.span_id: s for s in spans}
    sent = [s for s in spans if s.name == "notifications/message" and s.kind is SpanKind.CLIENT]
    assert len(sent) == 10
    for notification in sent:
        assert notification.parent is not None
        parent = by_id[notification.parent.span_id]  # the tools/call log SERVER span it is in
        assert parent.name == "tools/call log"
        text = json.loads(parent.attributes["gen_ai.tool.call.arguments"])["text"]
        [handled] = [
            s
            for s in spans
            if s.kind is SpanKind.SERVER
            and s.parent is not None
            and s.parent.span_id == notification.context.span_id
        ]
        assert handled.name == "notifications/message"
        assert text in logged


@pytest.mark.parametrize("capture", ["SPAN_ONLY", "NO_CONTENT"])
async def test_tool_content_is_opt_in(
    instrument: Callable[..., MCPInstrumentor],
    span_exporter: InMemorySpanExporter,
    capture: str,
) -> None:
    instrument(capture=capture)
    async with connect() as session:
        result = await session.call_tool("add", {"a": 1, "b": 2})
    for span in pair(span_exporter, "tools/call add"):
        if capture == "NO_CONTENT":
            assert "gen_ai.tool.call.arguments" not in span.attributes
            assert "gen_ai.tool.call.result" not in span.attributes
        else:
            assert json.loads(span.attributes["gen_ai.tool.call.arguments"]) == {"a": 1, "b": 2}
            sent = json.loads(span.attributes["gen_ai.tool.call.result"])
            assert sent["content"] == [{"type": "text", "text": "3"}]
    assert result.isError is False
