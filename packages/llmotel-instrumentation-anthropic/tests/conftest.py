"""Fixtures: the instrumentor wired to the in-memory providers, and real SDK clients on the stub."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anthropic
import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llmotel.instrumentation.anthropic import AnthropicInstrumentor
from llmotel.testing import StubServer

Instrument = Callable[..., AnthropicInstrumentor]


@pytest.fixture
def instrument(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Instrument]:
    """``instrument(capture="SPAN_ONLY", latest=True)``: instrument with those env settings."""
    instrumentor = AnthropicInstrumentor()

    def _instrument(capture: str | None = None, latest: bool = False) -> AnthropicInstrumentor:
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
def instrumented(instrument: Instrument) -> AnthropicInstrumentor:
    return instrument()


@pytest.fixture
def client(llm_stub: StubServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=llm_stub.anthropic_base_url, api_key="test", max_retries=0)


@pytest.fixture
def aclient(llm_stub: StubServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=llm_stub.anthropic_base_url, api_key="test", max_retries=0
    )
