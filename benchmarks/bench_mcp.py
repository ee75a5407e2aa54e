"""Per-request overhead of the MCP instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_mcp.py --out results.json
    python benchmarks/bench_mcp.py --peers openllmetry --scale 0.3   # one peer, fewer requests

Peers: OpenLLMetry (``opentelemetry-instrumentation-mcp``) and OpenInference
(``openinference-instrumentation-mcp``, which propagates context and makes no span of its own). Timed
round trips: ``tools/call`` and ``tools/list`` of the real client to a real FastMCP server, over two
transports:

- ``memory``: the SDK's in-memory transport, client and server in one process and one event loop —
  so a request costs the client's and the server's instrumentation both, and no pipe jitter. No
  deployment uses it, and the peers' transport wrappers (OpenLLMetry's stream spans, OpenInference's
  propagation) do not apply to it.
- ``stdio``: the transport an MCP client uses to run a local server — the server a subprocess of
  the client (``--serve``, in the same venv, instrumented the same way), JSON-RPC over its pipes, as
  a deployment runs it. A request's added CPU is the client thread's (median per request) plus the
  server's event-loop thread's (its ``thread_time``, read by a tool before and after each block of
  ten requests, less what two reads cost; the median block): what the instrumentation costs the two
  processes together.

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
import itertools
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
STDIO_KINDS = ("stdio-tool", "stdio-list")
BLOCK = 10  # stdio: requests between two reads of the server's CPU clock
ROUNDS = 6


def _server() -> Any:
    from mcp.server.fastmcp import FastMCP

    app = FastMCP("bench", log_level="WARNING")

    @app.tool()
    def add(a: int, b: int) -> int:
        """Adds two numbers."""
        return a + b

    @app.tool()
    def cpu() -> str:
        """CPU ns of the server's event-loop thread and the spans ended so far (for stdio rounds)."""
        from opentelemetry import trace

        counter = getattr(trace.get_tracer_provider(), "_llmotel_bench_count", None)
        return f"{time.thread_time_ns()} {counter.ended if counter else 0}"

    return app._mcp_server


async def _serve_stdio() -> None:
    # Looked up when called, as an application calls it: a peer's wrapper of the module's function
    # applies (FastMCP.run() binds its own copy at import).
    import mcp.server.stdio

    server = _server()
    async with mcp.server.stdio.stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def _round_stdio(name: str, instrumented: bool, n: int) -> dict[str, Any]:
    import mcp.client.stdio
    from mcp import ClientSession, StdioServerParameters
    from opentelemetry import trace

    args = [__file__, "--serve", name, *(["--instrumented"] if instrumented else [])]
    params = StdioServerParameters(command=sys.executable, args=args, env=dict(os.environ))
    counter = getattr(trace.get_tracer_provider(), "_llmotel_bench_count", None)
    times: dict[str, list[tuple[int, int]]] = {}
    server_cpu: dict[str, float] = {}
    spans: dict[str, int] = {}
    async with (
        mcp.client.stdio.stdio_client(params) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()

        async def server_now() -> tuple[int, int]:  # (CPU ns, spans ended) of the server
            result = await session.call_tool("cpu", {})
            cpu, ended = result.content[0].text.split()  # type: ignore[union-attr]
            return int(cpu), int(ended)

        calls = {
            "stdio-tool": lambda: session.call_tool("add", {"a": 1, "b": 2}),
            "stdio-list": lambda: session.list_tools(),
        }
        for kind, call in calls.items():
            for _ in range(20):
                await call()
            # What two reads of the server's clock cost it between them (a cpu call's own work).
            reads = [await server_now() for _ in range(21)]
            idle = statistics.median(b[0] - a[0] for a, b in itertools.pairwise(reads))
            times[kind] = []
            blocks: list[float] = []  # server CPU ns per request, block by block
            ended = ours = 0
            for _ in range(max(1, n // BLOCK)):
                cpu0, ended0 = await server_now()
                ours0 = counter.ended if counter else 0
                for _ in range(BLOCK):
                    w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                    await call()
                    times[kind].append((time.perf_counter_ns() - w0, time.thread_time_ns() - c0))
                ours += (counter.ended if counter else 0) - ours0
                cpu1, ended1 = await server_now()
                blocks.append((cpu1 - cpu0 - idle) / BLOCK)
                ended += ended1 - ended0
            server_cpu[kind] = statistics.median(blocks) / 1000
            # the server's count has each block's first cpu call too: rounding drops it
            spans[kind] = round((ours + ended) / len(times[kind]) - 1 / BLOCK)
    return {"times": times, "server_cpu": server_cpu, "spans": spans}


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


def _providers(name: str, instrumented: bool) -> tuple[Any, Callable[[], int]]:
    """The worker's (and the stdio server's) providers, instrumented by ``name`` or not: the
    tracer provider and a function that collects the metrics and returns its CPU ns."""
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
    return tracer_provider, collect


def worker(name: str, instrumented: bool, n: int) -> dict[str, Any]:
    _, collect = _providers(name, instrumented)
    times, spans, later = asyncio.run(_round(n, collect))
    stdio = asyncio.run(_round_stdio(name, instrumented, n))
    return {
        "times": {**times, **stdio["times"]},
        "spans": {**spans, **stdio["spans"]},
        "later": later,
        "server_cpu": stdio["server_cpu"],
    }


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
    kinds = (*KINDS, *STDIO_KINDS)
    # per round and kind: median wall, median CPU of the calling thread, server CPU per request
    rounds: dict[bool, dict[str, list[tuple[float, float, float]]]] = {
        on: {k: [] for k in kinds} for on in (False, True)
    }
    spans: dict[str, int] = {}
    later: dict[str, list[float]] = {k: [] for k in KINDS}
    for r in range(ROUNDS):
        for instrumented in (False, True) if r % 2 == 0 else (True, False):
            got = _run(str(python), name, instrumented, n)
            if got is None:
                return None
            for kind in kinds:
                wall = statistics.median(t[0] for t in got["times"][kind]) / 1000
                cpu = statistics.median(t[1] for t in got["times"][kind]) / 1000
                server = got["server_cpu"].get(kind, 0.0)
                rounds[instrumented][kind].append((wall, cpu, server))
            if instrumented:
                spans = got["spans"]
                for kind in KINDS:
                    later[kind].append(got["later"][kind])
    result: dict[str, Any] = {"contender": name, "sdk": SDK, "spans_per_call": spans}
    for kind in kinds:
        on, off = rounds[True][kind], rounds[False][kind]
        wall, wall_iqr = _spread([a[0] - b[0] for a, b in zip(on, off, strict=True)])
        client, _ = _spread([a[1] - b[1] for a, b in zip(on, off, strict=True)])
        server, _ = _spread([a[2] - b[2] for a, b in zip(on, off, strict=True)])
        # the added CPU: the calling thread's, plus (stdio) the server process's loop thread's
        cpu, cpu_iqr = _spread([a[1] + a[2] - b[1] - b[2] for a, b in zip(on, off, strict=True)])
        result[kind] = {
            "baseline_wall_us": statistics.median(b[0] for b in off),
            "added_wall_us": wall,
            "added_wall_iqr_us": wall_iqr,
            "added_cpu_us": cpu,
            "added_cpu_iqr_us": cpu_iqr,
            "collect_cpu_us": statistics.median(later[kind]) if kind in later else 0.0,
        }
        if kind in STDIO_KINDS:
            result[kind] |= {"added_client_cpu_us": client, "added_server_cpu_us": server}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=f"Overhead of the {SDK} instrumentations.")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplies the requests per round"
    )
    parser.add_argument("--peers", default=",".join(SPEC.peers), help="comma-separated ('' none)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--instrumented", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=400, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:  # the stdio rounds' server process
        _providers(args.serve, args.instrumented)
        asyncio.run(_serve_stdio())
        return 0
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
    print(
        "\n== round trip, client + server instrumented (in-memory; stdio: both processes' CPU) =="
    )
    print(_table(results))
    for r in results:
        split = ", ".join(
            f"{k} client {r[k]['added_client_cpu_us']:.0f} + server {r[k]['added_server_cpu_us']:.0f}"
            for k in STDIO_KINDS
        )
        print(f"{r['contender']}: stdio CPU added per request, µs: {split}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
