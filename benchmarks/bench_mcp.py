"""Per-request overhead of the MCP instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_mcp.py --out results.json
    python benchmarks/bench_mcp.py --peers openllmetry --scale 0.3   # one peer, fewer requests

Peers: OpenLLMetry (``opentelemetry-instrumentation-mcp``) and OpenInference
(``openinference-instrumentation-mcp``, which propagates context and makes no span of its own). Timed
round trips: ``tools/call`` and ``tools/list`` of the real client to a real FastMCP server over the
SDK's in-memory transport, in one process and one event loop — so a request costs the client's and
the server's instrumentation both, and no socket or pipe jitter.

How it measures: the peers patch transports and sessions when those are created and do not all
undo it (nor honour suppression), so each contender runs in worker processes of its own venv
(``benchmarks/_genai_bench.py`` makes them), alternately uninstrumented and instrumented, several
rounds; a round times single requests on one session. The added cost is the difference of the
medians of the two kinds of rounds — wall time and CPU time of the thread (client and server
both run on it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from _genai_bench import Spec, _Drop, _spread, _table, _venv

SDK = "mcp==1.30.0"
SPEC = Spec(
    sdk=SDK,
    ours=("llmotel.instrumentation.mcp", "MCPInstrumentor"),
    peers={
        "openllmetry": (
            ["opentelemetry-instrumentation-mcp"],
            "opentelemetry.instrumentation.mcp",
            "McpInstrumentor",
        ),
        "openinference": (
            ["openinference-instrumentation-mcp"],
            "openinference.instrumentation.mcp",
            "MCPInstrumentor",
        ),
    },
    calls=lambda base_url: {},
    local=("packages/llmotel-semconv[instrumentation]", "packages/llmotel-instrumentation-mcp"),
)
KINDS = ("tool", "list")
ROUNDS = 6


def _server() -> Any:
    from mcp.server.fastmcp import FastMCP

    app = FastMCP("bench")

    @app.tool()
    def add(a: int, b: int) -> int:
        """Adds two numbers."""
        return a + b

    return app._mcp_server


async def _round(
    n: int, collect: Callable[[], int]
) -> tuple[dict[str, list[tuple[int, int]]], dict[str, int], dict[str, float]]:
    from mcp.shared.memory import create_connected_server_and_client_session
    from opentelemetry import trace

    provider: Any = trace.get_tracer_provider()
    counter = getattr(provider, "_llmotel_bench_count", None)
    times: dict[str, list[tuple[int, int]]] = {k: [] for k in KINDS}
    spans: dict[str, int] = {}
    later: dict[str, float] = {}  # CPU µs per call of the collection after the calls
    async with create_connected_server_and_client_session(_server()) as session:
        calls = {
            "tool": lambda: session.call_tool("add", {"a": 1, "b": 2}),
            "list": lambda: session.list_tools(),
        }
        for kind, call in calls.items():
            for _ in range(20):  # warm up (mcp lists the tools before its first tools/call)
                await call()
            before = counter.ended if counter else 0
            await call()
            spans[kind] = (counter.ended if counter else 0) - before
            collect()
            idle = collect()
            for _ in range(n):
                w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                await call()
                times[kind].append((time.perf_counter_ns() - w0, time.thread_time_ns() - c0))
            later[kind] = max(0, collect() - idle) / n / 1000
    return times, spans, later


def worker(name: str, instrumented: bool, n: int) -> dict[str, Any]:
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
    count = Count()
    tracer_provider.add_span_processor(count)
    tracer_provider._llmotel_bench_count = count  # type: ignore[attr-defined]
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider([reader])

    def collect() -> int:  # CPU ns of one collection (llmotel records its points then)
        c0 = time.thread_time_ns()
        reader.get_metrics_data()
        return time.thread_time_ns() - c0

    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    if instrumented:
        module, cls = SPEC.ours if name == "llmotel" else SPEC.peers[name][1:]
        inst = getattr(__import__(module, fromlist=[cls]), cls)()
        inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    times, spans, later = asyncio.run(_round(n, collect))
    return {"times": times, "spans": spans, "later": later}


def _run(python: str, name: str, instrumented: bool, n: int) -> dict[str, Any] | None:
    cmd = [python, __file__, "--worker", name, "--n", str(n)]
    if instrumented:
        cmd.append("--instrumented")
    env = {**os.environ, "TRACELOOP_TELEMETRY": "false"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        print(f"  {name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(name: str, n: int) -> dict[str, Any] | None:
    python = _venv(SPEC, name, SDK)
    if python is None:
        return None
    print(f"  measuring {name} on {SDK} …", file=sys.stderr, flush=True)
    on: dict[str, list[float]] = {k: [] for k in KINDS}
    off: dict[str, list[float]] = {k: [] for k in KINDS}
    on_cpu: dict[str, list[float]] = {k: [] for k in KINDS}
    off_cpu: dict[str, list[float]] = {k: [] for k in KINDS}
    spans: dict[str, int] = {}
    later: dict[str, list[float]] = {k: [] for k in KINDS}
    for r in range(ROUNDS):
        for instrumented in (False, True) if r % 2 == 0 else (True, False):
            got = _run(str(python), name, instrumented, n)
            if got is None:
                return None
            for kind in KINDS:
                wall = statistics.median(t[0] for t in got["times"][kind]) / 1000
                cpu = statistics.median(t[1] for t in got["times"][kind]) / 1000
                (on if instrumented else off)[kind].append(wall)
                (on_cpu if instrumented else off_cpu)[kind].append(cpu)
            if instrumented:
                spans = got["spans"]
                for kind in KINDS:
                    later[kind].append(got["later"][kind])
    result: dict[str, Any] = {"contender": name, "sdk": SDK, "spans_per_call": spans}
    for kind in KINDS:
        diffs = [a - b for a, b in zip(on[kind], off[kind], strict=True)]
        cpu_diffs = [a - b for a, b in zip(on_cpu[kind], off_cpu[kind], strict=True)]
        wall, wall_iqr = _spread(diffs)
        cpu, cpu_iqr = _spread(cpu_diffs)
        result[kind] = {
            "baseline_wall_us": statistics.median(off[kind]),
            "added_wall_us": wall,
            "added_wall_iqr_us": wall_iqr,
            "added_cpu_us": cpu,
            "added_cpu_iqr_us": cpu_iqr,
            "collect_cpu_us": statistics.median(later[kind]),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=f"Overhead of the {SDK} instrumentations.")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplies the requests per round"
    )
    parser.add_argument("--peers", default=",".join(SPEC.peers), help="comma-separated ('' none)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--instrumented", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=400, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.instrumented, args.n)))
        return 0
    n = max(20, int(400 * args.scale))
    results = [
        r
        for name in ["llmotel", *(p for p in args.peers.split(",") if p)]
        if (r := measure(name, n)) is not None
    ]
    if not results:
        print("no contender could be measured", file=sys.stderr)
        return 1
    print("\n== in-memory round trip (client + server instrumented) ==")
    print(_table(results))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
