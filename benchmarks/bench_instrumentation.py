"""Per-call overhead of the openai instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_instrumentation.py --out results.json          # short run
    python benchmarks/bench_instrumentation.py --out results.json --full   # + RSS over 100k calls

Each contender runs in a worker process against one local stub server (its own process, so it
does not share our GIL): llmotel in this Python; OpenLLMetry (``opentelemetry-instrumentation-
openai``), OpenInference (``openinference-instrumentation-openai``) and upstream
(``opentelemetry-instrumentation-genai-openai``) each in a venv this script creates once with
``uv venv`` + ``uv pip install`` (under the system temp dir). A worker measures, for a sync chat
call, a streamed reply of ~50 chunks and an async chat call, uninstrumented and instrumented calls
*interleaved*; the overhead is the median of paired differences with their interquartile range as the spread — wall time and
CPU time of the calling thread. Pairs are single calls in alternating order, one with
instrumentation suppressed (``_SUPPRESS_INSTRUMENTATION_KEY``: the wrapper returns at its first
check, a few µs for every contender) and one instrumented; a contender that ignores suppression is
measured with blocks of calls between ``instrument()``/``uninstrument()`` instead (OpenLLMetry's
``uninstrument()`` leaves its wrappers, which that method would hide). It also
reports the memory added with 2000 calls' spans buffered before one export (RSS), how
many spans calls make after ``uninstrument()`` and after instrumenting again, the CPU a stream
costs later, when a metric reader collects (llmotel records a call's metric points then), and
RSS growth over many calls. Every contender runs with its default settings (OpenLLMetry and OpenInference capture
message content by default; llmotel and upstream do not). ``llmotel-nometrics`` is llmotel given a
``NoOpMeterProvider`` (its metric points are not recorded): the same work as a peer that records no
metrics, measured in the same run as the default ``llmotel`` row.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

OPENAI_VERSION = "openai==3.54.0"
# name → (requirements of its venv, module, class)
PEERS: dict[str, tuple[list[str], str, str]] = {
    "upstream": (
        ["opentelemetry-instrumentation-genai-openai"],
        "opentelemetry.instrumentation.genai.openai",
        "OpenAIInstrumentor",
    ),
    "openinference": (
        ["openinference-instrumentation-openai"],
        "openinference.instrumentation.openai",
        "OpenAIInstrumentor",
    ),
    "openllmetry": (
        ["opentelemetry-instrumentation-openai"],
        "opentelemetry.instrumentation.openai",
        "OpenAIInstrumentor",
    ),
}
# llmotel with a NoOpMeterProvider: spans only, like-for-like with peers that record no metrics
NO_METRICS = "llmotel-nometrics"
MESSAGES: Any = [{"role": "user", "content": "Say something short about telemetry."}]
STREAM_TEXT = " ".join(f"w{i}" for i in range(49))  # ~50 content chunks


# -- worker: runs in the contender's Python ---------------------------------------------------


class _Drop:
    """A span exporter that drops everything: export cost is not what we measure."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_READER: Any = None  # the metric reader of _providers()


def _providers() -> tuple[Any, Any, Any]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    class Count(SpanProcessor):
        ended = 0

        def on_end(self, span: Any) -> None:
            Count.ended += 1

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(_Drop()))  # type: ignore[arg-type]
    counter = Count()
    tracer_provider.add_span_processor(counter)
    global _READER
    _READER = InMemoryMetricReader()
    meter_provider = MeterProvider([_READER])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider, counter


def _instrumentor(name: str) -> Any:
    if name in ("llmotel", NO_METRICS):
        from llmotel.instrumentation.openai import OpenAIInstrumentor

        return OpenAIInstrumentor()
    _, module, cls = PEERS[name]
    return getattr(__import__(module, fromlist=[cls]), cls)()


def _instrument(inst: Any, tracer_provider: Any, meter_provider: Any) -> None:
    inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)


def _spread(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    if len(ordered) < 4:
        return statistics.median(ordered), 0.0
    q = statistics.quantiles(ordered, n=4)
    return statistics.median(ordered), q[2] - q[0]


def _suppressed(call: Callable[[], None]) -> None:
    from opentelemetry import context

    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        call()
    finally:
        context.detach(token)


def _honours_suppression(call: Callable[[], None], counter: Any) -> bool:
    before = counter.ended
    _suppressed(call)
    suppressed = counter.ended - before
    call()
    return suppressed == 0 and counter.ended - before > 0


def _paired_calls(call: Callable[[], None], pairs: int) -> dict[str, Any]:
    """Per-call pairs, in alternating order: the call with instrumentation suppressed (the wrapper
    returns at its first check) and the same call instrumented."""
    for _ in range(10):
        call()
        _suppressed(call)
    wall_d, cpu_d, base_wall, base_cpu = [], [], [], []
    for i in range(pairs):
        res: dict[bool, tuple[int, int]] = {}
        for on in (False, True) if i % 2 == 0 else (True, False):
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            if on:
                call()
            else:
                _suppressed(call)
            res[on] = (time.perf_counter_ns() - w0, time.thread_time_ns() - c0)
        wall_d.append((res[True][0] - res[False][0]) / 1000)
        cpu_d.append((res[True][1] - res[False][1]) / 1000)
        base_wall.append(res[False][0] / 1000)
        base_cpu.append(res[False][1] / 1000)
    wall, wall_iqr = _spread(wall_d)
    cpu, cpu_iqr = _spread(cpu_d)
    return {
        "baseline_wall_us": statistics.median(base_wall),
        "baseline_cpu_us": statistics.median(base_cpu),
        "added_wall_us": wall,
        "added_wall_iqr_us": wall_iqr,
        "added_cpu_us": cpu,
        "added_cpu_iqr_us": cpu_iqr,
    }


def _measure_block(call: Callable[[], None], n: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        call()
        cpus.append(time.thread_time_ns() - c0)
        walls.append(time.perf_counter_ns() - w0)
    return statistics.median(walls) / 1000, statistics.median(cpus) / 1000


def _paired(
    call: Callable[[], None], inst: Any, providers: tuple[Any, Any, Any], rounds: int, block: int
) -> dict[str, Any]:
    for _ in range(block):  # warm up both paths
        call()
    _instrument(inst, providers[0], providers[1])
    for _ in range(block):
        call()
    inst.uninstrument()
    wall_d, cpu_d, base_wall, base_cpu = [], [], [], []
    for r in range(rounds):
        order = (False, True) if r % 2 == 0 else (True, False)  # ABBA
        res: dict[bool, tuple[float, float]] = {}
        for on in order:
            if on:
                _instrument(inst, providers[0], providers[1])
            res[on] = _measure_block(call, block)
            if on:
                inst.uninstrument()
        wall_d.append(res[True][0] - res[False][0])
        cpu_d.append(res[True][1] - res[False][1])
        base_wall.append(res[False][0])
        base_cpu.append(res[False][1])
    wall, wall_iqr = _spread(wall_d)
    cpu, cpu_iqr = _spread(cpu_d)
    return {
        "baseline_wall_us": statistics.median(base_wall),
        "baseline_cpu_us": statistics.median(base_cpu),
        "added_wall_us": wall,
        "added_wall_iqr_us": wall_iqr,
        "added_cpu_us": cpu,
        "added_cpu_iqr_us": cpu_iqr,
    }


def _memory(call: Callable[[], None], inst: Any, n: int) -> float:
    """MiB of RSS added by ``n`` instrumented calls whose spans are all buffered for one export,
    against ``n`` uninstrumented calls run just before (RSS: tracemalloc would slow every call
    tenfold; at thousands of spans the difference is far above RSS noise)."""
    import psutil
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    process = psutil.Process()

    def run(instrumented: bool) -> int:
        provider = TracerProvider()
        processor = BatchSpanProcessor(
            _Drop(),  # type: ignore[arg-type]
            max_queue_size=n + 10,
            max_export_batch_size=n + 10,
            schedule_delay_millis=3_600_000,
        )
        provider.add_span_processor(processor)
        if instrumented:
            inst.instrument(tracer_provider=provider)
        gc.collect()
        before = process.memory_info().rss
        try:
            for _ in range(n):
                call()
            gc.collect()
            return process.memory_info().rss - before
        finally:
            if instrumented:
                inst.uninstrument()
            processor.shutdown()

    base = run(False)
    return (run(True) - base) / 2**20


def _span_counts(inst: Any, call: Callable[[], None], n: int) -> dict[str, int]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    inst.instrument(tracer_provider=provider)
    inst.uninstrument()
    for _ in range(n):
        call()
    after_uninstrument = len(exporter.get_finished_spans())
    exporter.clear()
    inst.instrument(tracer_provider=provider)
    for _ in range(n):
        call()
    inst.uninstrument()
    return {
        "calls": n,
        "spans_after_uninstrument": after_uninstrument,
        "spans_after_reinstrument": len(exporter.get_finished_spans()),
    }


def _collect_cost(
    call: Callable[[], None], inst: Any, reader: Any, providers: tuple[Any, Any, Any], n: int
) -> float:
    """CPU µs per call spent later, when a metric reader collects (llmotel records a call's metric
    points then, on the reader's thread): one collection after ``n`` calls minus one after none."""
    _instrument(inst, providers[0], providers[1])
    try:
        for _ in range(3):
            call()
        reader.get_metrics_data()

        def collect() -> int:
            c0 = time.thread_time_ns()
            reader.get_metrics_data()
            return time.thread_time_ns() - c0

        idle = statistics.median(collect() for _ in range(5))
        costs = []
        for _ in range(5):
            for _ in range(n):
                call()
            costs.append(collect() - idle)
        return max(0.0, statistics.median(costs) / n / 1000)
    finally:
        inst.uninstrument()


def _rss(call: Callable[[], None], inst: Any, providers: tuple[Any, Any, Any], n: int) -> float:
    import psutil

    _instrument(inst, providers[0], providers[1])
    process = psutil.Process()
    try:
        for _ in range(min(2000, n // 10)):
            call()
        gc.collect()
        start = process.memory_info().rss
        for _ in range(n):
            call()
        gc.collect()
        return (process.memory_info().rss - start) / 2**20
    finally:
        inst.uninstrument()


def worker(name: str, base_url: str, rounds: int, block: int, rss_calls: int) -> dict[str, Any]:
    import openai

    providers = _providers()
    if name == NO_METRICS:
        from opentelemetry.metrics import NoOpMeterProvider

        providers = (providers[0], NoOpMeterProvider(), providers[2])
    inst = _instrumentor(name)
    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    aclient = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    loop = asyncio.new_event_loop()

    def sync_call() -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    stream_messages: Any = [{"role": "user", "content": f"Repeat: {STREAM_TEXT}"}]

    def stream_call() -> None:
        for _ in client.chat.completions.create(
            model="gpt-4o-mini", messages=stream_messages, stream=True
        ):
            pass

    async def _async_call() -> None:
        await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    def async_call() -> None:
        loop.run_until_complete(_async_call())

    result: dict[str, Any] = {"contender": name}
    _instrument(inst, providers[0], providers[1])
    if _honours_suppression(sync_call, providers[2]):
        result["method"] = "per-call pairs: suppressed vs instrumented"
        result["sync"] = _paired_calls(sync_call, rounds * block)
        result["stream"] = _paired_calls(stream_call, rounds * max(4, block // 2))
        result["async"] = _paired_calls(async_call, rounds * block)
        inst.uninstrument()
    else:
        # Suppression ignored: toggle instrument()/uninstrument() between blocks instead.
        inst.uninstrument()
        result["method"] = "blocks: uninstrumented vs instrumented"
        result["sync"] = _paired(sync_call, inst, providers, rounds, block)
        result["stream"] = _paired(stream_call, inst, providers, rounds, max(4, block // 2))
        result["async"] = _paired(async_call, inst, providers, rounds, block)
    for mode, call, n in (
        ("sync", sync_call, 100),
        ("stream", stream_call, 20),
        ("async", async_call, 100),
    ):
        result[mode]["collect_cpu_us"] = _collect_cost(call, inst, _READER, providers, n)
    result["memory_2000_spans_mib"] = _memory(sync_call, inst, 2000)
    result["uninstrument"] = _span_counts(inst, sync_call, 10)
    result["rss_calls"] = rss_calls
    result["rss_growth_mib"] = _rss(sync_call, inst, providers, rss_calls)
    loop.close()
    return result


# -- driver -------------------------------------------------------------------------------------


def _peer_python(name: str) -> pathlib.Path | None:
    """The Python of ``name``'s venv, created with uv on first use; ``None`` when it can't be."""
    uv = shutil.which("uv")
    root = pathlib.Path(tempfile.gettempdir()) / "llmotel-bench-peers" / name
    python = root / "bin" / "python"
    if python.exists():
        return python
    if uv is None:
        print(f"  {name}: skipped (uv not found)", file=sys.stderr)
        return None
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    reqs = [OPENAI_VERSION, "opentelemetry-sdk", "psutil", *PEERS[name][0]]
    try:
        subprocess.run(
            [uv, "venv", "-q", "--python", sys.executable, str(root)], check=True, env=env
        )
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(python), *reqs], check=True, env=env
        )
    except subprocess.CalledProcessError as exc:
        print(f"  {name}: skipped (venv setup failed: {exc})", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
        return None
    return python


def _run_worker(python: pathlib.Path | str, name: str, url: str, args: argparse.Namespace) -> Any:
    cmd = [
        str(python),
        __file__,
        "--worker",
        name,
        "--base-url",
        url,
        "--rounds",
        str(args.rounds),
        "--block",
        str(args.block),
        "--rss-calls",
        str(args.rss_calls),
    ]
    env = {**os.environ, "OTEL_SDK_DISABLED": "false", "TRACELOOP_TELEMETRY": "false"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"  {name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _lightest(results: list[dict[str, Any]], mode: str, key: str) -> float | None:
    """The smallest positive overhead among the peers (a negative median is noise, not a peer)."""
    values = [
        r[mode][key]
        for r in results
        if not r["contender"].startswith("llmotel") and r[mode][key] > 0
    ]
    return min(values, default=None)


def _table(results: list[dict[str, Any]]) -> str:
    modes = ("sync", "stream", "async")
    lines = [
        "added per call: median of paired differences (IQR), wall / CPU of the calling thread, µs",
        f"{'contender':<19}{'sync wall':>18}{'sync cpu':>10}{'stream wall':>20}{'stream cpu':>11}"
        f"{'async wall':>18}{'async cpu':>10}{'mem 2000 MiB':>14}{'after unin.':>12}{'RSS MiB':>9}",
    ]
    for r in results:
        cells = []
        for mode in modes:
            m = r[mode]
            cells.append(f"{m['added_wall_us']:>9.0f} ({m['added_wall_iqr_us']:>5.0f})")
            cells.append(f"{m['added_cpu_us']:>9.0f}")
        u = r["uninstrument"]
        lines.append(
            f"{r['contender']:<19}{cells[0]:>18}{cells[1]:>10}{cells[2]:>20}{cells[3]:>11}"
            f"{cells[4]:>18}{cells[5]:>10}{r['memory_2000_spans_mib']:>14.1f}"
            f"{u['spans_after_uninstrument']:>5}/{u['spans_after_reinstrument']:<6}"
            f"{r['rss_growth_mib']:>9.1f}"
        )
    lines.append(
        "after unin. = spans from 10 calls after uninstrument() / after instrumenting again"
    )
    lines.append(
        "CPU spent later, when a metric reader collects (µs per call, sync / stream / async): "
        + ", ".join(
            f"{r['contender']} " + " / ".join(f"{r[m].get('collect_cpu_us', 0):.0f}" for m in modes)
            for r in results
        )
    )
    ours = next((r for r in results if r["contender"] == "llmotel"), None)
    if ours is None:
        return "\n".join(lines)

    def total(r: dict[str, Any], mode: str) -> float:
        return float(r[mode]["added_cpu_us"] + r[mode].get("collect_cpu_us", 0.0))

    for row in (r for r in results if r["contender"].startswith("llmotel")):
        name = row["contender"]
        for key, label in (("added_wall_us", "wall"), ("added_cpu_us", "CPU")):
            ratios = []
            for mode in modes:
                peer = _lightest(results, mode, key)
                ratio = "n/a" if peer is None else f"{row[mode][key] / peer:.2f}"
                ratios.append(f"{mode} {ratio}")
            lines.append(f"{name} / lightest peer ({label}; target ≤ 0.50): {', '.join(ratios)}")
        ratios = []
        for mode in modes:
            peers = [
                total(r, mode)
                for r in results
                if not r["contender"].startswith("llmotel") and r[mode]["added_cpu_us"] > 0
            ]
            ratio = f"{total(row, mode) / min(peers):.2f}" if peers else "n/a"
            ratios.append(f"{mode} {ratio}")
        lines.append(
            f"{name} / lightest peer (CPU incl. collection; target ≤ 0.50): {', '.join(ratios)}"
        )
    baseline = ", ".join(f"{m} {ours[m]['baseline_wall_us']:.0f} µs" for m in modes)
    lines.append(f"uninstrumented call (llmotel run): {baseline}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, help="write the results as JSON here")
    parser.add_argument("--full", action="store_true", help="RSS over 100k calls (slow)")
    parser.add_argument("--rounds", type=int, default=16, help="paired rounds per mode")
    parser.add_argument("--block", type=int, default=20, help="calls per block")
    parser.add_argument("--rss-calls", type=int, default=None, help="calls for the RSS check")
    parser.add_argument(
        "--peers", default=",".join(PEERS), help="comma-separated peers ('' for none)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_calls is None:
        args.rss_calls = 100_000 if args.full else 3_000

    if args.worker:
        print(
            json.dumps(worker(args.worker, args.base_url, args.rounds, args.block, args.rss_calls))
        )
        return 0

    stub = subprocess.Popen(
        [sys.executable, "-m", "llmotel.testing.stub", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert stub.stdout is not None
        url = stub.stdout.readline().strip() + "/v1"
        results = []
        contenders: list[tuple[str, pathlib.Path | str | None]] = [
            ("llmotel", sys.executable),
            (NO_METRICS, sys.executable),
        ]
        contenders += [(p, None) for p in args.peers.split(",") if p]
        for name, python in contenders:
            python = python or _peer_python(name)
            if python is None:
                continue
            print(f"  measuring {name} …", file=sys.stderr, flush=True)
            result = _run_worker(python, name, url, args)
            if result is not None:
                results.append(result)
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    print(_table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"openai": OPENAI_VERSION, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
