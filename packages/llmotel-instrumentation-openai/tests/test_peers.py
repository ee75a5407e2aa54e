"""Another instrumentation of the openai SDK installed too: LLMOTEL_INSTRUMENTATION_CONFLICT says
which one makes the span, whatever the order they instrument in; one call, one span.

The peer here is a real ``BaseInstrumentor`` that wraps ``chat.completions.create`` with wrapt and
makes a GenAI CLIENT span, as upstream's, OpenLLMetry's and OpenInference's do.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from typing import Any

import openai
import pytest
import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import llmotel.instrumentation.openai as llmotel_openai
from llmotel.semconv import inference
from llmotel.testing import StubServer

from .conftest import Instrument

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
PEER_SCOPE = "peer.openai"


class PeerInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(PEER_SCOPE, tracer_provider=kwargs.get("tracer_provider"))

        def wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            with tracer.start_as_current_span(
                "chat", kind=SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat"}
            ):
                return wrapped(*args, **kw)

        wrapt.wrap_function_wrapper(
            "openai.resources.chat.completions", "Completions.create", wrapper
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        unwrap(openai.resources.chat.completions.Completions, "create")


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[PeerInstrumentor]:
    monkeypatch.setattr(llmotel_openai, "PEERS", ((__name__, "PeerInstrumentor"),))
    monkeypatch.setattr(inference, "_settled", set())  # the decision is logged once per process
    instance = PeerInstrumentor()
    yield instance
    vars(instance).pop("instrument", None)
    instance.uninstrument()


def _scopes(client: openai.OpenAI, span_exporter: InMemorySpanExporter) -> list[str]:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    return [s.instrumentation_scope.name for s in span_exporter.get_finished_spans()]  # type: ignore[union-attr]


@pytest.mark.parametrize("peer_first", [True, False])
def test_llmotel_wins_by_default(
    peer_first: bool,
    peer: PeerInstrumentor,
    instrument: Instrument,
    tracer_provider: TracerProvider,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if peer_first:
        peer.instrument(tracer_provider=tracer_provider)
    with caplog.at_level(logging.WARNING, "llmotel"):
        instrumentor = instrument()
    if not peer_first:
        peer.instrument(tracer_provider=tracer_provider)  # later, as opentelemetry-instrument may
    assert _scopes(client, span_exporter) == ["llmotel.instrumentation.openai"]
    assert any(
        "LLMOTEL_INSTRUMENTATION_CONFLICT=peer" in r.getMessage() and __name__ in r.getMessage()
        for r in caplog.records
    )
    instrumentor.uninstrument()  # the peer may instrument again
    peer.instrument(tracer_provider=tracer_provider)
    span_exporter.clear()
    assert _scopes(client, span_exporter) == [PEER_SCOPE]


def test_peer_wins_when_asked(
    peer: PeerInstrumentor,
    instrument: Instrument,
    tracer_provider: TracerProvider,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMOTEL_INSTRUMENTATION_CONFLICT", "peer")
    instrument()
    peer.instrument(tracer_provider=tracer_provider)
    assert _scopes(client, span_exporter) == [PEER_SCOPE]


def test_no_peer_installed_llmotel_instruments_under_either_rule(
    instrument: Instrument,
    client: openai.OpenAI,
    span_exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(llmotel_openai, "PEERS", (("no_such_peer_module", "Instrumentor"),))
    monkeypatch.setenv("LLMOTEL_INSTRUMENTATION_CONFLICT", "peer")
    instrument()
    assert _scopes(client, span_exporter) == ["llmotel.instrumentation.openai"]


def test_cached_raw_response_wrapper_is_quiet_after_uninstrument(
    instrument: Instrument,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    instrumentor = instrument()
    client = openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="t", max_retries=0)
    raw = client.chat.completions.with_raw_response  # binds our wrapper into the client
    instrumentor.uninstrument()
    raw.create(model="gpt-4o-mini", messages=MESSAGES).parse()
    assert span_exporter.get_finished_spans() == ()
