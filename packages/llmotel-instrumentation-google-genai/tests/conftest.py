"""Fixtures: the instrumentor wired to the in-memory providers, and real SDK clients on the stub."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from google import genai
from google.genai import types

from llmotel.instrumentation.google_genai import GoogleGenAIInstrumentor
from llmotel.testing import StubServer

Instrument = Callable[..., GoogleGenAIInstrumentor]

# One attempt per call: newer SDKs retry some errors, which would take the next scripted reply
# (older ones have no retry options and never retry).
NO_RETRY = (
    types.GenerateContentConfig(
        http_options=types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1))
    )
    if hasattr(types, "HttpRetryOptions")
    else None
)


@pytest.fixture
def instrumentor() -> GoogleGenAIInstrumentor:
    """What llmotel-testing's ``instrument`` / ``instrumented`` fixtures instrument."""
    return GoogleGenAIInstrumentor()


@pytest.fixture
def client(llm_stub: StubServer) -> genai.Client:
    """A Gemini API client (``gcp.gemini``) on the stub; ``client.aio`` is its async side."""
    return genai.Client(api_key="test", http_options={"base_url": llm_stub.google_genai_base_url})


@pytest.fixture
def vertex_client(llm_stub: StubServer) -> genai.Client:
    """A Vertex AI client (``gcp.vertex_ai``, express mode: an API key, no project) on the stub."""
    return genai.Client(
        vertexai=True, api_key="test", http_options={"base_url": llm_stub.google_genai_base_url}
    )
