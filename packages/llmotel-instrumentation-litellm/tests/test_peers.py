"""Another instrumentation of litellm installed too (OpenLLMetry's, OpenInference's):
LLMOTEL_INSTRUMENTATION_CONFLICT says which one makes the span; one call, one span.

The peer here is a real ``BaseInstrumentor`` that wraps ``litellm.completion`` with wrapt and makes
a GenAI CLIENT span, as both peers do.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any

import litellm
import pytest
import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import llmotel.instrumentation.litellm as llmotel_litellm
from llmotel.semconv import inference
from llmotel.testing import StubServer, text_reply

from .conftest import OPENAI_MODEL, Instrument

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
PEER_SCOPE = "peer.litellm"
Route = Callable[[str], dict[str, Any]]


class PeerInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    def instrumentation_dependencies(self) -> Collection[str]:
        return ("litellm",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(PEER_SCOPE, tracer_provider=kwargs.get("tracer_provider"))

        def wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            with tracer.start_as_current_span(
                "chat", kind=SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat"}
            ):
                return wrapped(*args, **kw)

        self._original = vars(litellm)["completion"]
        wrapt.wrap_function_wrapper(litellm, "completion", wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        litellm.completion = self._original


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[PeerInstrumentor]:
    monkeypatch.setattr(llmotel_litellm, "PEERS", ((__name__, "PeerInstrumentor"),))
    monkeypatch.setattr(inference, "_settled", set())  # the decision is logged once per process
    instance = PeerInstrumentor()
    yield instance
    vars(instance).pop("instrument", None)
    instance.uninstrument()


def _scopes(route: Route, stub: StubServer, span_exporter: InMemorySpanExporter) -> list[str]:
    stub.enqueue(text_reply("Hello"))
    litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
    return [s.instrumentation_scope.name for s in span_exporter.get_finished_spans()]  # type: ignore[union-attr]


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
    if peer_first:
        peer.instrument(tracer_provider=tracer_provider)
    instrument()
    if not peer_first:
        peer.instrument(tracer_provider=tracer_provider)  # later, as opentelemetry-instrument may
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
