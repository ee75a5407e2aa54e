"""Another instrumentation of litellm installed too (OpenLLMetry's, OpenInference's):
LLMOTEL_INSTRUMENTATION_CONFLICT says which one makes the span; one call, one span.

The peer here is a real ``BaseInstrumentor`` that wraps ``litellm.completion`` with wrapt and makes
a GenAI CLIENT span, as both peers do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import litellm
import pytest
import wrapt
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel.instrumentation.litellm as llmotel_litellm
from llmotel.testing import StubServer, peers, text_reply

from .conftest import OPENAI_MODEL, Instrument

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
PEER_SCOPE = "peer.litellm"
Route = Callable[[str], dict[str, Any]]


class PeerInstrumentor(peers.PeerInstrumentor):
    scope = PEER_SCOPE
    dependencies = ("litellm",)

    def patch(self, span: peers.SpanOf) -> None:
        def wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            with span():
                return wrapped(*args, **kw)

        self._original = vars(litellm)["completion"]
        wrapt.wrap_function_wrapper(litellm, "completion", wrapper)

    def unpatch(self) -> None:
        litellm.completion = self._original


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[PeerInstrumentor]:
    yield from peers.as_peer(monkeypatch, llmotel_litellm, PeerInstrumentor())


def _scopes(route: Route, stub: StubServer, span_exporter: InMemorySpanExporter) -> list[str]:
    stub.enqueue(text_reply("Hello"))
    litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
    return peers.scopes(span_exporter)


@pytest.mark.parametrize("peer_first", [True, False])
def test_llmotel_wins_by_default(
    peer_first: bool,
    peer: PeerInstrumentor,
    instrument: Instrument,
    tracer_provider: TracerProvider,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    peers.instrument_both(peer, instrument, tracer_provider, peer_first)
    assert _scopes(route, llm_stub, span_exporter) == ["llmotel.instrumentation.litellm"]


def test_peer_wins_when_asked(
    peer: PeerInstrumentor,
    instrument: Instrument,
    tracer_provider: TracerProvider,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMOTEL_INSTRUMENTATION_CONFLICT", "peer")
    instrument()
    peer.instrument(tracer_provider=tracer_provider)
    assert _scopes(route, llm_stub, span_exporter) == [PEER_SCOPE]
