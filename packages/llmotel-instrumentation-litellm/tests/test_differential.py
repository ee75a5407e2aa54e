"""Differential: every way of calling LiteLLM gives the caller the same ``ModelResponse``, chunks,
``EmbeddingResponse`` or exception with and without the instrumentation, sends the stub the same
requests, and leaves exactly one ended span (llmotel.testing.differential).

LiteLLM's functions live on the module; the "client" here is a small object whose resources
(``chat``, ``embeddings``) call them with the stub's ``api_base``, so that the shared comparison
can resolve them like an SDK's resources. LiteLLM stamps stream chunks with its own ``created``
time (two runs a second apart differ), and on the Anthropic route it makes up the response id too:
those fields are left out of the comparison; everything else is compared as the caller sees it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.instrumentation.litellm import _TARGETS
from llmotel.testing import (
    StubServer,
    Usage,
    cut_stream_reply,
    error_reply,
    text_reply,
    tool_call_reply,
)
from llmotel.testing.differential import (
    CallPath,
    Expect,
    compare_async,
    compare_sync,
    observe,
)

from .conftest import ANTHROPIC_MODEL, OPENAI_MODEL, Instrument

# Content capture on: the instrumented run goes through every accumulator and content reader too.
CAPTURE = "SPAN_AND_EVENT"
MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
FULL = frozenset({"gen_ai.response.model", "gen_ai.response.finish_reasons"})
USAGE = frozenset({"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"})
EMBEDDED = frozenset({"gen_ai.usage.input_tokens", "gen_ai.embeddings.dimension.count"})
REPLY = text_reply("Hello there, friend!", usage=Usage(input_tokens=9, output_tokens=4))
TOOL = tool_call_reply("get_weather", {"city": "Paris"}, text="Checking")
_STAMPED = frozenset({"created"})
_MADE_UP = frozenset({"id", "created"})


class Chat:
    """``litellm.completion`` / ``acompletion`` on one route to the stub."""

    def __init__(self, route: dict[str, Any], volatile: frozenset[str]) -> None:
        self.route = route
        self.volatile = volatile

    def completion(self, **kw: Any) -> Any:
        return litellm.completion(**self.route, messages=MESSAGES, num_retries=0, **kw)

    async def acompletion(self, **kw: Any) -> Any:
        return await litellm.acompletion(**self.route, messages=MESSAGES, num_retries=0, **kw)


class Embeddings:
    """``litellm.embedding`` / ``aembedding`` on the OpenAI route."""

    def __init__(self, route: dict[str, Any]) -> None:
        self.route = route
        self.volatile: frozenset[str] = frozenset()

    def embedding(self, **kw: Any) -> Any:
        return litellm.embedding(**self.route, input=["a", "b"], **kw)

    async def aembedding(self, **kw: Any) -> Any:
        return await litellm.aembedding(**self.route, input=["a", "b"], **kw)


class Client:
    def __init__(self, stub: StubServer) -> None:
        self.chat = Chat(
            {"model": OPENAI_MODEL, "api_base": stub.openai_base_url, "api_key": "test"},
            _STAMPED,
        )
        self.anthropic = Chat(
            {"model": ANTHROPIC_MODEL, "api_base": stub.anthropic_base_url, "api_key": "test"},
            _MADE_UP,
        )
        self.embeddings = Embeddings(
            {
                "model": "openai/text-embedding-3-small",
                "api_base": stub.openai_base_url,
                "api_key": "test",
            }
        )


def seen(resource: Any, value: Any) -> Any:
    """What the caller saw, without the fields the route makes up per call."""
    return _without(observe(value), resource.volatile)


def _without(value: Any, keys: frozenset[str]) -> Any:
    if not keys:
        return value
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list | tuple):
        return [_without(v, keys) for v in value]
    return value


# -- the paths ------------------------------------------------------------------------------------


def complete(r: Any) -> Any:
    return seen(r, r.completion(max_tokens=50))


async def acomplete(r: Any) -> Any:
    return seen(r, await r.acompletion(max_tokens=50))


def stream(r: Any) -> Any:
    return seen(r, list(r.completion(stream=True, stream_options={"include_usage": True})))


async def astream(r: Any) -> Any:
    chunks = await r.acompletion(stream=True, stream_options={"include_usage": True})
    return seen(r, [c async for c in chunks])


def stream_plain(r: Any) -> Any:
    return seen(r, list(r.completion(stream=True)))


async def astream_plain(r: Any) -> Any:
    return seen(r, [c async for c in await r.acompletion(stream=True)])


def needs(method: str) -> None:
    """Skip a path whose stream method this LiteLLM lacks (``close`` and ``with`` since 1.108):
    both runs would raise the same AttributeError, and the span check expects none."""
    if not hasattr(CustomStreamWrapper, method):
        pytest.skip(f"LiteLLM's streams have no {method} in this release")


def stream_close(r: Any) -> Any:
    needs("close")
    chunks = r.completion(stream=True)
    first = next(chunks)
    chunks.close()
    return seen(r, first)


async def astream_close(r: Any) -> Any:
    needs("aclose")
    chunks = await r.acompletion(stream=True)
    first = await chunks.__anext__()
    await chunks.aclose()
    return seen(r, first)


def stream_with(r: Any) -> Any:
    needs("__enter__")
    with r.completion(stream=True) as chunks:
        return seen(r, next(chunks))


async def astream_with(r: Any) -> Any:
    needs("__aenter__")
    async with await r.acompletion(stream=True) as chunks:
        return seen(r, await chunks.__anext__())


def stream_abandoned(r: Any) -> Any:
    return seen(r, next(r.completion(stream=True)))


async def astream_abandoned(r: Any) -> Any:
    return seen(r, await (await r.acompletion(stream=True)).__anext__())


async def astream_cut(r: Any) -> Any:
    # Older LiteLLM releases (1.74) end an async stream whose connection drops as if complete,
    # so the caller gets no error and the span none either: the path needs a recent release.
    needs("close")
    return await astream_plain(r)


def embed(r: Any) -> Any:
    return seen(r, r.embedding())


async def aembed(r: Any) -> Any:
    return seen(r, await r.aembedding())


_EARLY = Expect(frozenset({"gen_ai.request.model"}))
CHAT_PATHS = tuple(
    path
    for resource in ("chat", "anthropic")
    for path in (
        CallPath(f"{resource}-complete", resource, "completion", complete, acomplete, Expect(FULL | USAGE), (REPLY,)),
        CallPath(f"{resource}-tools", resource, "completion", complete, acomplete, Expect(FULL), (TOOL,)),
        CallPath(f"{resource}-stream", resource, "completion", stream, astream, Expect(FULL | USAGE), (REPLY,)),
        CallPath(f"{resource}-stream-plain", resource, "completion", stream_plain, astream_plain, Expect(FULL), (TOOL,)),
        CallPath(f"{resource}-stream-close", resource, "completion", stream_close, astream_close, _EARLY, (REPLY,)),
        CallPath(f"{resource}-stream-with", resource, "completion", stream_with, astream_with, _EARLY, (REPLY,)),
        CallPath(
            f"{resource}-stream-abandoned", resource, "completion", stream_abandoned,
            astream_abandoned, Expect(_EARLY.attributes, abandoned=True), (REPLY,),
        ),
        CallPath(f"{resource}-error", resource, "completion", complete, acomplete, Expect(error=True), (error_reply(429),)),
        CallPath(
            f"{resource}-stream-cut", resource, "completion", stream_plain, astream_cut,
            Expect(error=True), (cut_stream_reply(2, text="one two three four"),),
        ),
    )
)  # fmt: skip
PATHS = (
    *CHAT_PATHS,
    CallPath("embedding", "embeddings", "embedding", embed, aembed, Expect(EMBEDDED)),
    CallPath("embedding-error", "embeddings", "embedding", embed, aembed, Expect(error=True), (error_reply(400),)),
)  # fmt: skip


@pytest.mark.parametrize("path", PATHS, ids=str)
def test_sync_path(
    path: CallPath,
    instrument: Instrument,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    compare_sync(
        path, lambda: Client(llm_stub), lambda: instrument(capture=CAPTURE), llm_stub, span_exporter
    )


@pytest.mark.parametrize("path", PATHS, ids=str)
async def test_async_path(
    path: CallPath,
    instrument: Instrument,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    await compare_async(
        path, lambda: Client(llm_stub), lambda: instrument(capture=CAPTURE), llm_stub, span_exporter
    )


def test_every_wrapped_function_has_a_path() -> None:
    reached = {
        name
        for path in PATHS
        for cls in (Chat, Embeddings)
        if path.method in vars(cls)
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    assert reached == {name for name, *_ in _TARGETS}


# With LiteLLM's OpenTelemetry V2 callback registered (LITELLM_OTEL_V2), the instrumentation gives
# each call a litellm_call_id and V2 skips it: the caller and the server still see the same. V2
# exports to a provider of its own here, so the one span the comparison checks is ours (which
# spans V2 makes: tests/test_otel_v2_callback.py).
V2_PATHS = tuple(
    path
    for path in PATHS
    if path.name in {"chat-complete", "chat-stream", "chat-error", "anthropic-stream", "embedding"}
)


@pytest.fixture
def otel_v2(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    logger = pytest.importorskip("litellm.integrations.otel.logger", reason="no OpenTelemetry V2")
    config = pytest.importorskip("litellm.integrations.otel.model.config")
    from .test_otel_callback import CALLBACK_LISTS

    monkeypatch.setenv("LITELLM_OTEL_V2", "true")
    config.is_otel_v2_enabled.cache_clear()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    saved = {name: getattr(litellm, name) for name in CALLBACK_LISTS}
    for name in CALLBACK_LISTS:
        setattr(litellm, name, [])
    litellm.callbacks = [logger.OpenTelemetryV2(tracer_provider=provider)]
    yield
    for name, value in saved.items():
        setattr(litellm, name, value)
    provider.shutdown()
    config.is_otel_v2_enabled.cache_clear()


@pytest.mark.parametrize("path", V2_PATHS, ids=str)
def test_sync_path_beside_otel_v2(
    path: CallPath,
    otel_v2: None,
    instrument: Instrument,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    compare_sync(
        path, lambda: Client(llm_stub), lambda: instrument(capture=CAPTURE), llm_stub, span_exporter
    )


@pytest.mark.parametrize("path", V2_PATHS, ids=str)
async def test_async_path_beside_otel_v2(
    path: CallPath,
    otel_v2: None,
    instrument: Instrument,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    await compare_async(
        path, lambda: Client(llm_stub), lambda: instrument(capture=CAPTURE), llm_stub, span_exporter
    )
