"""The FastMCP server every test talks to: tools, a resource template, a prompt. Run as a script it
serves stdio (the subprocess the stdio tests start)."""

import importlib.metadata
import os
import pathlib
import sys
from typing import Any

import anyio
from mcp import StdioServerParameters
from mcp.types import SamplingMessage, TextContent

try:
    from mcp.server.fastmcp import Context, FastMCP
except ImportError:  # mcp 2.x: FastMCP is MCPServer
    from mcp.server.mcpserver import (  # type: ignore[import-not-found,no-redef]
        Context,
    )
    from mcp.server.mcpserver import (
        MCPServer as FastMCP,
    )

# The installed SDK's major version: the 1.x suite instruments it, the 2.x one (test_mcp2.py) checks
# that llmotel stands aside and normalizes the SDK's own spans.
MAJOR = int(importlib.metadata.version("mcp").split(".")[0])


def build() -> FastMCP:
    """A fresh server (an HTTP session manager runs once per server)."""
    app = FastMCP("llmotel-test")

    @app.tool()
    def add(a: int, b: int) -> int:
        """Adds two numbers."""
        return a + b

    @app.tool()
    def fail(reason: str) -> str:
        """Always raises: the result comes back with isError."""
        raise ValueError(reason)

    @app.tool()
    async def slow(seconds: float) -> str:
        """Answers after ``seconds``."""
        await anyio.sleep(seconds)
        return "done"

    @app.tool()
    async def ask(ctx: Context) -> str:
        """Asks the client to sample (a request from the server to the client)."""
        reply = await ctx.session.create_message(
            [SamplingMessage(role="user", content=TextContent(type="text", text="hi"))],
            max_tokens=5,
        )
        return str(getattr(reply.content, "text", ""))

    @app.resource("note://{name}")
    def note(name: str) -> str:
        """A note; the one named ``broken`` raises."""
        if name == "broken":
            raise RuntimeError("the note is unreadable")
        return f"note {name}"

    @app.prompt()
    def greet(name: str) -> str:
        """A greeting prompt."""
        return f"Hello {name}"

    return app


def server_params(receiver: Any, **env: str) -> StdioServerParameters:
    """This script as a stdio server under ``opentelemetry-instrument`` (the llmotel distro),
    exporting its spans over OTLP to ``receiver`` (an ``llmotel.testing.otlp.OtlpReceiver``)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    clean.update(
        {
            "OTEL_PYTHON_DISTRO": "llmotel",
            "OTEL_PYTHON_CONFIGURATOR": "llmotel",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            **env,
        }
    )
    instrument = pathlib.Path(sys.executable).parent / "opentelemetry-instrument"
    return StdioServerParameters(
        command=str(instrument), args=[sys.executable, str(pathlib.Path(__file__))], env=clean
    )


if __name__ == "__main__":
    build().run()
