"""Telemetry that fails never reaches the session: a tracer that raises on every span, or a
request the readers cannot make sense of, and the caller gets what it gets uninstrumented."""

from __future__ import annotations

import logging
from typing import Any

import mcp.types as types
import pytest
from opentelemetry import context
from opentelemetry.sdk.trace import TracerProvider
from test_differential import run_script
from test_mcp import connect

from llmotel.instrumentation.mcp import MCPInstrumentor


class _Broken(TracerProvider):
    """A provider whose tracer fails to start any span."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        tracer = super().get_tracer(*args, **kwargs)

        def start_span(*a: Any, **k: Any) -> Any:
            raise RuntimeError("exporter on fire")

        tracer.start_span = start_span  # type: ignore[method-assign]
        return tracer


async def test_a_failing_tracer_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    plain = await run_script()
    instrumentor = MCPInstrumentor()
    instrumentor.instrument(tracer_provider=_Broken())
    try:
        with caplog.at_level(logging.WARNING, logger="llmotel.instrumentation.mcp"):
            assert await run_script() == plain
    finally:
        instrumentor.uninstrument()
    failed = [r for r in caplog.records if "MCP telemetry failed" in r.getMessage()]
    assert {r.getMessage().split(";")[0] for r in failed} == {
        "llmotel: MCP telemetry failed in send",
        "llmotel: MCP telemetry failed in serve",
    }


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the SDK's, on both runs
async def test_a_request_of_the_callers_own(instrumented: MCPInstrumentor) -> None:
    # send_request with a request model the readers do not know (its method is not a string).
    class Odd(types.Request[None, str]):  # type: ignore[type-var]
        method: str = 17  # type: ignore[assignment]

    async def outcome() -> tuple[Any, ...]:
        async with connect() as session:
            try:
                await session.send_request(Odd.model_construct(), types.EmptyResult)  # type: ignore[arg-type]
            except Exception as exc:
                return type(exc), str(exc)
        return ("ok",)

    seen = await outcome()
    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        assert await outcome() == seen
    finally:
        context.detach(token)
