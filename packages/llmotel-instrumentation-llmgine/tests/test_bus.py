"""Span trees, attributes and metrics of the instrumented LLMgine bus (the real ``MessageBus``)."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from llmgine.bus.bus import MessageBus
from llmgine.bus.interfaces import EventFilter
from llmgine.bus.session import BusSession, SessionEndEvent, SessionStartEvent
from llmgine.llm.tools.tool_events import ToolExecuteResultEvent
from llmgine.messages.commands import Command, CommandResult
from llmgine.messages.events import (
    CommandResultEvent,
    CommandStartedEvent,
    Event,
    EventHandlerFailedEvent,
)
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from llmotel.instrumentation.llmgine import LLMgineInstrumentor
from llmotel.semconv.context import get_context_attributes
from llmotel.testing import check_patched_on_import


@dataclass
class Ask(Command):
    question: str = ""


@dataclass
class Nested(Command):
    pass


@dataclass
class Noted(Event):
    text: str = ""


Tree = list[tuple[str, str, "Tree"]]


def span_tree(spans: Sequence[ReadableSpan]) -> Tree:
    """The spans as ``[(name, KIND, children)]``; siblings ordered by name, then start time.

    Fails when a span's parent is neither absent nor among ``spans`` (a dangling parent).
    """
    ids = {s.context.span_id for s in spans}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for s in spans:
        parent = s.parent.span_id if s.parent is not None else None
        assert parent is None or parent in ids, f"{s.name}: parent not among the spans"
        children[parent].append(s)

    def render(span: ReadableSpan) -> tuple[str, str, Tree]:
        kids = sorted(children[span.context.span_id], key=lambda c: (c.name, c.start_time or 0))
        return (span.name, span.kind.name, [render(k) for k in kids])

    roots = sorted(children[None], key=lambda c: (c.name, c.start_time or 0))
    return [render(r) for r in roots]


def by_name(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    """The one span called ``name``."""
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{len(found)} spans named {name!r}: {[s.name for s in spans]}"
    return found[0]


def metric_points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, object], float]]:
    """``(attributes, value)`` of each point of metric ``name`` (sum, or histogram count)."""
    data = reader.get_metrics_data()
    out: list[tuple[dict[str, object], float]] = []
    if data is None:
        return out
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name != name:
                    continue
                for p in metric.data.data_points:
                    value = getattr(p, "value", None)
                    if value is None:
                        value = p.count  # type: ignore[union-attr]
                    out.append((dict(p.attributes or {}), value))
    return sorted(out, key=lambda item: sorted(item[0].items()))


async def answer(cmd: Command) -> CommandResult:
    return CommandResult(success=True, command_id=cmd.command_id, result="42")


# --- commands -----------------------------------------------------------------------------------


async def test_command_span_and_its_lifecycle_events(
    bus: MessageBus, span_exporter: InMemorySpanExporter, metric_reader: InMemoryMetricReader
) -> None:
    seen: list[str] = []

    async def on_started(event: Event) -> None:
        seen.append("started")

    async def on_result(event: Event) -> None:
        seen.append("result")

    bus.register_command_handler(Ask, answer)
    bus.register_event_handler(CommandStartedEvent, on_started)
    bus.register_event_handler(CommandResultEvent, on_result)
    cmd = Ask(question="?")
    result = await bus.execute(cmd)
    await bus.wait_for_events()

    assert result.success
    assert result.result == "42"
    assert seen == ["started", "result"]
    spans = span_exporter.get_finished_spans()
    assert span_tree(spans) == [
        (
            "execute Ask",
            "INTERNAL",
            [
                ("process CommandResultEvent", "CONSUMER", []),
                ("process CommandStartedEvent", "CONSUMER", []),
            ],
        )
    ]
    execute = by_name(spans, "execute Ask")
    assert dict(execute.attributes or {}) == {
        "llmgine.command.type": "Ask",
        "llmgine.command.id": cmd.command_id,
        "llmgine.command.success": True,
    }
    assert execute.status.status_code is StatusCode.UNSET
    process = by_name(spans, "process CommandStartedEvent")
    attrs = dict(process.attributes or {})
    assert attrs["messaging.system"] == "llmgine"
    assert attrs["messaging.operation.type"] == "process"
    assert attrs["messaging.destination.name"] == "CommandStartedEvent"
    assert attrs["llmgine.handler.name"].endswith("on_started")
    assert "session.id" not in attrs  # "BUS" is LLMgine's "no session", not a session id
    assert metric_points(metric_reader, "llmgine.bus.command.duration") == [
        ({"llmgine.command.type": "Ask"}, 1)
    ]
    events = metric_points(metric_reader, "llmgine.bus.handler.duration")
    assert [(a["llmgine.event.type"], v) for a, v in events] == [
        ("CommandResultEvent", 1),
        ("CommandStartedEvent", 1),
    ]


async def test_command_handler_raising(
    bus: MessageBus, span_exporter: InMemorySpanExporter, metric_reader: InMemoryMetricReader
) -> None:
    async def broken(cmd: Command) -> CommandResult:
        raise RuntimeError("handler broke")

    bus.register_command_handler(Ask, broken)
    result = await bus.execute(Ask())

    assert not result.success
    assert result.error == "RuntimeError: handler broke"
    (span,) = span_exporter.get_finished_spans()
    assert span.name == "execute Ask"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "handler broke"
    assert span.attributes is not None
    assert span.attributes["error.type"] == "RuntimeError"
    assert span.attributes["llmgine.command.success"] is False
    assert [e.name for e in span.events] == ["exception"]
    assert metric_points(metric_reader, "llmgine.bus.command.duration") == [
        ({"llmgine.command.type": "Ask", "error.type": "RuntimeError"}, 1)
    ]


async def test_command_without_handler(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    result = await bus.execute(Ask())

    assert not result.success
    assert result.error == "No handler registered for command Ask"
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "no_handler"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "No handler registered for command Ask"
    assert not span.events


async def test_command_handler_returning_failure(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    async def refuse(cmd: Command) -> CommandResult:
        return CommandResult(success=False, command_id=cmd.command_id, error="not today")

    bus.register_command_handler(Ask, refuse)
    await bus.execute(Ask())

    (span,) = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["error.type"] == "command_failed"
    assert span.status.description == "not today"


async def test_nested_command_is_a_child(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    async def outer(cmd: Command) -> CommandResult:
        return await bus.execute(Nested())

    bus.register_command_handler(Ask, outer)
    bus.register_command_handler(Nested, answer)
    result = await bus.execute(Ask())

    assert result.success
    assert span_tree(span_exporter.get_finished_spans()) == [
        ("execute Ask", "INTERNAL", [("execute Nested", "INTERNAL", [])])
    ]


async def test_sync_handlers_are_named_after_the_function(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    def note(event: Event) -> None:
        pass

    bus.register_event_handler(Noted, note)
    await bus.publish(Noted())

    process = by_name(span_exporter.get_finished_spans(), "process Noted")
    assert process.attributes is not None
    assert process.attributes["llmgine.handler.name"].endswith(".note")


# --- events -------------------------------------------------------------------------------------


async def test_event_handlers_are_children_of_the_publish_span(
    bus: MessageBus, span_exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    current: list[trace.Span] = []

    async def first(event: Event) -> None:
        current.append(trace.get_current_span())

    async def second(event: Event) -> None:
        current.append(trace.get_current_span())

    bus.register_event_handler(Noted, first)
    bus.register_event_handler(Noted, second)
    event = Noted(text="hi")
    with tracer_provider.get_tracer("app").start_as_current_span("request"):
        await bus.publish(event)

    spans = span_exporter.get_finished_spans()
    assert span_tree(spans) == [
        (
            "request",
            "INTERNAL",
            [
                (
                    "publish Noted",
                    "PRODUCER",
                    [("process Noted", "CONSUMER", []), ("process Noted", "CONSUMER", [])],
                )
            ],
        )
    ]
    publish = by_name(spans, "publish Noted")
    assert dict(publish.attributes or {}) == {
        "messaging.system": "llmgine",
        "messaging.operation.type": "send",
        "messaging.operation.name": "publish",
        "messaging.destination.name": "Noted",
        "messaging.message.id": event.event_id,
    }
    processes = [s for s in spans if s.name == "process Noted"]
    # Inside each handler the current span is its own process span.
    assert {s.get_span_context().span_id for s in current} == {s.context.span_id for s in processes}
    names = sorted(str((s.attributes or {})["llmgine.handler.name"]) for s in processes)
    assert [name.rsplit(".", 1)[-1] for name in names] == ["first", "second"]


async def test_publish_without_waiting(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    async def handle(event: Event) -> None:
        pass

    bus.register_event_handler(Noted, handle)
    await bus.publish(Noted(), await_processing=False)
    await bus.wait_for_events()

    assert span_tree(span_exporter.get_finished_spans()) == [
        ("publish Noted", "PRODUCER", [("process Noted", "CONSUMER", [])])
    ]


async def test_event_handler_raising(
    bus: MessageBus, span_exporter: InMemorySpanExporter, metric_reader: InMemoryMetricReader
) -> None:
    failures: list[EventHandlerFailedEvent] = []

    async def broken(event: Event) -> None:
        raise ValueError("bad event")

    async def on_failure(event: Event) -> None:
        assert isinstance(event, EventHandlerFailedEvent)
        failures.append(event)

    bus.register_event_handler(Noted, broken)
    bus.register_event_handler(EventHandlerFailedEvent, on_failure)
    await bus.publish(Noted())
    await bus.wait_for_events()

    assert [type(e.exception) for e in failures] == [ValueError]
    assert [type(e) for e in bus.event_handler_errors] == [ValueError]
    spans = span_exporter.get_finished_spans()
    assert span_tree(spans) == [
        (
            "publish Noted",
            "PRODUCER",
            [
                (
                    "process Noted",
                    "CONSUMER",
                    [("process EventHandlerFailedEvent", "CONSUMER", [])],
                )
            ],
        )
    ]
    failed = by_name(spans, "process Noted")
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "ValueError"
    assert [e.name for e in failed.events] == ["exception"]
    assert by_name(spans, "publish Noted").status.status_code is StatusCode.UNSET
    points = metric_points(metric_reader, "llmgine.bus.handler.duration")
    assert sorted((a["llmgine.event.type"], a.get("error.type"), v) for a, v in points) == [
        ("EventHandlerFailedEvent", None, 1),
        ("Noted", "ValueError", 1),
    ]


async def test_event_handler_error_surfaced_to_publisher(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    async def broken(event: Event) -> None:
        raise ValueError("bad event")

    bus.register_event_handler(Noted, broken)
    bus.unsuppress_event_errors()
    with pytest.raises(ValueError, match="bad event"):
        await bus.publish(Noted())

    publish = by_name(span_exporter.get_finished_spans(), "publish Noted")
    assert publish.status.status_code is StatusCode.ERROR
    assert (publish.attributes or {})["error.type"] == "ValueError"


async def test_events_published_before_start(
    instrumentor: LLMgineInstrumentor,
    span_exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
) -> None:
    bus = MessageBus()
    await bus.reset()
    bus._prestart_events.clear()
    handled: list[str] = []

    async def handle(event: Event) -> None:
        handled.append("noted")

    bus.register_event_handler(Noted, handle)
    with tracer_provider.get_tracer("app").start_as_current_span("before start"):
        await bus.publish(Noted())
    assert handled == []
    await bus.start()
    try:
        await bus.wait_for_events()
    finally:
        await bus.reset()

    assert handled == ["noted"]
    assert span_tree(span_exporter.get_finished_spans()) == [
        (
            "before start",
            "INTERNAL",
            [("publish Noted", "PRODUCER", [("process Noted", "CONSUMER", [])])],
        )
    ]


class DropNoted(EventFilter):
    def should_handle(self, event: Event, session_id: str) -> bool:
        return not isinstance(event, Noted)


async def test_filtered_events(
    bus: MessageBus, span_exporter: InMemorySpanExporter, instrumentor: LLMgineInstrumentor
) -> None:
    handled: list[Event] = []

    async def handle(event: Event) -> None:
        handled.append(event)

    bus.register_event_handler(Noted, handle)
    bus.add_event_filter(DropNoted())
    await bus.publish(Noted())

    assert handled == []
    assert span_tree(span_exporter.get_finished_spans()) == [("publish Noted", "PRODUCER", [])]
    gc.collect()
    telemetry = instrumentor.telemetry
    assert telemetry is not None
    assert len(telemetry.carrier) == 0  # the dropped event was collected, its entry with it


async def test_event_not_carried_is_a_root(
    bus: MessageBus, span_exporter: InMemorySpanExporter, tracer_provider: TracerProvider
) -> None:
    """An event put on the queue behind the bus's back has no publisher context: a root span,
    not a child of whatever span was current when the bus was started."""

    async def handle(event: Event) -> None:
        pass

    bus.register_event_handler(Noted, handle)
    queue = bus._event_queue
    assert queue is not None
    with tracer_provider.get_tracer("app").start_as_current_span("unrelated"):
        await queue.put(Noted())
    await bus.wait_for_events()

    assert span_tree(span_exporter.get_finished_spans()) == [
        ("process Noted", "CONSUMER", []),
        ("unrelated", "INTERNAL", []),
    ]


# --- sessions -----------------------------------------------------------------------------------


async def test_session_tree(bus: MessageBus, span_exporter: InMemorySpanExporter) -> None:
    in_handler: list[object] = []

    async def handler(cmd: Command) -> CommandResult:
        in_handler.append(get_context_attributes().get("session.id"))
        return await answer(cmd)

    async def on_session_event(event: Event) -> None:
        pass

    bus.register_event_handler(SessionStartEvent, on_session_event)
    bus.register_event_handler(SessionEndEvent, on_session_event)
    async with bus.session("s-1") as session:
        session.register_command_handler(Ask, handler)
        result = await session.execute_with_session(Ask())
    assert result.success
    assert in_handler == ["s-1"]

    spans = span_exporter.get_finished_spans()
    assert span_tree(spans) == [
        (
            "llmgine session",
            "INTERNAL",
            [
                ("execute Ask", "INTERNAL", []),
                ("process SessionEndEvent", "CONSUMER", []),
                ("process SessionStartEvent", "CONSUMER", []),
            ],
        )
    ]
    assert {(s.attributes or {}).get("session.id") for s in spans} == {"s-1"}
    assert all(s.status.status_code is StatusCode.UNSET for s in spans)


async def test_session_as_context_manager_of_its_own(
    bus: MessageBus, span_exporter: InMemorySpanExporter, instrumentor: LLMgineInstrumentor
) -> None:
    async with bus.create_session("s-2") as session:
        assert get_context_attributes().get("session.id") == "s-2"
        await bus.publish(Noted(session_id=session.session_id))
    assert get_context_attributes().get("session.id") is None
    assert trace.get_current_span() is trace.INVALID_SPAN

    assert span_tree(span_exporter.get_finished_spans()) == [
        ("llmgine session", "INTERNAL", [("publish Noted", "PRODUCER", [])])
    ]
    assert instrumentor.telemetry is not None
    assert instrumentor.telemetry.open_sessions == 0


async def test_session_start_and_end_calls(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    session = BusSession("s-3")
    await session.start()
    assert get_context_attributes().get("session.id") == "s-3"
    await bus.publish(Noted())
    await session.end()
    await session.end()  # ending twice is a no-op, as in LLMgine
    assert get_context_attributes().get("session.id") is None

    assert span_tree(span_exporter.get_finished_spans()) == [
        ("llmgine session", "INTERNAL", [("publish Noted", "PRODUCER", [])])
    ]


async def test_session_body_raising(bus: MessageBus, span_exporter: InMemorySpanExporter) -> None:
    with pytest.raises(KeyError):
        async with bus.create_session("s-4"):
            raise KeyError("boom")

    (span,) = span_exporter.get_finished_spans()
    assert span.name == "llmgine session"
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "KeyError"


async def test_bus_session_body_raising(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    async def body() -> None:
        async with bus.session("s-5"):
            await bus.publish(Noted())
            raise KeyError("boom")

    with pytest.raises(KeyError):
        await body()

    spans = span_exporter.get_finished_spans()
    assert span_tree(spans) == [
        ("llmgine session", "INTERNAL", [("publish Noted", "PRODUCER", [])])
    ]
    session = by_name(spans, "llmgine session")
    assert session.status.status_code is StatusCode.ERROR
    assert (session.attributes or {})["error.type"] == "KeyError"
    assert [e.name for e in session.events] == ["exception"]
    assert get_context_attributes().get("session.id") is None


# --- tools --------------------------------------------------------------------------------------


async def test_tool_result_event(bus: MessageBus, span_exporter: InMemorySpanExporter) -> None:
    async def handle(event: Event) -> None:
        pass

    bus.register_event_handler(ToolExecuteResultEvent, handle)
    await bus.publish(
        ToolExecuteResultEvent(
            tool_name="get_weather",
            tool_call_id="call_1",
            tool_info={"type": "function"},
            tool_args={"city": "Oslo"},
            tool_result="sunny",
            execution_succeed=True,
        )
    )

    spans = span_exporter.get_finished_spans()
    assert span_tree(spans) == [
        (
            "execute_tool get_weather",
            "INTERNAL",
            [("process ToolExecuteResultEvent", "CONSUMER", [])],
        )
    ]
    tool = by_name(spans, "execute_tool get_weather")
    assert dict(tool.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.type": "function",
    }
    assert tool.status.status_code is StatusCode.UNSET


async def test_tool_content_and_failure(
    span_exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    meter_provider: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    inst = LLMgineInstrumentor()
    inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    bus = MessageBus()
    await bus.reset()
    await bus.start()
    try:
        await bus.publish(
            ToolExecuteResultEvent(tool_name="calc", tool_args={"x": 1}, tool_result="2")
        )
        await bus.publish(
            ToolExecuteResultEvent(
                tool_name="calc", tool_args={"x": 2}, tool_result="4", execution_succeed=True
            )
        )
    finally:
        await bus.reset()
        inst.uninstrument()

    failed, ok = span_exporter.get_finished_spans()
    assert dict(failed.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "calc",
        "gen_ai.tool.call.arguments": '{"x": 1}',
        "error.type": "tool_failed",
    }
    assert failed.status.status_code is StatusCode.ERROR
    assert (ok.attributes or {})["gen_ai.tool.call.result"] == "4"


async def test_a_bad_content_setting_warns_at_instrument_and_captures_nothing(
    span_exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    meter_provider: object,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "everything")
    inst = LLMgineInstrumentor()
    with caplog.at_level("WARNING", logger="llmotel.instrumentation.llmgine"):
        inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert [r.getMessage() for r in caplog.records] == [
        "llmgine instrumentation: bad content-capture setting"
    ]
    bus = MessageBus()
    await bus.reset()
    await bus.start()
    try:
        await bus.publish(ToolExecuteResultEvent(tool_name="calc", tool_args={"x": 1}))
    finally:
        await bus.reset()
        inst.uninstrument()
    [tool] = span_exporter.get_finished_spans()
    assert "gen_ai.tool.call.arguments" not in (tool.attributes or {})


# --- instrument / uninstrument ------------------------------------------------------------------


async def test_bus_created_after_instrument(
    span_exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    meter_provider: object,
) -> None:
    MessageBus._instance = None
    inst = LLMgineInstrumentor()
    inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        bus = MessageBus()
        await bus.start()
        bus.register_command_handler(Ask, answer)
        await bus.execute(Ask())
        await bus.reset()
    finally:
        inst.uninstrument()
    assert [s.name for s in span_exporter.get_finished_spans()] == ["execute Ask"]


async def test_uninstrument_restores_the_bus(
    span_exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    meter_provider: object,
) -> None:
    originals = {name: getattr(MessageBus, name) for name in ("execute", "publish")}
    session_exit = BusSession.__aexit__
    inst = LLMgineInstrumentor()
    inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert MessageBus.execute is not originals["execute"]
    inst.uninstrument()

    assert {name: getattr(MessageBus, name) for name in originals} == originals
    assert BusSession.__aexit__ is session_exit
    bus = MessageBus()
    await bus.reset()
    await bus.start()
    try:
        bus.register_command_handler(Ask, answer)
        async with bus.session():
            await bus.execute(Ask())
            await bus.publish(Noted())
    finally:
        await bus.reset()
    assert span_exporter.get_finished_spans() == ()


def test_patched_when_the_application_imports_llmgine() -> None:
    # Installed but never imported, llmgine costs no start-up time under opentelemetry-instrument.
    check_patched_on_import(
        "llmotel.instrumentation.llmgine:LLMgineInstrumentor",
        "llmgine",
        "llmgine.bus.bus:MessageBus.execute",
    )


async def test_same_outcomes_as_the_plain_bus(
    span_exporter: InMemorySpanExporter,
    tracer_provider: TracerProvider,
    meter_provider: object,
) -> None:
    """The same scenario, plain then instrumented: results, handler calls and errors are equal."""

    async def scenario() -> list[object]:
        bus = MessageBus()
        await bus.reset()
        calls: list[object] = []

        async def broken(cmd: Command) -> CommandResult:
            raise RuntimeError("x")

        async def on_event(event: Event) -> None:
            calls.append(type(event).__name__)
            if isinstance(event, Noted) and event.text == "raise":
                raise ValueError("y")

        for etype in (Noted, CommandStartedEvent, CommandResultEvent, EventHandlerFailedEvent):
            bus.register_event_handler(etype, on_event)
        await bus.publish(Noted(text="early"))
        await bus.start()
        try:
            bus.register_command_handler(Ask, answer)
            bus.register_command_handler(Nested, broken)
            async with bus.session("s"):
                for cmd in (Ask(), Nested(), Noted()):
                    if isinstance(cmd, Command):
                        r = await bus.execute(cmd)
                        calls.append((r.success, r.result, (r.error or "")[:20]))
                await bus.publish(Noted(text="raise"))
            await bus.wait_for_events()
            calls.append([type(e).__name__ for e in bus.event_handler_errors])
        finally:
            await bus.reset()
        return calls

    plain = await scenario()
    inst = LLMgineInstrumentor()
    inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        instrumented = await scenario()
    finally:
        inst.uninstrument()
    assert instrumented == plain
    assert span_exporter.get_finished_spans()


# --- faults inside the instrumentation ----------------------------------------------------------


@dataclass(slots=True)
class Slotted(Event):
    """Slots, no ``__dict__`` of its own: no attribute could be added, yet it is carried."""


async def test_slotted_event_is_carried(
    bus: MessageBus, span_exporter: InMemorySpanExporter
) -> None:
    handled: list[Event] = []

    async def handle(event: Event) -> None:
        handled.append(event)

    bus.register_event_handler(Slotted, handle)
    await bus.publish(Slotted())

    assert len(handled) == 1
    assert span_tree(span_exporter.get_finished_spans()) == [
        ("publish Slotted", "PRODUCER", [("process Slotted", "CONSUMER", [])])
    ]


class _BrokenTracer(trace.Tracer):
    def start_span(self, *args: object, **kwargs: object) -> trace.Span:
        raise RuntimeError("tracer broke")

    def start_as_current_span(self, *args: object, **kwargs: object) -> Any:
        raise RuntimeError("tracer broke")


class _BrokenTracerProvider(trace.TracerProvider):
    def get_tracer(self, *args: object, **kwargs: object) -> trace.Tracer:
        return _BrokenTracer()


async def test_a_failing_tracer_never_reaches_the_bus(
    meter_provider: object, caplog: pytest.LogCaptureFixture
) -> None:
    inst = LLMgineInstrumentor()
    inst.instrument(tracer_provider=_BrokenTracerProvider(), meter_provider=meter_provider)
    bus = MessageBus()
    await bus.reset()
    await bus.start()
    handled: list[Event] = []

    async def handle(event: Event) -> None:
        handled.append(event)

    try:
        bus.register_command_handler(Ask, answer)
        bus.register_event_handler(Noted, handle)
        async with bus.session("s-6") as session:
            result = await session.execute_with_session(Ask())
            await bus.publish(Noted())
            await bus.publish(ToolExecuteResultEvent(tool_name="t"))
    finally:
        await bus.reset()
        inst.uninstrument()

    assert result.success
    assert len(handled) == 1
    warnings = [r for r in caplog.records if "llmgine instrumentation failed" in r.getMessage()]
    assert warnings  # logged, once per kind
    assert len({r.getMessage() for r in warnings}) == len(warnings)
