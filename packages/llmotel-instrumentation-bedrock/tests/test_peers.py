"""Another Bedrock instrumentation installed too: LLMOTEL_INSTRUMENTATION_CONFLICT says which one
makes the span, whatever the order they instrument in; one call, one span.

The peer here is a real ``BaseInstrumentor`` that patches the methods of ``bedrock-runtime``
clients as botocore makes them, the way OpenLLMetry's and OpenInference's do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator
from typing import Any

import pytest
import wrapt
from botocore.client import ClientCreator
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import llmotel.instrumentation.bedrock as llmotel_bedrock
from llmotel.semconv import inference

from .conftest import Instrument

MESSAGES: Any = [{"role": "user", "content": [{"text": "Say hello"}]}]
PEER_SCOPE = "peer.bedrock"


class PeerInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    def instrumentation_dependencies(self) -> Collection[str]:
        return ("botocore >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(PEER_SCOPE, tracer_provider=kwargs.get("tracer_provider"))

        def traced(method: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(method)
            def call(*args: Any, **kw: Any) -> Any:
                with tracer.start_as_current_span(
                    "chat", kind=SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat"}
                ):
                    return method(*args, **kw)

            return call

        def create_client(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            client = wrapped(*args, **kw)
            if kw.get("service_name") == "bedrock-runtime":
                client.converse = traced(client.converse)
            return client

        wrapt.wrap_function_wrapper(ClientCreator, "create_client", create_client)

    def _uninstrument(self, **kwargs: Any) -> None:
        unwrap(ClientCreator, "create_client")


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[PeerInstrumentor]:
    monkeypatch.setattr(llmotel_bedrock, "PEERS", ((__name__, "PeerInstrumentor"),))
    monkeypatch.setattr(inference, "_settled", set())  # the decision is logged once per process
    instance = PeerInstrumentor()
    yield instance
    vars(instance).pop("instrument", None)
    instance.uninstrument()


def _scopes(new_client: Callable[[], Any], span_exporter: InMemorySpanExporter) -> list[str]:
    new_client().converse(modelId="amazon.nova-lite-v1:0", messages=MESSAGES)
    return [s.instrumentation_scope.name for s in span_exporter.get_finished_spans()]  # type: ignore[union-attr]


@pytest.mark.parametrize("peer_first", [True, False])
def test_llmotel_wins_by_default(
    peer_first: bool,
    peer: PeerInstrumentor,
    instrument: Instrument,
    tracer_provider: TracerProvider,
    new_client: Callable[[], Any],
    span_exporter: InMemorySpanExporter,
) -> None:
    if peer_first:
        peer.instrument(tracer_provider=tracer_provider)
    instrument()
    if not peer_first:
        peer.instrument(tracer_provider=tracer_provider)
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
    if peer_first:
        peer.instrument(tracer_provider=tracer_provider)
    instrument()
    if not peer_first:
        peer.instrument(tracer_provider=tracer_provider)
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
    assert [s.instrumentation_scope.name for s in span_exporter.get_finished_spans()] == [  # type: ignore[union-attr]
        PEER_SCOPE
    ]
