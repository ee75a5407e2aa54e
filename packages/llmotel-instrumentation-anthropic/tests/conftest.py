"""Fixtures: the instrumentor wired to the in-memory providers, and real SDK clients on the stub."""

from __future__ import annotations

from collections.abc import Callable

import anthropic
import pytest

from llmotel.instrumentation.anthropic import AnthropicInstrumentor
from llmotel.testing import StubServer

Instrument = Callable[..., AnthropicInstrumentor]


@pytest.fixture
def instrumentor() -> AnthropicInstrumentor:
    """What llmotel-testing's ``instrument`` / ``instrumented`` fixtures instrument."""
    return AnthropicInstrumentor()


@pytest.fixture
def client(llm_stub: StubServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=llm_stub.anthropic_base_url, api_key="test", max_retries=0)


@pytest.fixture
def aclient(llm_stub: StubServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=llm_stub.anthropic_base_url, api_key="test", max_retries=0
    )
