"""Fixtures: the instrumentor wired to the in-memory providers, LiteLLM pointed at the stub, and the
llmotel openai / anthropic instrumentors for the one-span-per-call tests.

LiteLLM fetches its model cost map from the network when it is imported, unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set: it is set here, before anything imports litellm, so the
tests never leave the machine (``test_no_network`` checks it).
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llmotel.instrumentation.anthropic import AnthropicInstrumentor
from llmotel.instrumentation.litellm import LiteLLMInstrumentor
from llmotel.instrumentation.openai import OpenAIInstrumentor
from llmotel.testing import StubServer

Instrument = Callable[..., LiteLLMInstrumentor]
OPENAI_MODEL = "openai/gpt-4o-mini"
ANTHROPIC_MODEL = "anthropic/claude-sonnet-4-20250514"


@pytest.fixture
def instrumentor() -> LiteLLMInstrumentor:
    """What llmotel-testing's ``instrument`` / ``instrumented`` fixtures instrument."""
    return LiteLLMInstrumentor()


@pytest.fixture
def route(llm_stub: StubServer) -> Callable[[str], dict[str, Any]]:
    """``route(model)``: the keyword arguments that send a LiteLLM call for ``model`` to the stub
    (the ``api_base`` of its provider's API and a fake key)."""

    def _route(model: str) -> dict[str, Any]:
        provider = model.split("/", 1)[0]
        base = {
            "openai": llm_stub.openai_base_url,
            "anthropic": llm_stub.anthropic_base_url,
            "mistral": llm_stub.mistral_base_url,
        }[provider]
        return {"model": model, "api_base": base, "api_key": "test"}

    return _route


@pytest.fixture
def sdk_instrumented(
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
    logger_provider: LoggerProvider,
) -> Iterator[None]:
    """The llmotel openai and anthropic instrumentations, on the same providers."""
    instrumentors = [OpenAIInstrumentor(), AnthropicInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument(
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            logger_provider=logger_provider,
        )
    yield
    for instrumentor in instrumentors:
        instrumentor.uninstrument()


@pytest.fixture(autouse=True)
def fresh_litellm_clients() -> None:
    """LiteLLM keeps the SDK clients it made: each test starts without them, so that an SDK
    instrumentation switched on in a test sees the client made after it (an openai client binds
    its ``with_raw_response`` methods once)."""
    import litellm

    cache = getattr(litellm, "in_memory_llm_clients_cache", None)
    if cache is not None:
        cache.flush_cache()
