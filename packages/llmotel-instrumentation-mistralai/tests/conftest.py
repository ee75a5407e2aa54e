"""Fixtures: the instrumentor wired to the in-memory providers, and real SDK clients on the stub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llmotel.instrumentation.mistralai import MistralAIInstrumentor
from llmotel.testing import StubServer

try:  # mistralai >= 2
    from mistralai.client import Mistral
except ImportError:  # mistralai 1.x
    from mistralai import Mistral  # type: ignore[attr-defined,no-redef,unused-ignore]

Instrument = Callable[..., MistralAIInstrumentor]


@pytest.fixture
def instrument(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Instrument]:
    """``instrument(capture="SPAN_ONLY", latest=True)``: instrument with those env settings."""
    instrumentor = MistralAIInstrumentor()

    def _instrument(capture: str | None = None, latest: bool = False) -> MistralAIInstrumentor:
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
def instrumented(instrument: Instrument) -> MistralAIInstrumentor:
    return instrument()


@pytest.fixture
def client(llm_stub: StubServer) -> Any:
    """A ``Mistral`` client (sync and async methods) talking to the stub."""
    return Mistral(api_key="test", server_url=llm_stub.mistral_base_url)
