"""LiteLLM's own OpenTelemetry callback (``litellm.callbacks = ["otel"]``) beside llmotel's LiteLLM
instrumentation: the llmotel span is the call's one span, the callback makes none for a call that
has one (no ``litellm_request``, no ``raw_gen_ai_request``, nothing written onto the ended llmotel
span). Without the instrumentation the callback works as LiteLLM ships it.

The callback is LiteLLM's real ``OpenTelemetry`` class, exporting to the test's span exporter;
a second, plain ``CustomLogger`` after it says when LiteLLM's logging of the call has run (LiteLLM
logs after the call returns, on its own thread)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
from litellm.integrations.custom_logger import CustomLogger
from litellm.integrations.opentelemetry import OpenTelemetry, OpenTelemetryConfig
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel.instrumentation.litellm as litellm_instrumentation
from llmotel.instrumentation.litellm import LiteLLMInstrumentor
from llmotel.testing import StubServer, Usage, error_reply, text_reply

from .conftest import OPENAI_MODEL, Instrument

MESSAGES: Any = [{"role": "user", "content": "Say hello"}]
LLMOTEL = "llmotel.instrumentation.litellm"
CALLBACK_LISTS = litellm_instrumentation._CALLBACK_LISTS  # where LiteLLM keeps its callbacks


class Logged(CustomLogger):  # type: ignore[misc]
    """``done`` is set once LiteLLM has run its success or failure callbacks for a call;
    ``call_ids`` are the ``litellm_call_id`` of the calls logged."""

    def __init__(self) -> None:
        super().__init__()
        self.done = threading.Event()
        self.call_ids: list[Any] = []

    def _logged(self, details: Any) -> None:
        self.call_ids.append(details.get("litellm_call_id"))
        self.done.set()

    def log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._logged(kwargs)

    def log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._logged(kwargs)

    async def async_log_success_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._logged(kwargs)

    async def async_log_failure_event(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._logged(kwargs)


@pytest.fixture
def logged(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> Iterator[Logged]:
    """LiteLLM's OpenTelemetry callback on the test's tracer provider, then the ``Logged`` one."""
    try:
        callback = OpenTelemetry(config=OpenTelemetryConfig(exporter=span_exporter))
    except ModuleNotFoundError as exc:  # litellm 1.74's imports the OTLP gRPC exporter
        pytest.skip(f"this litellm's OpenTelemetry callback needs {exc.name}")
    callback.tracer = tracer_provider.get_tracer("litellm")  # the test's provider, not a global
    done = Logged()
    saved = {name: getattr(litellm, name) for name in CALLBACK_LISTS}
    for name in CALLBACK_LISTS:
        setattr(litellm, name, [])
    litellm.callbacks = [callback, done]
    yield done
    for name, value in saved.items():
        setattr(litellm, name, value)


def scopes(exporter: InMemorySpanExporter, since: int = 0) -> list[tuple[str, str | None]]:
    """(name, scope) of the spans ended, of calls started from ``since`` (ns) on."""
    return sorted(
        (s.name, s.instrumentation_scope.name if s.instrumentation_scope else None)
        for s in exporter.get_finished_spans()
        if (s.start_time or 0) >= since
    )


def call(route: Any, llm_stub: StubServer, logged: Logged, *, stream: bool = False) -> None:
    llm_stub.enqueue(text_reply("Hello!", usage=Usage(input_tokens=4, output_tokens=2)))
    if stream:
        list(litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, stream=True))
    else:
        litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
    assert logged.done.wait(10)


def test_callback_alone_makes_its_spans(
    logged: Logged, route: Any, llm_stub: StubServer, span_exporter: InMemorySpanExporter
) -> None:
    call(route, llm_stub, logged)
    assert scopes(span_exporter) == [
        ("litellm_request", "litellm"),
        ("raw_gen_ai_request", "litellm"),
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["completion", "stream"])
def test_llmotel_span_is_the_one_span(
    logged: Logged,
    instrumented: LiteLLMInstrumentor,
    route: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    stream: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    call(route, llm_stub, logged, stream=stream)
    assert scopes(span_exporter) == [("chat gpt-4o-mini", LLMOTEL)]
    assert "ended span" not in caplog.text  # nothing written onto the llmotel span after its end


def test_failed_call_is_the_one_span(
    logged: Logged,
    instrumented: LiteLLMInstrumentor,
    route: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(error_reply(400))
    with pytest.raises(litellm.BadRequestError):
        litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
    assert logged.done.wait(10)
    [span] = span_exporter.get_finished_spans()
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == LLMOTEL
    assert span.attributes is not None
    assert span.attributes["error.type"] == "BadRequestError"


def test_caller_call_id_kept(
    logged: Logged,
    instrumented: LiteLLMInstrumentor,
    route: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hello!"))
    response = litellm.completion(
        **route(OPENAI_MODEL), messages=MESSAGES, litellm_call_id="caller-id"
    )
    assert logged.done.wait(10)
    assert response._hidden_params["litellm_call_id"] == "caller-id"
    assert scopes(span_exporter) == [("chat gpt-4o-mini", LLMOTEL)]


def test_uninstrument_gives_the_callback_back(
    logged: Logged,
    instrument: Instrument,
    route: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    hooks = {
        name: vars(OpenTelemetry)[name] for name in ("log_success_event", "async_log_success_event")
    }
    instrumentor = instrument()
    assert [vars(OpenTelemetry)[name] is hook for name, hook in hooks.items()] == [False, False]
    instrumentor.uninstrument()
    # by identity: a wrapt wrapper compares equal to the function it wraps
    assert [vars(OpenTelemetry)[name] is hook for name, hook in hooks.items()] == [True, True]
    call(route, llm_stub, logged)
    assert scopes(span_exporter) == [
        ("litellm_request", "litellm"),
        ("raw_gen_ai_request", "litellm"),
    ]


async def test_async_call_is_the_one_span(
    logged: Logged,
    instrumented: LiteLLMInstrumentor,
    route: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    llm_stub.enqueue(text_reply("Hello!"))
    since = time.time_ns()  # LiteLLM's async logging may still run other tests' calls now
    await litellm.acompletion(
        **route(OPENAI_MODEL), messages=MESSAGES, litellm_call_id="async-call"
    )
    for _ in range(200):  # LiteLLM logs an async call from a task of its own
        if "async-call" in logged.call_ids:
            break
        await asyncio.sleep(0.05)
    assert "async-call" in logged.call_ids
    assert scopes(span_exporter, since) == [("chat gpt-4o-mini", LLMOTEL)]


def test_no_call_id_given_without_the_callback(
    instrumented: LiteLLMInstrumentor,
    route: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    # A call given a litellm_call_id costs LiteLLM more than one that makes its own: with LiteLLM's
    # OpenTelemetry callback not registered there is nothing to mark, and the call is left as made.
    saved = {name: getattr(litellm, name) for name in CALLBACK_LISTS}
    for name in CALLBACK_LISTS:
        setattr(litellm, name, [])
    try:
        seen: list[Any] = []
        done = Logged()
        litellm.callbacks = [done]
        llm_stub.enqueue(text_reply("Hello!"))
        litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES)
        assert done.done.wait(10)
        seen.extend(done.call_ids)
    finally:
        for name, value in saved.items():
            setattr(litellm, name, value)
    [call_id] = seen
    assert call_id not in litellm_instrumentation._covered  # LiteLLM's own id, not one of ours
    assert scopes(span_exporter) == [("chat gpt-4o-mini", LLMOTEL)]


@pytest.mark.parametrize("given", ["instance", "name"])
def test_callback_given_with_the_call_is_found(
    instrumented: LiteLLMInstrumentor,
    tracer_provider: TracerProvider,
    route: Any,
    llm_stub: StubServer,
    span_exporter: InMemorySpanExporter,
    given: str,
) -> None:
    # completion(..., callbacks=[...]): LiteLLM registers the call's own callbacks as it starts
    # the call, after the instrumentation has looked at its lists; the call's arguments say it.
    saved = {name: getattr(litellm, name) for name in CALLBACK_LISTS}
    for name in CALLBACK_LISTS:
        setattr(litellm, name, [])
    try:
        done = Logged()
        litellm.callbacks = [done]
        if given == "name":
            assert litellm_instrumentation._otel_callback_registered({"callbacks": ["otel"]})
            return  # LiteLLM would build it on the global provider: the instance case runs it
        callback = OpenTelemetry(config=OpenTelemetryConfig(exporter=span_exporter))
        callback.tracer = tracer_provider.get_tracer("litellm")
        llm_stub.enqueue(text_reply("Hello!"))
        litellm.completion(**route(OPENAI_MODEL), messages=MESSAGES, callbacks=[callback])
        assert done.done.wait(10)
        assert callback in litellm.success_callback  # LiteLLM registered it for the call
    except ModuleNotFoundError as exc:  # litellm 1.74's imports the OTLP gRPC exporter
        pytest.skip(f"this litellm's OpenTelemetry callback needs {exc.name}")
    finally:
        for name, value in saved.items():
            setattr(litellm, name, value)
    [logged_id] = done.call_ids
    assert logged_id in litellm_instrumentation._covered  # the id the instrumentation gave it
    assert scopes(span_exporter) == [("chat gpt-4o-mini", LLMOTEL)]


def test_callback_named_before_the_first_call_is_found() -> None:
    saved = litellm.callbacks
    try:
        litellm.callbacks = ["otel"]
        assert litellm_instrumentation._otel_callback_registered()
        litellm.callbacks = [Logged()]
        assert not litellm_instrumentation._otel_callback_registered()
    finally:
        litellm.callbacks = saved
