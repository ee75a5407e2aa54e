"""What llmotel's LLMgine instrumentation adds to the real ``MessageBus``.

    python benchmarks/bench_llmgine.py [--out results.json] [--quick]

Two workloads, each run plain and instrumented in alternating rounds of one process (the
instrumentor patches classes, so ``instrument()``/``uninstrument()`` between rounds switches it):

1. Command round trip: ``await bus.execute(Ping())`` with a handler that returns at once (time per
   command). Instrumented, that is one ``execute Ping`` span and two metric points.
2. Burst: 1000 events published with ``await_processing=False`` (yielding to the loop after each),
   one handler each, until the queue has drained (time per burst). Instrumented: 1000 ``publish``
   and 1000 ``process`` spans. While the burst runs a probe task sleeps 1 ms at a time; how late it
   wakes up is the event-loop lag (the longest stretch the loop could not run other tasks).

Three modes per round, in rotating order: plain, instrumented (spans recorded by the SDK through a
``SimpleSpanProcessor`` to an exporter that drops them, metrics into an ``InMemoryMetricReader``
that collects at the end of each workload, inside its timing: llmotel records its points then)
and instrumented with an ``ALWAYS_OFF`` sampler (what the wrappers, the context carrying and the
metrics cost without span recording). A fourth mode, the *SDK floor*, runs the plain bus whose
handlers make the telemetry of the instrumented mode themselves with bare SDK calls (per command
one span with the execute span's attributes, made current and ended, plus one histogram point; per
event a publish and a process span and one point): in the same place and cache conditions, what
the SDK charges for what is recorded, so the report can say how much of the added time is the
instrumentation's own. Times are CPU time of the process (``time.process_time``),
which other load on a shared machine disturbs far less than wall time; wall time is in the JSON.
"added" is the median over rounds of (mode / plain of the same round) - 1; target: <= 20 %.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llmgine.bus.bus import MessageBus
from llmgine.messages.commands import Command, CommandResult
from llmgine.messages.events import Event
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import Histogram
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Span, SpanKind, Tracer

from llmotel.instrumentation.llmgine import LLMgineInstrumentor

TARGET_ADDED_PCT = 20.0
#: The instrumentation's advisory buckets (0.1 ms to 120 s), for the floor's histogram.
BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
BURST = 1000
PROBE_INTERVAL = 0.001


@dataclass
class Ping(Command):
    pass


@dataclass
class Tick(Event):
    n: int = 0


class _DropExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


#: Set during the "sdk floor" mode: the handlers of the plain bus make the SDK calls themselves.
_FLOOR: tuple[Tracer, Histogram] | None = None


def _sdk_span(tracer: Tracer, name: str, kind: SpanKind, attrs: dict[str, Any]) -> Span:
    span = tracer.start_span(name, kind=kind, attributes=attrs)
    otel_context.detach(otel_context.attach(trace.set_span_in_context(span)))
    span.end()
    return span


def _floor_command(cmd: Command, tracer: Tracer, histogram: Histogram) -> None:
    """What one ``execute`` costs the SDK: its span (attributes, made current, ended) and one
    histogram point."""
    start = time.perf_counter()
    span = _sdk_span(
        tracer,
        "execute Ping",
        SpanKind.INTERNAL,
        {"llmgine.command.type": "Ping", "llmgine.command.id": str(cmd.command_id)},
    )
    span.set_attribute("llmgine.command.success", True)
    histogram.record(time.perf_counter() - start, {"llmgine.command.type": "Ping"})


def _floor_event(event: Event, tracer: Tracer, histogram: Histogram) -> None:
    """What one published and handled event costs the SDK: a publish and a process span and one
    histogram point."""
    start = time.perf_counter()
    base: dict[str, Any] = {
        "messaging.system": "llmgine",
        "messaging.destination.name": "Tick",
        "messaging.message.id": str(event.event_id),
    }
    send = {"messaging.operation.type": "send", "messaging.operation.name": "publish"}
    process = {"messaging.operation.type": "process", "messaging.operation.name": "process"}
    _sdk_span(tracer, "publish Tick", SpanKind.PRODUCER, {**base, **send})
    _sdk_span(
        tracer,
        "process Tick",
        SpanKind.CONSUMER,
        {**base, **process, "llmgine.handler.name": "_on_tick"},
    )
    histogram.record(
        time.perf_counter() - start,
        {"llmgine.event.type": "Tick", "llmgine.handler.name": "_on_tick"},
    )


async def _pong(cmd: Command) -> CommandResult:
    if _FLOOR is not None:
        _floor_command(cmd, *_FLOOR)
    return CommandResult(success=True, command_id=cmd.command_id)


async def _on_tick(event: Event) -> None:
    if _FLOOR is not None:
        _floor_event(event, *_FLOOR)


#: The metric reader of every mode; a workload ends with its collection (what a periodic reader
#: does), where llmotel records the points it deferred.
_READER = InMemoryMetricReader()


async def round_trip(bus: MessageBus, commands: int) -> tuple[float, dict[str, float]]:
    """Microseconds per ``execute`` round trip."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(commands):
        await bus.execute(Ping())
    await bus.wait_for_events()
    _READER.get_metrics_data()  # the duration points wait for a collection: count it
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return cpu / commands * 1e6, {"wall": wall / commands * 1e6}


async def burst(bus: MessageBus, events: int) -> tuple[float, dict[str, float]]:
    """Milliseconds to publish ``events`` and drain the queue, and the probe's lateness."""
    lags: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(PROBE_INTERVAL)
            lags.append(time.perf_counter() - before - PROBE_INTERVAL)

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(events):
        await bus.publish(Tick(n=i), await_processing=False)
        # publish() does not suspend; yield as an app serving requests would, so the probe
        # measures the bus's (and the instrumentation's) longest stretch without a yield.
        await asyncio.sleep(0)
    await bus.wait_for_events()
    done.set()
    await prober
    # Counted in the burst's time, not in the probe's lag: a periodic reader collects on its own
    # thread, not in one stretch of the loop's.
    _READER.get_metrics_data()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    lags.sort()
    return cpu * 1e3, {
        "wall": wall * 1e3,
        "lag_max_ms": lags[-1] * 1e3,
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1e3,
        "lag_median_ms": statistics.median(lags) * 1e3,
    }


Workload = Callable[[MessageBus], Awaitable[tuple[float, dict[str, float]]]]

#: CPU seconds spent in the garbage collector since the last reset, and when it started.
_GC_CPU = [0.0, 0.0]


def _gc_timer(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _GC_CPU[1] = time.process_time()
    else:
        _GC_CPU[0] += time.process_time() - _GC_CPU[1]


async def paired(
    bus: MessageBus,
    inst: LLMgineInstrumentor,
    modes: dict[str, dict[str, Any] | None],
    workload: Workload,
    rounds: int,
    per_op: float,
) -> dict[str, Any]:
    """Run each mode (providers to instrument with, ``None`` for plain, or ``{"floor": (tracer,
    histogram)}`` for the plain bus whose handlers make the SDK calls) once per round, in a
    rotating order; compare every mode to the plain run of the same round. Each run starts
    after a full collection and reports the CPU time its own collections took (``gc_cpu``, in
    the workload's unit: GC seconds * 1e6 / ``per_op``)."""
    global _FLOOR
    names = list(modes)
    results: dict[str, list[float]] = {name: [] for name in names}
    extras: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for i in range(rounds + 1):  # round 0 warms up every path and is dropped
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            providers = modes[name]
            floor = providers is not None and "floor" in providers
            if floor:
                _FLOOR = providers["floor"]  # type: ignore[index]
            elif providers is not None:
                inst.instrument(**providers)
            gc.collect()  # no mode pays for the collections the previous one made necessary
            _GC_CPU[0] = 0.0
            try:
                value, extra = await workload(bus)
                extra["gc_cpu"] = _GC_CPU[0] * 1e6 / per_op
            finally:
                _FLOOR = None
                if providers is not None and not floor:
                    inst.uninstrument()
            if i:
                results[name].append(value)
                extras[name].append(extra)
    out: dict[str, Any] = {}
    for name, values in results.items():
        row: dict[str, float] = {"median": statistics.median(values), "best": min(values)}
        ratios = [v / p for p, v in zip(results["plain"], values, strict=True)]
        row["added_pct"] = (statistics.median(ratios) - 1) * 100
        for key in extras[name][0]:
            row[key] = statistics.median(e[key] for e in extras[name])
        out[name] = row
    if "sdk floor" in results and "instrumented" in results:
        # Per round: instrumented minus floor, the instrumentation's own part (paired).
        own = [i - f for i, f in zip(results["instrumented"], results["sdk floor"], strict=True)]
        out["beyond_floor"] = {
            "median": statistics.median(own),
            "pct_of_plain": statistics.median(
                o / p for o, p in zip(own, results["plain"], strict=True)
            )
            * 100,
        }
    return out


async def main_async(quick: bool) -> dict[str, Any]:
    logging.disable(logging.WARNING)  # LLMgine logs every start/stop at INFO and more
    rounds = 5 if quick else 15
    commands = 500 if quick else 2000
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_DropExporter()))
    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    meter_provider = MeterProvider([_READER])
    modes: dict[str, dict[str, Any] | None] = {
        "plain": None,
        "instrumented": {"tracer_provider": tracer_provider, "meter_provider": meter_provider},
        # What the wrappers, context carrying and metrics cost when spans are not recorded.
        "instrumented, not sampled": {
            "tracer_provider": unsampled,
            "meter_provider": meter_provider,
        },
        # The plain bus, its handlers making the spans and histogram points the instrumented mode
        # records, with bare SDK calls (same providers, same attributes): the SDK's own price.
        "sdk floor": {
            "floor": (
                tracer_provider.get_tracer("bench.sdk_floor"),
                meter_provider.get_meter("bench.sdk_floor").create_histogram(
                    "bench.sdk_floor.duration",
                    unit="s",
                    explicit_bucket_boundaries_advisory=BUCKETS,
                ),
            )
        },
    }
    inst = LLMgineInstrumentor()
    gc.callbacks.append(_gc_timer)
    bus = MessageBus()
    await bus.reset()
    await bus.start()
    try:
        bus.register_command_handler(Ping, _pong)
        bus.register_event_handler(Tick, _on_tick)
        results = {
            "round_trip_us": await paired(
                bus, inst, modes, lambda b: round_trip(b, commands), rounds, commands
            ),
            "burst_ms": await paired(bus, inst, modes, lambda b: burst(b, BURST), rounds, 1e3),
        }
    finally:
        await bus.stop()
        tracer_provider.shutdown()
        unsampled.shutdown()
        meter_provider.shutdown()
    return {
        "benchmark": "llmgine",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rounds": rounds,
        "commands_per_round": commands,
        "events_per_burst": BURST,
        "target_added_pct": TARGET_ADDED_PCT,
        **results,
    }


def print_table(results: dict[str, Any]) -> None:
    print(f"llmgine bus: median of {results['rounds']} rotating rounds, added = vs plain, paired")
    rows = (
        ("command round trip", "round_trip_us", "us"),
        (f"{BURST}-event burst", "burst_ms", "ms"),
    )
    header = (
        f"{'workload':<22}{'mode':<28}{'time':>10}{'added':>9}{'GC':>10}"
        f"{'lag p99':>10}{'lag max':>10}"
    )
    print(header)
    print("-" * len(header))
    for label, key, unit in rows:
        for mode, row in results[key].items():
            if mode == "beyond_floor":
                continue
            lag = (
                f"{row['lag_p99_ms']:>8.2f}ms{row['lag_max_ms']:>8.2f}ms"
                if "lag_p99_ms" in row
                else ""
            )
            added = "" if mode == "plain" else f"{row['added_pct']:>8.1f}%"
            gc_cpu = f"{row['gc_cpu']:>8.1f}{unit}"
            print(f"{label:<22}{mode:<28}{row['median']:>8.1f}{unit}{added:>9}{gc_cpu}{lag}")
    print(f"target: <= {results['target_added_pct']:.0f} % added time")
    print(
        "sdk floor = the plain bus whose handlers make the same spans and histogram points with "
        "bare SDK calls:\nwhat the SDK charges for the telemetry itself. Instrumented minus the "
        "floor is what the instrumentation adds on top (wrappers, context carrying, GC):"
    )
    for label, key, unit in rows:
        own = results[key]["beyond_floor"]
        print(f"  {label}: {own['median']:.1f}{unit} ({own['pct_of_plain']:.0f} % of plain)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", help="write the results as JSON to this path")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args(argv)
    results = asyncio.run(main_async(args.quick))
    print_table(results)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
