"""The FastMCP server every test talks to: tools, a resource template, a prompt. Run as a script it
serves stdio (the subprocess the stdio tests start)."""

import anyio
from mcp.server.fastmcp import Context, FastMCP
from mcp.types import SamplingMessage, TextContent


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


if __name__ == "__main__":
    build().run()
