"""LiteLLM's OpenTelemetry V2 callback beside llmotel's LiteLLM instrumentation.

With ``LITELLM_OTEL_V2`` set, LiteLLM builds ``OpenTelemetryV2`` (``litellm.integrations.otel.logger``)
for ``litellm.callbacks = ["otel"]`` instead of the legacy class: it opens a ``chat {model}`` /
``embeddings {model}`` span in its ``log_pre_api_call`` hook, under the span current then (ours), and
ends it in its async success / failure hook (a sync call never reaches it: the span stays open). For
a call that has a llmotel span that span is the call's one span: V2 starts none (checked with a span
processor that sees every span started, not only the ended ones), records nothing. Calls without a
llmotel span — the instrumentation off or uninstrumented, or the call made inside another GenAI span —
and V2 loggers LiteLLM builds for other backends (a ``callback_name``) keep V2's span.

V2 is LiteLLM's real class, registered as a user would: by name with the environment variable set
(LiteLLM builds it), or as an instance on the test's tracer provider; a plain ``CustomLogger`` after
it says when LiteLLM's logging of the call has run. Skipped on LiteLLM releases without V2 (1.74).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import litellm
import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import llmotel.instrumentation.litellm as litellm_instrumentation
from llmotel.instrumentation.litellm import LiteLLMInstrumentor
from llmotel.testing import StubServer, Usage, error_reply, text_reply

from .conftest import OPENAI_MODEL, Instrument
from .test_otel_callback import CALLBACK_LISTS, Logged

v2_logger = pytest.importorskip(
    "litellm.integrations.otel.logger", reason="this LiteLLM has no OpenTelemetry V2"
)
v2_config = pytest.importorskip("litellm.integrations.otel.model.config")
OpenTelemetryV2: Any = v2_logger.OpenTelemetryV2

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
EMBEDDING_MODEL = "openai/text-embedding-3-small"
LLMOTEL = "llmotel.instrumentation.litellm"
V2 = "litellm"  # V2's tracer name
Route = Callable[[str], dict[str, Any]]


class Started(SpanProcessor):  # type: ignore[misc]
    """Every span started, ended or not: ``started.since(ns)`` is (name, scope) of those started
    from ``ns`` on (LiteLLM may still log an earlier test's call, through this test's callbacks)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str | None, int]] = []

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        scope = span.instrumentation_scope
        self.spans.append((span.name, scope.name if scope else None, span.start_time or 0))

    def since(self, since: int) -> list[tuple[str, str | None]]:
        return [(name, scope) for name, scope, start in self.spans if start >= since]


@pytest.fixture
def v2_enabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``LITELLM_OTEL_V2`` set (LiteLLM caches its reading: cleared on both sides); a V2 logger
    LiteLLM builds exports in memory rather than to its default, the console."""
    monkeypatch.setenv("LITELLM_OTEL_V2", "true")
    monkeypatch.setenv("OTEL_EXPORTER", "in_memory")
    v2_config.is_otel_v2_enabled.cache_clear()
    yield
    v2_config.is_otel_v2_enabled.cache_clear()


@pytest.fixture
def started(tracer_provider: TracerProvider) -> Started:
    processor = Started()
    tracer_provider.add_span_processor(processor)
    return processor


@pytest.fixture
def callbacks() -> Iterator[Callable[[list[Any]], None]]:
    """``callbacks(values)``: ``litellm.callbacks = values``, LiteLLM's other callback lists empty;
    all of them as they were after the test."""
    saved = {name: getattr(litellm, name) for name in CALLBACK_LISTS}

    def _set(values: list[Any]) -> None:
        for name in CALLBACK_LISTS:
            setattr(litellm, name, [])
        litellm.callbacks = values

    yield _set
    for name, value in saved.items():
        setattr(litellm, name, value)


@pytest.fixture
def logged(
    v2_enabled: None,
    tracer_provider: TracerProvider,
    started: Started,
    callbacks: Callable[[list[Any]], None],
) -> Logged:
    """LiteLLM's V2 callback on the test's tracer provider, then the ``Logged`` one."""
    done = Logged()
    callbacks([OpenTelemetryV2(tracer_provider=tracer_provider), done])
    return done


def spans(exporter: InMemorySpanExporter, since: int) -> list[tuple[str, str | None, str | None]]:
    """(name, scope, parent's name) of the spans ended that started from ``since`` (ns) on: LiteLLM
    may still be logging an earlier test's call, through this test's callbacks."""
    ended: list[ReadableSpan] = [
        s for s in exporter.get_finished_spans() if (s.start_time or 0) >= since
    ]
    names = {s.context.span_id: s.name for s in ended if s.context is not None}
    return sorted(
        (
            s.name,
            s.instrumentation_scope.name if s.instrumentation_scope else None,
            names.get(s.parent.span_id, "?") if s.parent is not None else None,
        )
        for s in ended
    )


def reply(stub: StubServer) -> None:
    stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=4, output_tokens=2)))


def covered_call_id() -> str:
    """The ``litellm_call_id`` the instrumentation gave the last call."""
    return list(litellm_instrumentation._covered)[-1]


def wait_sync(logged: Logged, call_id: str) -> None:
    deadline = time.monotonic() + 10
    while call_id not in logged.call_ids and time.monotonic() < deadline:
        time.sleep(0.02)
    assert call_id in logged.call_ids


async def wait_async(logged: Logged, call_id: str) -> None:
    for _ in range(500):  # LiteLLM logs an async call from a task of its own
        if call_id in logged.call_ids:
            return
        await asyncio.sleep(0.02)
    assert call_id in logged.call_ids


def completion(route: Route, **kw: Any) -> None:
    litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, **kw)


def stream(route: Route, **kw: Any) -> None:
    list(litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True, **kw))


def embedding(route: Route, **kw: Any) -> None:
    litellm.embedding(**route(EMBEDDING_MODEL), input=["a"], **kw)


async def acompletion(route: Route, **kw: Any) -> None:
    await litellm.acompletion(**route(OPENAI_MODEL), messages=MESSAGES, **kw)


async def astream(route: Route, **kw: Any) -> None:
    chunks = await litellm.acompletion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True, **kw)
    _ = [chunk async for chunk in chunks]


async def aembedding(route: Route, **kw: Any) -> None:
    await litellm.aembedding(**route(EMBEDDING_MODEL), input=["a"], **kw)


CHAT = "chat gpt-4o-mini"
EMBEDDINGS = "embeddings text-embedding-3-small"
SYNC = pytest.mark.parametrize(
    ("call", "name"),
    [(completion, CHAT), (stream, CHAT), (embedding, EMBEDDINGS)],
    ids=["completion", "stream", "embedding"],
)
ASYNC = pytest.mark.parametrize(
    ("call", "name"),
    [(acompletion, CHAT), (astream, CHAT), (aembedding, EMBEDDINGS)],
    ids=["acompletion", "astream", "aembedding"],
)


@ASYNC
async def test_v2_alone_makes_its_span(
    logged: Logged,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    started: Started,
    call: Callable[..., Any],
    name: str,
) -> None:
    reply(llm_stub)
    since = time.time_ns()
    await call(route, litellm_call_id="v2-alone")
    await wait_async(logged, "v2-alone")
    assert spans(span_exporter, since) == [(name, V2, None)]


@SYNC
def test_sync_call_is_the_one_span(
    logged: Logged,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    started: Started,
    call: Callable[..., Any],
    name: str,
) -> None:
    reply(llm_stub)
    since = time.time_ns()
    call(route)
    call_id = covered_call_id()
    wait_sync(logged, call_id)  # the id the instrumentation gave is the one LiteLLM logged
    assert started.since(since) == [
        (name, LLMOTEL)
    ]  # V2 opened none (it would never have ended it)
    assert spans(span_exporter, since) == [(name, LLMOTEL, None)]


@ASYNC
async def test_async_call_is_the_one_span(
    logged: Logged,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    started: Started,
    call: Callable[..., Any],
    name: str,
) -> None:
    reply(llm_stub)
    since = time.time_ns()
    await call(route)
    await wait_async(logged, covered_call_id())
    assert started.since(since) == [(name, LLMOTEL)]
    assert spans(span_exporter, since) == [(name, LLMOTEL, None)]


async def test_failed_call_is_the_one_span(
    logged: Logged,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    started: Started,
) -> None:
    llm_stub.enqueue(error_reply(400))
    since = time.time_ns()
    with pytest.raises(litellm.BadRequestError):
        await acompletion(route, num_retries=0, litellm_call_id="failed")
    await wait_async(logged, "failed")
    assert started.since(since) == [(CHAT, LLMOTEL)]
    [span] = [s for s in span_exporter.get_finished_spans() if (s.start_time or 0) >= since]
    assert span.attributes is not None
    assert span.attributes["error.type"] == "BadRequestError"


async def test_call_inside_another_genai_span_keeps_v2s_span(
    logged: Logged,
    instrumented: LiteLLMInstrumentor,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
) -> None:
    # The instrumentation makes no span for a call inside another GenAI client span: nothing to
    # deduplicate, V2 makes its span under the current one as without llmotel.
    reply(llm_stub)
    tracer = tracer_provider.get_tracer("app")
    since = time.time_ns()
    with tracer.start_as_current_span(
        "outer", kind=SpanKind.CLIENT, attributes={"gen_ai.operation.name": "chat"}
    ):
        await acompletion(route, litellm_call_id="inner")
    await wait_async(logged, "inner")
    assert "inner" not in litellm_instrumentation._covered
    assert spans(span_exporter, since) == [(CHAT, V2, "outer"), ("outer", "app", None)]


async def test_v2_logger_of_another_backend_keeps_its_span(
    v2_enabled: None,
    instrumented: LiteLLMInstrumentor,
    callbacks: Callable[[list[Any]], None],
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
) -> None:
    # LiteLLM builds its V2 loggers for other backends (arize, langfuse_otel, ...) from the same
    # class, named: like the legacy callback's subclasses, they are not the generic "otel" one and
    # log the call as usual (here beside the generic one, which makes none).
    done = Logged()
    generic = OpenTelemetryV2(tracer_provider=tracer_provider)
    phoenix = OpenTelemetryV2(tracer_provider=tracer_provider, callback_name="arize_phoenix")
    callbacks([generic, phoenix, done])
    reply(llm_stub)
    since = time.time_ns()
    await acompletion(route)
    await wait_async(done, covered_call_id())
    assert spans(span_exporter, since) == [(CHAT, V2, CHAT), (CHAT, LLMOTEL, None)]


async def test_v2_named_otel(
    v2_enabled: None,
    instrument: Instrument,
    callbacks: Callable[[list[Any]], None],
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    started: Started,
) -> None:
    # The user's way: "otel" with LITELLM_OTEL_V2 set. LiteLLM builds its V2 logger (from the
    # environment: its own tracer provider) at the first call; the test then watches that provider.
    done = Logged()
    callbacks(["otel", done])
    reply(llm_stub)
    await acompletion(route, litellm_call_id="first")
    await wait_async(done, "first")
    [v2] = {id(c): c for c in litellm.input_callback if isinstance(c, OpenTelemetryV2)}.values()
    loggers = getattr(
        sys.modules.get("litellm.litellm_core_utils.litellm_logging"), "_in_memory_loggers", []
    )
    try:
        assert v2.callback_name is None
        v2.tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
        v2.tracer_provider.add_span_processor(started)

        instrumentor = instrument()
        since = time.time_ns()
        reply(llm_stub)
        await acompletion(route)
        await wait_async(done, covered_call_id())
        reply(llm_stub)
        completion(route)
        wait_sync(done, covered_call_id())
        assert started.since(since) == [(CHAT, LLMOTEL), (CHAT, LLMOTEL)]
        assert spans(span_exporter, since) == [(CHAT, LLMOTEL, None), (CHAT, LLMOTEL, None)]

        instrumentor.uninstrument()
        since = time.time_ns()
        reply(llm_stub)
        await acompletion(route, litellm_call_id="after")
        await wait_async(done, "after")
        assert spans(span_exporter, since) == [(CHAT, V2, None)]
    finally:
        if v2 in loggers:  # LiteLLM keeps the loggers it builds: the next test builds its own
            loggers.remove(v2)
        v2.tracer_provider.shutdown()


async def test_uninstrument_gives_v2_back(
    logged: Logged,
    instrument: Instrument,
    route: Route,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    hooks = ("log_pre_api_call", "async_log_success_event", "async_log_failure_event")
    before = {name: vars(OpenTelemetryV2)[name] for name in hooks}

    def unchanged() -> list[bool]:  # by identity: a wrapt wrapper compares equal to its function
        return [vars(OpenTelemetryV2)[name] is before[name] for name in hooks]

    instrumentor = instrument()
    assert unchanged() == [False, False, False]
    instrumentor.uninstrument()
    assert unchanged() == [True, True, True]
    reply(llm_stub)
    since = time.time_ns()
    await acompletion(route, litellm_call_id="uninstrumented")
    await wait_async(logged, "uninstrumented")
    assert spans(span_exporter, since) == [(CHAT, V2, None)]


def test_v2_named_before_the_first_call_is_found(
    v2_enabled: None, tracer_provider: TracerProvider, callbacks: Callable[[list[Any]], None]
) -> None:
    callbacks(["otel"])
    assert litellm_instrumentation._otel_callback_registered()
    callbacks([OpenTelemetryV2(tracer_provider=tracer_provider)])
    assert litellm_instrumentation._otel_callback_registered()
    callbacks([OpenTelemetryV2(tracer_provider=tracer_provider, callback_name="arize_phoenix")])
    assert not litellm_instrumentation._otel_callback_registered()


# The application as a user writes it: the instrumentation on, then "otel" with LITELLM_OTEL_V2 set.
# LiteLLM imports its V2 module only when it builds the logger, in the first call: the
# instrumentation's hooks must be on the class by then. V2 prints its spans on the console here.
APP = textwrap.dedent(
    """
    import asyncio, json, os
    import litellm
    from litellm.integrations.custom_logger import CustomLogger
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from llmotel.instrumentation.litellm import LiteLLMInstrumentor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = LiteLLMInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    logged = []

    class Done(CustomLogger):
        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
            logged.append(kwargs.get("litellm_call_id"))

    async def call(call_id):
        await litellm.acompletion(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}],
            api_base=os.environ["STUB_URL"], api_key="test", litellm_call_id=call_id,
        )
        for _ in range(500):
            if call_id in logged:
                return
            await asyncio.sleep(0.02)
        raise SystemExit(f"{call_id} was not logged")

    async def main():
        assert "litellm.integrations.otel.logger" not in __import__("sys").modules
        litellm.callbacks = ["otel", Done()]
        await call("covered")
        print("=== uninstrumented", flush=True)
        instrumentor.uninstrument()
        await call("uninstrumented")
        names = [s.name for s in exporter.get_finished_spans()]
        print("=== llmotel", json.dumps(names), flush=True)

    asyncio.run(main())
    """
)


def test_v2_imported_by_litellm_after_instrument(llm_stub: StubServer) -> None:
    reply(llm_stub)
    reply(llm_stub)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LITELLM_"))}
    env.update(
        STUB_URL=llm_stub.openai_base_url,
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_OTEL_V2="true",
        OTEL_EXPORTER="console",
    )
    done = subprocess.run(
        [sys.executable, "-c", APP],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    covered, rest = done.stdout.split("=== uninstrumented")
    uninstrumented, ours = rest.split("=== llmotel")
    assert '"name": "chat gpt-4o-mini"' not in covered  # V2's console export of the covered call
    assert uninstrumented.count('"name": "chat gpt-4o-mini"') == 1  # and of the uninstrumented one
    assert json.loads(ours) == ["chat gpt-4o-mini"]
