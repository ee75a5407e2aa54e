"""10k concurrent bus sessions: every span started is ended, nothing is retained, memory is flat."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass

import pytest
from llmgine.bus.bus import MessageBus
from llmgine.messages.commands import Command, CommandResult
from llmgine.messages.events import Event
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from llmotel.instrumentation.llmgine import LLMgineInstrumentor
from llmotel.instrumentation.llmgine._names import METRIC_COMMAND_DURATION
from llmotel.testing import metric_points

SESSIONS = 10_000


@dataclass
class Work(Command):
    pass


@dataclass
class Done(Event):
    pass


class CountingProcessor(SpanProcessor):
    """Counts span starts and ends; keeps no span."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started += 1

    def on_end(self, span: ReadableSpan) -> None:
        self.ended += 1


async def _round(bus: MessageBus, n: int, offset: int) -> None:
    async def one(i: int) -> None:
        async with bus.session(f"s-{offset + i}") as session:
            result = await session.execute_with_session(Work())
            assert result.success
            await bus.publish(Done(session_id=session.session_id), await_processing=False)

    await asyncio.gather(*(one(i) for i in range(n)))
    await bus.wait_for_events()


async def _work(cmd: Command) -> CommandResult:
    return CommandResult(success=True, command_id=cmd.command_id)


async def _done(event: Event) -> None:
    await asyncio.sleep(0)


@pytest.mark.slow
async def test_10k_concurrent_sessions(
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    counter = CountingProcessor()
    provider = TracerProvider()
    provider.add_span_processor(counter)
    inst = LLMgineInstrumentor()
    inst.instrument(tracer_provider=provider, meter_provider=meter_provider)
    bus = MessageBus()
    await bus.reset()
    bus._start_stop_lock = asyncio.Lock()
    bus.set_batch_processing(100, 0.01)
    await bus.start()
    try:
        bus.register_command_handler(Work, _work)
        bus.register_event_handler(Done, _done)
        await _round(bus, 1_000, 0)  # warm caches, the meter's attribute sets, the registry
        await bus.stop()  # the processing loop keeps its last batch of events referenced
        metric_reader.get_metrics_data()  # a reader collects (the duration points wait for it)
        gc.collect()
        objects_before = len(gc.get_objects())
        await bus.start()
        await _round(bus, SESSIONS, 1_000)
        await bus.stop()
        [(_, commands)] = metric_points(metric_reader, METRIC_COMMAND_DURATION)
        assert commands.count == 1_000 + SESSIONS
        gc.collect()
        objects_after = len(gc.get_objects())
        telemetry = inst.telemetry
        assert telemetry is not None
        # Every session, command, publish and handler span that was started has ended.
        assert counter.started == counter.ended == 4 * (1_000 + SESSIONS)
        assert telemetry.open_sessions == 0
        assert len(telemetry.carrier) == 0
        assert len(telemetry.failures) == 0
        assert not [o for o in gc.get_objects() if isinstance(o, Span)]
        # Flat: 10k sessions later the heap holds (about) as many objects as before.
        assert objects_after - objects_before < 1_000, (objects_before, objects_after)
    finally:
        await bus.reset()
        inst.uninstrument()
        provider.shutdown()
