"""The caller sees the same: one script of requests run uninstrumented and instrumented gives
identical results and errors, and the instrumented run makes exactly one CLIENT and one SERVER span
per request and per notification (the client's ``notifications/initialized``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import mcp_app
from mcp import ClientSession
from mcp.shared.memory import create_connected_server_and_client_session
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from llmotel.instrumentation.mcp import MCPInstrumentor

Step = Callable[[ClientSession], Awaitable[Any]]
SCRIPT: list[tuple[str, Step]] = [
    ("tools/call add", lambda s: s.call_tool("add", {"a": 1, "b": 2})),
    ("tools/call fail", lambda s: s.call_tool("fail", {"reason": "no"})),
    ("tools/call missing", lambda s: s.call_tool("missing", {})),
    ("tools/call add", lambda s: s.call_tool("add", {"a": "x", "b": 2})),  # invalid arguments
    ("resources/read", lambda s: s.read_resource("note://a")),  # type: ignore[arg-type]
    ("resources/read", lambda s: s.read_resource("note://broken")),  # type: ignore[arg-type]
    ("resources/read", lambda s: s.read_resource("other://x")),  # type: ignore[arg-type]
    ("prompts/get greet", lambda s: s.get_prompt("greet", {"name": "Ada"})),
    ("prompts/get nope", lambda s: s.get_prompt("nope", {})),
    ("tools/list", lambda s: s.list_tools()),
    ("resources/list", lambda s: s.list_resources()),
    ("prompts/list", lambda s: s.list_prompts()),
    ("ping", lambda s: s.send_ping()),
]


async def run_script() -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    async with create_connected_server_and_client_session(mcp_app.build()._mcp_server) as session:
        for _, step in SCRIPT:
            try:
                result = await step(session)
            except Exception as exc:
                seen.append(("error", type(exc), str(exc), getattr(exc, "error", None)))
            else:
                seen.append(("ok", type(result), result.model_dump()))
    return seen


async def test_same_results_one_span_each(
    instrument: Callable[..., MCPInstrumentor], span_exporter: InMemorySpanExporter
) -> None:
    plain = await run_script()
    assert span_exporter.get_finished_spans() == ()
    instrument()
    assert await run_script() == plain
    spans = span_exporter.get_finished_spans()
    # mcp >= 1.2x lists the tools once before its first tools/call (output-schema validation).
    listed = [s for s in spans if s.name == "tools/list" and s.kind is SpanKind.CLIENT]
    expected = ["initialize", "notifications/initialized", *(name for name, _ in SCRIPT)]
    extra = ["tools/list"] * (len(listed) - 1)
    for kind in (SpanKind.CLIENT, SpanKind.SERVER):
        names = sorted(s.name for s in spans if s.kind is kind)
        assert names == sorted(expected + extra)
    assert all(s.end_time is not None for s in spans)
