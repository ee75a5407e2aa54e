"""Fixtures: the instrumentor wired to the in-memory providers, and the real SDK's sessions to the
test server (in memory, over stdio to a subprocess, over streamable HTTP to uvicorn)."""

from __future__ import annotations

import pathlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from llmotel.instrumentation.mcp import MCPInstrumentor

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE))

import mcp_app  # noqa: E402

# Each session runs the modules of the installed mcp major: 2.x makes its own spans, the rest of the
# suite tests llmotel's spans on 1.x.
collect_ignore = (
    ["test_mcp2.py"]
    if mcp_app.MAJOR < 2
    else [p.name for p in HERE.glob("test_*.py") if p.name != "test_mcp2.py"]
)


@pytest.fixture
def instrumentor() -> MCPInstrumentor:
    """What llmotel-testing's ``instrument`` / ``instrumented`` fixtures instrument."""
    return MCPInstrumentor()


def _serve(app: Any) -> Iterator[int]:
    """Serve the ASGI ``app`` with uvicorn on a free loopback port, in a thread of this process
    (instrumented with the rest of it); yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield port
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def http_url() -> Iterator[str]:
    """The test server's streamable HTTP endpoint."""
    for port in _serve(mcp_app.build().streamable_http_app()):
        yield f"http://127.0.0.1:{port}/mcp"


@pytest.fixture
def sse_url() -> Iterator[str]:
    """The test server's HTTP+SSE endpoint (the older HTTP transport)."""
    for port in _serve(mcp_app.build().sse_app()):
        yield f"http://127.0.0.1:{port}/sse"
