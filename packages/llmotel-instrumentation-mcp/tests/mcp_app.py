"""The FastMCP server every test talks to: tools, a resource template, a prompt. Run as a script it
serves stdio (the subprocess the stdio tests start); ``mcp_app.py client`` instead runs a client
calling it in the same process (mcp 2.x, the ``opentelemetry-instrument`` normalization test)."""

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

    @app.tool()
    async def log(text: str, ctx: Context) -> str:
        """Sends ``text`` to the client as a log message (a notification from the server)."""
        await ctx.info(text)
        return "logged"

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


def instrumented_env(receiver: Any, **env: str) -> dict[str, str]:
    """The environment of a process under ``opentelemetry-instrument`` (the llmotel distro),
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
    return clean


def instrumented_command(*args: str) -> list[str]:
    """This script with ``args`` under ``opentelemetry-instrument``."""
    instrument = pathlib.Path(sys.executable).parent / "opentelemetry-instrument"
    return [str(instrument), sys.executable, str(pathlib.Path(__file__)), *args]


def server_params(receiver: Any, **env: str) -> StdioServerParameters:
    """This script as a stdio server under ``opentelemetry-instrument``, exporting to ``receiver``."""
    command, *args = instrumented_command()
    return StdioServerParameters(command=command, args=args, env=instrumented_env(receiver, **env))


async def _client_calls() -> None:
    """mcp 2.x: a tool call and a prompt from a client to this server in the same process, over
    the SDK's in-memory JSON-RPC streams (CLIENT and SERVER spans)."""
    from mcp import Client  # type: ignore[attr-defined]

    async with Client(build(), mode="legacy") as client:
        await client.call_tool("add", {"a": 1, "b": 2})
        await client.get_prompt("greet", {"name": "Ada"})


if __name__ == "__main__":
    if sys.argv[1:] == ["client"]:
        anyio.run(_client_calls)
    else:
        build().run()
