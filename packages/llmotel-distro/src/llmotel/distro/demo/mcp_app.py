"""An order desk as an MCP server, asked by an assistant over stdio: the assistant lists the desk's tools and calls
one; the tool asks OpenAI to word its answer. The server is a second process (its own ``opentelemetry-instrument``),
and its spans continue the assistant's trace (the W3C context travels in each request's ``params._meta``): one trace
across both processes, the tool's LLM call under the server's ``tools/call`` span.

``python -m llmotel.distro.demo.mcp_app`` runs the assistant; with ``serve`` it runs the desk (what the assistant
starts).
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from opentelemetry import trace

from llmotel.sdk import using_session, using_user

MODULE = "llmotel.distro.demo.mcp_app"


def serve() -> None:
    from mcp.server.fastmcp import FastMCP
    from openai import OpenAI

    desk = FastMCP("order-desk", log_level="WARNING")
    client = OpenAI(max_retries=0)

    @desk.tool()
    def order_status(order_id: str) -> str:
        """The status of an order, worded for the customer."""
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Word the order status for the customer."},
                {"role": "user", "content": f"Order {order_id}: refund issued on 2026-12-01."},
            ],
        )
        return reply.choices[0].message.content or ""

    desk.run()  # stdio, until the assistant closes the pipe


async def ask() -> None:
    instrument = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    # The desk exports every span it makes (tail sampling decides per process, and the desk's part of a
    # trace carries none of the session attributes the assistant's policies keep). Every llmotel
    # instrumentation is loaded; each patches its SDK only when the desk imports it.
    env = {
        **os.environ,
        "OTEL_SERVICE_NAME": "demo-mcp-desk",
        "LLMOTEL_SAMPLING_TAIL": "false",
    }
    desk = StdioServerParameters(
        command=instrument, args=[sys.executable, "-m", MODULE, "serve"], env=env
    )
    tracer = trace.get_tracer("demo.assistant")
    with (
        using_session("session-mcp-1"),
        using_user("user-1001"),
        tracer.start_as_current_span("answer order question"),
    ):
        async with stdio_client(desk) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool("order_status", {"order_id": "A-1042"})
    text = getattr(result.content[0], "text", "")
    print(f"mcp app: {len(tools.tools)} tool(s) listed; order_status said {len(text)} characters")


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        asyncio.run(ask())
