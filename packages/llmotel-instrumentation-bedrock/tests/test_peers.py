"""Another Bedrock instrumentation installed too: LLMOTEL_INSTRUMENTATION_CONFLICT says which one
makes the span, whatever the order they instrument in; one call, one span.

The peer here is a real ``BaseInstrumentor`` that patches the methods of ``bedrock-runtime``
clients as botocore makes them, the way OpenLLMetry's and OpenInference's do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import wrapt
from botocore.client import ClientCreator
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel.instrumentation.bedrock as llmotel_bedrock
from llmotel.testing import peers

from .conftest import Instrument

MESSAGES: Any = [{"role": "user", "content": [{"text": "Say hello"}]}]
PEER_SCOPE = "peer.bedrock"


class PeerInstrumentor(peers.PeerInstrumentor):
    scope = PEER_SCOPE
    dependencies = ("botocore >= 1.0",)

    def patch(self, span: peers.SpanOf) -> None:
        def traced(method: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(method)
            def call(*args: Any, **kw: Any) -> Any:
                with span():
                    return method(*args, **kw)

            return call

        def create_client(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            client = wrapped(*args, **kw)
            if kw.get("service_name") == "bedrock-runtime":
                client.converse = traced(client.converse)
            return client

        wrapt.wrap_function_wrapper(ClientCreator, "create_client", create_client)

    def unpatch(self) -> None:
        unwrap(ClientCreator, "create_client")


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[PeerInstrumentor]:
    yield from peers.as_peer(monkeypatch, llmotel_bedrock, PeerInstrumentor())


def _scopes(new_client: Callable[[], Any], span_exporter: InMemorySpanExporter) -> list[str]:
    new_client().converse(modelId="amazon.nova-lite-v1:0", messages=MESSAGES)
    return peers.scopes(span_exporter)


@pytest.mark.parametrize("peer_first", [True, False])
def test_llmotel_wins_by_default(
    peer_first: bool,
    peer: PeerInstrumentor,
    instrument: Instrument,
    tracer_provider: TracerProvider,
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
) -> None:
    peers.instrument_both(peer, instrument, tracer_provider, peer_first)
    assert _scopes(new_client, span_exporter) == [llmotel_bedrock.SCOPE]


@pytest.mark.parametrize("peer_first", [True, False])
def test_peer_rule_leaves_it_to_the_peer(
    peer_first: bool,
    peer: PeerInstrumentor,
    instrument: Instrument,
    tracer_provider: TracerProvider,
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMOTEL_INSTRUMENTATION_CONFLICT", "peer")
    peers.instrument_both(peer, instrument, tracer_provider, peer_first)
    assert _scopes(new_client, span_exporter) == [PEER_SCOPE]


def test_a_client_the_peer_patched_still_makes_one_span(
    peer: PeerInstrumentor,
    instrument: Instrument,
    tracer_provider: TracerProvider,
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
) -> None:
    monkey = pytest.MonkeyPatch()
    monkey.setenv("LLMOTEL_INSTRUMENTATION_CONFLICT", "peer")
    peer.instrument(tracer_provider=tracer_provider)
    client = new_client()  # patched by the peer for good
    monkey.undo()
    peer.uninstrument()
    instrument()  # llmotel now; the old client keeps the peer's patch
    client.converse(modelId="amazon.nova-lite-v1:0", messages=MESSAGES)
    assert peers.scopes(span_exporter) == [PEER_SCOPE]
