"""Another instrumentation of the same SDK (OpenLLMetry's, OpenInference's), for the tests of
``LLMOTEL_INSTRUMENTATION_CONFLICT``: whatever order the two instrument in, one call makes one span,
the one the rule names.

:class:`PeerInstrumentor` is a real ``BaseInstrumentor`` whose calls make a GenAI CLIENT span
``chat`` of its own scope, as both peers do; a test module subclasses it with what it patches.
:func:`as_peer` makes an instance the only peer an llmotel instrumentation knows (its ``PEERS``),
for one test. Needs ``opentelemetry-instrumentation`` (which every instrumentation installs);
``import llmotel.testing`` does not import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

if TYPE_CHECKING:
    import pytest

__all__ = ["PeerInstrumentor", "as_peer", "instrument_both", "scopes"]

#: ``span()`` opens the peer's span around one call.
SpanOf = Callable[[], AbstractContextManager[Any]]


class PeerInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """A peer instrumentation: a subclass sets :attr:`scope` and :attr:`dependencies` and patches
    the SDK in :meth:`patch` (calling ``span()`` around each call) and restores it in
    :meth:`unpatch`."""

    scope = "peer"
    dependencies: Collection[str] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.dependencies

    def patch(self, span: SpanOf) -> None:
        raise NotImplementedError

    def unpatch(self) -> None:
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(self.scope, tracer_provider=kwargs.get("tracer_provider"))
        self.patch(
            lambda: tracer.start_as_current_span(
                "chat", kind=SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat"}
            )
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        self.unpatch()


def as_peer(
    monkeypatch: pytest.MonkeyPatch, instrumentation: ModuleType, peer: PeerInstrumentor
) -> Iterator[PeerInstrumentor]:
    """The body of a ``peer`` fixture: ``peer`` is the one peer of ``instrumentation`` (its
    ``PEERS``), the conflict decision is logged afresh, and ``peer`` is uninstrumented after."""
    from llmotel.semconv import inference

    cls = type(peer)
    monkeypatch.setattr(instrumentation, "PEERS", ((cls.__module__, cls.__qualname__),))
    monkeypatch.setattr(inference, "_settled", set())  # the decision is logged once per process
    yield peer
    peer.__dict__.pop("instrument", None)  # what instrument() left on the instance
    peer.uninstrument()


def instrument_both(
    peer: PeerInstrumentor, instrument: Callable[[], object], tracer_provider: Any, peer_first: bool
) -> None:
    """Instrument with the peer and with llmotel (``instrument()``), the peer first or later (as
    ``opentelemetry-instrument`` may)."""
    if peer_first:
        peer.instrument(tracer_provider=tracer_provider)
    instrument()
    if not peer_first:
        peer.instrument(tracer_provider=tracer_provider)


def scopes(spans: InMemorySpanExporter) -> list[str]:
    """The instrumentation scope of each finished span."""
    return [s.instrumentation_scope.name for s in spans.get_finished_spans()]  # type: ignore[union-attr]
