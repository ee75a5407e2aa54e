"""Two processes or a real socket: the client here, the server in a subprocess over stdio (run under
``opentelemetry-instrument``, exporting OTLP to a receiver) or in uvicorn over streamable HTTP. The
server's span continues the client's trace (W3C trace context in ``params._meta``)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client import sse, stdio, streamable_http
from mcp.shared.session import RequestResponder
from mcp_app import server_params
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from test_mcp import assert_linked, pair

from llmotel.instrumentation.mcp import MCPInstrumentor
from llmotel.testing import check_patched_on_import
from llmotel.testing.otlp import OtlpReceiver


def http_client(url: str) -> Any:
    """The transport as the app looks it up (after instrument()): ``streamable_http_client`` in
    newer 1.x, ``streamablehttp_client`` (deprecated there) before."""
    new = getattr(streamable_http, "streamable_http_client", None)
    return (new or streamable_http.streamablehttp_client)(url)


SERVER_KIND = 2  # OTLP's SPAN_KIND_SERVER


async def test_stdio_one_trace_across_processes(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    with OtlpReceiver() as receiver:
        async with (
            stdio.stdio_client(server_params(receiver)) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool("add", {"a": 2, "b": 3})
            # Before the client closes the pipe: mcp < 1.1x stops the server with SIGTERM, which
            # gives its span processor no chance to flush at exit.
            assert await anyio.to_thread.run_sync(
                lambda: receiver.wait_for(
                    lambda r: any(s.name == "tools/call add" for s in r.spans()), timeout=30
                )
            )
        assert result.content[0].text == "5"  # type: ignore[union-attr]
        [served] = [s for s in receiver.spans() if s.name == "tools/call add"]
        [initialized] = [s for s in receiver.spans() if s.name == "notifications/initialized"]
    [notified] = [
        s for s in span_exporter.get_finished_spans() if s.name == "notifications/initialized"
    ]
    assert notified.kind is SpanKind.CLIENT
    assert initialized.kind == SERVER_KIND
    assert initialized.parent_span_id == format(notified.context.span_id, "016x")
    assert initialized.attributes["network.transport"] == "pipe"
    [client] = [
        s
        for s in span_exporter.get_finished_spans()
        if s.name == "tools/call add" and s.kind is SpanKind.CLIENT
    ]
    assert served.kind == SERVER_KIND
    assert served.scope == "llmotel.instrumentation.mcp"
    assert served.trace_id == format(client.context.trace_id, "032x")
    assert served.parent_span_id == format(client.context.span_id, "016x")
    assert client.attributes["network.transport"] == "pipe"
    assert served.attributes["network.transport"] == "pipe"
    assert served.attributes["gen_ai.tool.name"] == "add"
    assert served.attributes["jsonrpc.request.id"] == client.attributes["jsonrpc.request.id"]


async def test_stdio_server_disabled_by_its_own_name(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter
) -> None:
    with OtlpReceiver() as receiver:
        params = server_params(receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="llmotel_mcp")
        async with (
            stdio.stdio_client(params) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool("add", {"a": 2, "b": 3})
            # The server's processor would have exported its spans by now (50 ms schedule).
            assert not await anyio.to_thread.run_sync(
                lambda: receiver.wait_for(lambda r: bool(r.spans()), timeout=1)
            )
        assert result.isError is False
        assert any(s.name == "tools/call add" for s in span_exporter.get_finished_spans())


async def test_streamable_http(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter, http_url: str
) -> None:
    async with (
        http_client(http_url) as (read, write, session_id),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("add", {"a": 2, "b": 3})
        sid = session_id()
    assert result.content[0].text == "5"  # type: ignore[union-attr]
    assert sid
    client, server = pair(span_exporter, "tools/call add")
    assert_linked(client, server)
    port = int(http_url.rsplit(":", 1)[1].split("/")[0])
    assert client.attributes["network.transport"] == "tcp"
    assert client.attributes["network.protocol.name"] == "http"
    assert client.attributes["server.address"] == "127.0.0.1"
    assert client.attributes["server.port"] == port
    assert client.attributes["mcp.session.id"] == sid
    assert server.attributes["network.transport"] == "tcp"
    assert server.attributes["network.protocol.name"] == "http"
    assert server.attributes["mcp.session.id"] == sid
    # The HTTP request reaches the server's handlers from mcp 1.1x on (RequestResponder.message_metadata).
    hands_request = "message_metadata" in inspect.signature(RequestResponder.__init__).parameters
    assert server.attributes.get("client.address") == ("127.0.0.1" if hands_request else None)


async def test_http_with_sse(
    instrumented: MCPInstrumentor, span_exporter: InMemorySpanExporter, sse_url: str
) -> None:
    async with sse.sse_client(sse_url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.call_tool("add", {"a": 2, "b": 3})
    client, server = pair(span_exporter, "tools/call add")
    assert_linked(client, server)
    assert client.attributes["network.transport"] == "tcp"
    assert client.attributes["server.port"] == int(sse_url.rsplit(":", 1)[1].split("/")[0])
    assert server.attributes["network.transport"] == "tcp"


def test_patched_when_the_application_imports_mcp() -> None:
    # Installed but never imported, mcp costs no start-up time under opentelemetry-instrument.
    check_patched_on_import(
        "llmotel.instrumentation.mcp:MCPInstrumentor",
        "mcp",
        "mcp.shared.session:BaseSession.send_request",
    )


_REEXPORTS = """
import importlib, wrapt
from llmotel.instrumentation.mcp import MCPInstrumentor, _TRANSPORTS
instrumentor = MCPInstrumentor()
instrumentor.instrument()
import mcp
from mcp.client import session_group, sse, stdio, streamable_http
from mcp.server import stdio as server_stdio
from mcp.server.fastmcp import server as fastmcp
pairs = [
    (mcp.stdio_client, stdio.stdio_client),
    (mcp.stdio_server, server_stdio.stdio_server),
    (fastmcp.stdio_server, server_stdio.stdio_server),
    (session_group.sse_client, sse.sse_client),
]
# The streamable HTTP client's name in this release (renamed in newer 1.x; see http_client).
http = "streamable_http_client" if hasattr(session_group, "streamable_http_client") else "streamablehttp_client"
pairs.append((getattr(session_group, http), getattr(streamable_http, http)))
for reexported, defined in pairs:
    assert reexported is defined, (reexported, defined)
    assert isinstance(defined, wrapt.FunctionWrapper), defined
    assert not isinstance(defined.__wrapped__, wrapt.FunctionWrapper), "wrapped twice"
instrumentor.uninstrument()
for module_name, path, _ in _TRANSPORTS:
    owner = importlib.import_module(module_name)
    for part in path.split("."):
        owner = getattr(owner, part, None)
    assert not isinstance(owner, wrapt.FunctionWrapper), (module_name, path)
print("ok")
"""


def test_reexported_transports_are_wrapped_once() -> None:
    # mcp's __init__ and FastMCP's server module bind the transport functions of the modules
    # that define them, which the post-import hooks patch first: one wrapper, removed everywhere.
    done = subprocess.run(
        [sys.executable, "-c", _REEXPORTS], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok"]
