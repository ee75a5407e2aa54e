"""Fixtures: the instrumentor wired to the in-memory providers, and real boto3 and aiobotocore
clients on the stub."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from importlib.metadata import requires, version
from typing import Any

import boto3
import pytest
from aiobotocore.session import AioSession
from packaging.requirements import Requirement

from llmotel.instrumentation.bedrock import BedrockInstrumentor
from llmotel.testing import AWS_TEST_ENV, StubServer

Instrument = Callable[..., BedrockInstrumentor]


def _aio_unsupported() -> str | None:
    """Why the aiobotocore tests cannot run here, or ``None``: aiobotocore supports a few botocore
    releases, and the ``newest`` session installs a botocore past them to test the boto3 path."""
    for line in requires("aiobotocore") or ():
        wanted = Requirement(line)
        if wanted.name == "botocore" and not wanted.specifier.contains(version("botocore")):
            return f"aiobotocore {version('aiobotocore')} wants {wanted}, not {version('botocore')}"
    return None


#: The reason the aiobotocore tests are skipped in this venv, or ``None``.
AIO_UNSUPPORTED = _aio_unsupported()


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


@pytest.fixture
async def new_aio_client(llm_stub: StubServer) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """Makes a fresh aiobotocore ``bedrock-runtime`` client talking to the stub (an awaitable;
    each one is closed after the test)."""
    async with _aio_clients(llm_stub, None) as make:
        yield make


@pytest.fixture
async def new_httpx_client(llm_stub: StubServer) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    """:func:`new_aio_client` on aiobotocore's httpx backend
    (``AioConfig(http_session_cls=HttpxSession)``); skipped in a release without one."""
    try:
        from aiobotocore.config import AioConfig
        from aiobotocore.httpxsession import HttpxSession
    except ImportError:
        pytest.skip(f"aiobotocore {version('aiobotocore')} has no httpx backend")
    async with _aio_clients(llm_stub, AioConfig(http_session_cls=HttpxSession)) as make:
        yield make


@contextlib.asynccontextmanager
async def _aio_clients(
    llm_stub: StubServer, config: Any
) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    if AIO_UNSUPPORTED:
        pytest.skip(AIO_UNSUPPORTED)
    async with contextlib.AsyncExitStack() as stack:

        async def make() -> Any:
            session = AioSession()
            return await stack.enter_async_context(
                session.create_client(
                    "bedrock-runtime", endpoint_url=llm_stub.bedrock_base_url, config=config
                )
            )

        yield make


@pytest.fixture
async def aio_client(new_aio_client: Callable[[], Awaitable[Any]]) -> Any:
    """An aiobotocore ``bedrock-runtime`` client talking to the stub."""
    return await new_aio_client()


@pytest.fixture
def loop_client(llm_stub: StubServer) -> Iterator[tuple[asyncio.AbstractEventLoop, Any]]:
    """An event loop and an aiobotocore client on it, for sync tests (hypothesis) that run each
    async call with ``loop.run_until_complete``."""
    if AIO_UNSUPPORTED:
        pytest.skip(AIO_UNSUPPORTED)
    loop = asyncio.new_event_loop()
    context = AioSession().create_client("bedrock-runtime", endpoint_url=llm_stub.bedrock_base_url)
    client = loop.run_until_complete(context.__aenter__())
    try:
        yield loop, client
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        gc.collect()  # streams left unread are finalised while their loop can still close them
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
