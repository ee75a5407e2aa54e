"""One request, one span per side, whoever else traces MCP: another instrumentation of the SDK
(OpenLLMetry's, OpenInference's: ``LLMOTEL_INSTRUMENTATION_CONFLICT`` picks) or the SDK itself
(mcp 2.x's own spans: llmotel stands aside)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

import mcp.shared.session
import pytest
import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from test_mcp import connect

import llmotel.instrumentation.mcp as llmotel_mcp
from llmotel.semconv import inference

PEER_SCOPE = "peer.mcp"


class PeerInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """A real BaseInstrumentor that wraps ``BaseSession.send_request``, as OpenLLMetry's does."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("mcp >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(PEER_SCOPE, tracer_provider=kwargs.get("tracer_provider"))

        async def wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            with tracer.start_as_current_span("peer", kind=SpanKind.CLIENT):
                return await wrapped(*args, **kw)

        wrapt.wrap_function_wrapper("mcp.shared.session", "BaseSession.send_request", wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        unwrap(mcp.shared.session.BaseSession, "send_request")


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[PeerInstrumentor]:
    monkeypatch.setattr(llmotel_mcp, "PEERS", ((__name__, "PeerInstrumentor"),))
    monkeypatch.setattr(inference, "_settled", set())  # the decision is logged once per process
    peer = PeerInstrumentor()
    yield peer
    if peer.is_instrumented_by_opentelemetry:
        peer.uninstrument()


def scopes(exporter: InMemorySpanExporter) -> set[str]:
    return {s.instrumentation_scope.name for s in exporter.get_finished_spans()}


@pytest.mark.parametrize("peer_first", [False, True])
async def test_llmotel_by_default(
    instrument: Callable[..., Any],
    peer: PeerInstrumentor,
    tracer_provider: Any,
    span_exporter: InMemorySpanExporter,
    peer_first: bool,
) -> None:
    if peer_first:
        peer.instrument(tracer_provider=tracer_provider)
    instrument()
    peer.instrument(tracer_provider=tracer_provider)  # switched off: does nothing
    async with connect() as session:
        await session.call_tool("add", {"a": 1, "b": 2})
    assert scopes(span_exporter) == {"llmotel.instrumentation.mcp"}


async def test_peer_when_asked(
    instrument: Callable[..., Any],
    peer: PeerInstrumentor,
    tracer_provider: Any,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMOTEL_INSTRUMENTATION_CONFLICT", "peer")
    instrument()
    peer.instrument(tracer_provider=tracer_provider)
    async with connect() as session:
        await session.call_tool("add", {"a": 1, "b": 2})
    assert scopes(span_exporter) == {PEER_SCOPE}


async def test_an_sdk_that_traces_itself_is_left_alone(
    instrument: Callable[..., Any],
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # mcp 2.x: its mcp.shared._otel spans (and _meta propagation) are the ones; nothing is patched.
    monkeypatch.setattr(llmotel_mcp, "_sdk_traces_itself", lambda: True)
    instrument()
    assert not isinstance(
        vars(mcp.shared.session.BaseSession)["send_request"], wrapt.FunctionWrapper
    )
    async with connect() as session:
        await session.call_tool("add", {"a": 1, "b": 2})
    assert span_exporter.get_finished_spans() == ()


def test_the_sdk_in_the_tests_has_no_spans_of_its_own() -> None:
    # The rest of this suite instruments mcp 1.x: this is what makes it do so.
    assert llmotel_mcp._sdk_traces_itself() is False
