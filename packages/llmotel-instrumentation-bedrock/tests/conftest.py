"""Fixtures: the instrumentor wired to the in-memory providers, and real boto3 clients on the stub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from llmotel.instrumentation.bedrock import BedrockInstrumentor
from llmotel.testing import AWS_TEST_ENV, StubServer

Instrument = Callable[..., BedrockInstrumentor]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; no config file, no instance metadata, no retries."""
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def instrumentor() -> BedrockInstrumentor:
    """What llmotel-testing's ``instrument`` / ``instrumented`` fixtures instrument."""
    return BedrockInstrumentor()


@pytest.fixture
def new_client(llm_stub: StubServer) -> Callable[[], Any]:
    """Makes a fresh ``bedrock-runtime`` client talking to the stub."""
    return lambda: boto3.client("bedrock-runtime", endpoint_url=llm_stub.bedrock_base_url)


@pytest.fixture
def client(new_client: Callable[[], Any]) -> Any:
    """A ``bedrock-runtime`` client talking to the stub."""
    return new_client()
