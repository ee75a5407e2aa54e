"""Fixtures: the real LLMgine bus, instrumented against in-memory providers, reset between tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from llmgine.bus.bus import MessageBus
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llmotel.instrumentation.llmgine import LLMgineInstrumentor


@pytest.fixture
def instrumentor(
    tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> Iterator[LLMgineInstrumentor]:
    """LLMgine instrumented with the fixtures' providers; uninstrumented afterwards."""
    inst = LLMgineInstrumentor()
    inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    yield inst
    inst.uninstrument()


async def _fresh_bus() -> MessageBus:
    bus = MessageBus()
    await bus.reset()
    # Per-test event loops: drop state the singleton kept from a previous test's loop.
    bus._start_stop_lock = asyncio.Lock()
    bus._prestart_events.clear()
    return bus


@pytest.fixture
async def bus(instrumentor: LLMgineInstrumentor) -> AsyncIterator[MessageBus]:
    """The (singleton) bus, reset and started, instrumented."""
    bus = await _fresh_bus()
    await bus.start()
    yield bus
    await bus.reset()


@pytest.fixture
async def plain_bus() -> AsyncIterator[MessageBus]:
    """The bus reset and started, not instrumented."""
    bus = await _fresh_bus()
    await bus.start()
    yield bus
    await bus.reset()
