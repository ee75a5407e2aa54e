"""Stress: N concurrent commands on the real LLMgine ``MessageBus``: where the longest event-loop stall comes from.

``asyncio.gather`` of N ``bus.execute(...)`` runs the first step of all N tasks in ONE loop iteration, so the
longest stall is N x (the work of one step) plus whatever garbage collection lands in that iteration. This
scenario measures both parts separately, per mode, in rotating rounds of one process:

- ``plain``: the bus uninstrumented;
- ``not sampled``: instrumented, ``ALWAYS_OFF`` sampler (the wrappers, context carrying and metrics only);
- ``recorded``: instrumented, spans recorded and batched (``BatchSpanProcessor`` to an exporter that drops them);
- ``recorded + gc.freeze``: as ``recorded``, with the start-up heap frozen (``gc.freeze()``), the CPython
  remedy for long full collections.

Per round it records the CPU time of the longest loop iteration (``time.thread_time``, which load from other
processes does not inflate), the wall time of that iteration, the longest lateness of a 1 ms probe task, how many
collections ran, how many of them were full (generation 2) and the longest collection pause. Medians are printed.

    python stress/stress_llmgine.py [--commands 1000] [--rounds 12] [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.base_events
import gc
import json
import logging
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgine.bus.bus import MessageBus
from llmgine.messages.commands import Command, CommandResult
from llmgine.messages.events import Event
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from llmotel.instrumentation.llmgine import LLMgineInstrumentor

PROBE_INTERVAL = 0.001


@dataclass
class Work(Command):
    pass


@dataclass
class Worked(Event):
    pass


class _DropExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _LoopMeter:
    """CPU and wall time of every event-loop iteration, and every collector pause, while on."""

    def __init__(self) -> None:
        self.iterations: list[tuple[float, float]] = []
        self.collections: list[tuple[float, int]] = []
        self._gc_start = 0.0
        self.on = False
        run_once = asyncio.base_events.BaseEventLoop._run_once  # type: ignore[attr-defined]
        meter = self

        def timed_run_once(loop: Any) -> None:
            if not meter.on:
                run_once(loop)
                return
            wall, cpu = time.perf_counter(), time.thread_time()
            run_once(loop)
            meter.iterations.append((time.thread_time() - cpu, time.perf_counter() - wall))

        asyncio.base_events.BaseEventLoop._run_once = timed_run_once  # type: ignore[attr-defined]
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.collections.append((time.perf_counter() - self._gc_start, info["generation"]))

    def reset(self) -> None:
        self.iterations.clear()
        self.collections.clear()


async def _work(cmd: Command) -> CommandResult:
    await asyncio.sleep(0)
    return CommandResult(success=True, command_id=cmd.command_id)


async def _worked(event: Event) -> None:
    await asyncio.sleep(0)


async def one_round(bus: MessageBus, meter: _LoopMeter, commands: int) -> dict[str, float]:
    lags: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(PROBE_INTERVAL)
            lags.append(time.perf_counter() - before - PROBE_INTERVAL)

    async def command() -> None:
        await bus.execute(Work())
        await bus.publish(Worked(), await_processing=False)

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0)
    meter.reset()
    meter.on = True
    await asyncio.gather(*(command() for _ in range(commands)))
    await bus.wait_for_events()
    meter.on = False
    done.set()
    await prober
    cpu, wall = max(meter.iterations)
    pauses = [p for p, _ in meter.collections] or [0.0]
    return {
        "longest_iteration_cpu_ms": cpu * 1e3,
        "longest_iteration_wall_ms": wall * 1e3,
        "probe_lag_max_ms": max(lags) * 1e3,
        "collections": len(meter.collections),
        "full_collections": sum(1 for _, gen in meter.collections if gen == 2),
        "longest_collection_ms": max(pauses) * 1e3,
    }


async def run(commands: int, rounds: int) -> dict[str, dict[str, float]]:
    logging.disable(logging.WARNING)  # LLMgine logs every start/stop at INFO and more
    meter = _LoopMeter()
    meter_provider = MeterProvider([InMemoryMetricReader()])
    recorded = TracerProvider()
    recorded.add_span_processor(BatchSpanProcessor(_DropExporter()))
    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    inline = TracerProvider()
    inline.add_span_processor(SimpleSpanProcessor(_DropExporter()))
    modes: dict[str, tuple[TracerProvider | None, bool]] = {
        "plain": (None, False),
        "not sampled": (unsampled, False),
        "recorded, inline export": (inline, False),
        "recorded": (recorded, False),
        "recorded + gc.freeze": (recorded, True),
    }
    inst = LLMgineInstrumentor()
    bus = MessageBus()
    await bus.reset()
    await bus.start()
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in modes}
    try:
        bus.register_command_handler(Work, _work)
        bus.register_event_handler(Worked, _worked)
        names = list(modes)
        for i in range(rounds + 1):  # round 0 warms every path up and is dropped
            shift = i % len(names)
            for name in names[shift:] + names[:shift]:
                provider, freeze = modes[name]
                if provider is not None:
                    inst.instrument(tracer_provider=provider, meter_provider=meter_provider)
                gc.collect()
                if freeze:
                    gc.freeze()
                try:
                    row = await one_round(bus, meter, commands)
                finally:
                    if freeze:
                        gc.unfreeze()
                    if provider is not None:
                        inst.uninstrument()
                if i:
                    rows[name].append(row)
    finally:
        await bus.stop()
        recorded.shutdown()
        inline.shutdown()
        unsampled.shutdown()
        meter_provider.shutdown()
    return {
        name: {key: statistics.median(r[key] for r in values) for key in values[0]}
        for name, values in rows.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--out", type=Path)
    args, _ = parser.parse_known_args(
        argv
    )  # the stress session passes the same options to every script
    results = asyncio.run(run(args.commands, args.rounds))
    print(
        f"llmgine: {args.commands} concurrent commands (each: execute + one event), "
        f"median of {args.rounds} rotating rounds"
    )
    header = (
        f"{'mode':<24}{'iter CPU ms':>12}{'iter wall ms':>13}{'probe lag ms':>13}"
        f"{'GCs':>6}{'full':>6}{'longest GC ms':>15}"
    )
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        print(
            f"{name:<24}{row['longest_iteration_cpu_ms']:>12.1f}{row['longest_iteration_wall_ms']:>13.1f}"
            f"{row['probe_lag_max_ms']:>13.1f}{row['collections']:>6.0f}{row['full_collections']:>6.1f}"
            f"{row['longest_collection_ms']:>15.1f}"
        )
    if args.out:
        args.out.write_text(
            json.dumps(
                {"scenario": "llmgine_loop_stall", "commands": args.commands, **results}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
