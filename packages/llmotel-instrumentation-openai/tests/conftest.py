"""Fixtures: the instrumentor wired to the in-memory providers, and real SDK clients on the stub."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from llmotel.instrumentation.openai import OpenAIInstrumentor
from llmotel.testing import StubServer

Instrument = Callable[..., OpenAIInstrumentor]


@pytest.fixture
def instrumentor() -> OpenAIInstrumentor:
    """What llmotel-testing's ``instrument`` / ``instrumented`` fixtures instrument."""
    return OpenAIInstrumentor()


@pytest.fixture
def client(llm_stub: StubServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test", max_retries=0)


@pytest.fixture
def aclient(llm_stub: StubServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=llm_stub.openai_base_url, api_key="test", max_retries=0)
