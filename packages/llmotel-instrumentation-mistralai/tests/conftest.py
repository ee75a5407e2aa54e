"""Fixtures: the instrumentor wired to the in-memory providers, and real SDK clients on the stub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmotel.instrumentation.mistralai import MistralAIInstrumentor
from llmotel.testing import StubServer

try:  # mistralai >= 2
    from mistralai.client import Mistral
except ImportError:  # mistralai 1.x
    from mistralai import Mistral  # type: ignore[attr-defined,no-redef,unused-ignore]

Instrument = Callable[..., MistralAIInstrumentor]


@pytest.fixture
def instrumentor() -> MistralAIInstrumentor:
    """What llmotel-testing's ``instrument`` / ``instrumented`` fixtures instrument."""
    return MistralAIInstrumentor()


@pytest.fixture
def client(llm_stub: StubServer) -> Any:
    """A ``Mistral`` client (sync and async methods) talking to the stub."""
    return Mistral(api_key="test", server_url=llm_stub.mistral_base_url)
