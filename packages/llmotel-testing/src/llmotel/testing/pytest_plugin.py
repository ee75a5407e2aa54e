"""pytest fixtures of llmotel, loaded automatically (the ``llmotel`` pytest11 entry point).

- ``llm_stub``: a running :class:`~llmotel.testing.StubServer`, one per session, reset before each
  test.
- ``span_exporter`` + ``tracer_provider``: an ``InMemorySpanExporter`` behind a
  ``SimpleSpanProcessor`` of a fresh ``TracerProvider``.
- ``metric_reader`` + ``meter_provider``: an ``InMemoryMetricReader`` of a fresh ``MeterProvider``.
- ``log_exporter`` + ``logger_provider``: an ``InMemoryLogRecordExporter`` behind a
  ``SimpleLogRecordProcessor`` of a fresh ``LoggerProvider``.
- ``instrument`` / ``instrumented``: the instrumentor your conftest's ``instrumentor`` fixture returns,
  instrumented on those three providers (``instrument(capture="SPAN_ONLY", latest=True)`` sets the
  content-capture and semconv opt-in variables first) and uninstrumented after the test.

Nothing here sets a global provider: pass the providers to what you test (``tracer_provider=...``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.testing._server import StubServer

# InMemoryLogRecordExporter is the current name; older SDKs only have InMemoryLogExporter.
try:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
except ImportError:  # pragma: no cover - older SDKs
    from opentelemetry.sdk._logs.export import (  # type: ignore[no-redef,unused-ignore]
        InMemoryLogExporter as InMemoryLogRecordExporter,
    )

__all__ = [
    "instrument",
    "instrumented",
    "llm_stub",
    "log_exporter",
    "logger_provider",
    "meter_provider",
    "metric_reader",
    "span_exporter",
    "tracer_provider",
]


@pytest.fixture(scope="session")
def llmotel_stub_server() -> Iterator[StubServer]:
    """The session's stub server (prefer ``llm_stub``, which also resets it before each test)."""
    with StubServer() as server:
        yield server


@pytest.fixture
def llm_stub(llmotel_stub_server: StubServer) -> StubServer:
    """A running stub server with no queued replies, no recorded requests and default latency."""
    llmotel_stub_server.reset()
    llmotel_stub_server.latency = 0.0
    llmotel_stub_server.chunk_delay = 0.0
    llmotel_stub_server.model_suffix = ""
    return llmotel_stub_server


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    """Collects every span ended by ``tracer_provider``: ``span_exporter.get_finished_spans()``."""
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A fresh ``TracerProvider`` exporting synchronously to ``span_exporter`` (never global)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    """Reads what ``meter_provider`` recorded: ``metric_points(metric_reader, name)``."""
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    """A fresh ``MeterProvider`` read by ``metric_reader`` (not set globally)."""
    provider = MeterProvider(metric_readers=[metric_reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def log_exporter() -> InMemoryLogRecordExporter:
    """Collects what ``logger_provider`` emits: ``log_exporter.get_finished_logs()``."""
    return InMemoryLogRecordExporter()  # type: ignore[no-untyped-call,unused-ignore]


@pytest.fixture
def logger_provider(log_exporter: InMemoryLogRecordExporter) -> Iterator[LoggerProvider]:
    """A fresh ``LoggerProvider`` exporting synchronously to ``log_exporter`` (not set globally)."""
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def instrument(
    instrumentor: Any,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Any]]:
    """``instrument(capture="SPAN_ONLY", latest=True)``: instrument the ``instrumentor`` fixture's
    instrumentor with those env settings, on the in-memory providers."""

    def _instrument(capture: str | None = None, latest: bool = False) -> Any:
        if capture is not None:
            monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", capture)
        if latest:
            monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
        instrumentor.instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            logger_provider=logger_provider,
        )
        return instrumentor

    yield _instrument
    instrumentor.uninstrument()


@pytest.fixture
def instrumented(instrument: Callable[..., Any]) -> Any:
    """The ``instrumentor`` fixture's instrumentor, instrumented with the environment's settings."""
    return instrument()
