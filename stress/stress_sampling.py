"""Stress: 10,000 concurrent agent sessions through the tail sampler, at default caps and at small ones.

In process, real SDK: 10,000 asyncio sessions start at once, each one trace ``invoke_agent`` → two
``chat`` calls (each with ~1 KB of message content, as the distro captures by default) →
``execute_tool`` → a last ``chat``, with awaits between the calls, into a ``TailSamplingProcessor``
(the distro's policies: error, latency, tokens, cost, a 10 % baseline) wrapping a
``SimpleSpanProcessor`` with an in-memory exporter. 100 sessions are of each class: one call fails
(the exception propagates: that call and the root end in ERROR), is slower than the latency
threshold (its start is set that far back), or brings the trace's tokens or cost over the
threshold. Two shapes: the class shows in the *first* call, which ends before anything else of
the trace is buffered, or in the *second* one, after the first call is buffered — a trace decided
early under pressure before that is not kept (docs/sampling.md, "When a bound is hit"). Each run
is its own subprocess (its RSS is its own). Bounded: each run takes the CPU time of ~48,000 spans
(10-40 s on a busy 2-core machine); ``--seconds`` is the latency threshold, to stay above that.

Prints, per run: traces kept per class (out of 100), kept traces that arrived incomplete, decisions
(vs traces), late spans, forced decisions by reason, peak buffered bytes vs the cap, peak RSS.

    python stress/stress_sampling.py [--seconds 60] [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

SESSIONS = 10_000
PER_CLASS = 100
CLASSES = ("error", "slow", "tokens", "cost")
TOKENS_THRESHOLD = 50_000
COST_THRESHOLD_USD = 1.0
BASELINE = 0.1
MODES = {
    "default caps": {},
    "2000 traces / 8 MiB": {"max_traces": 2000, "max_bytes": 8 * 1024 * 1024},
}


SHAPES = {"class in the first call": 1, "class in the second call": 2}


def run_mode(name: str, shape: str, seconds: float) -> dict[str, object]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmotel.sampling import (
        CostPolicy,
        ErrorPolicy,
        LatencyPolicy,
        ProbabilisticPolicy,
        TailSamplingProcessor,
        TokenPolicy,
    )
    from llmotel.semconv.attributes import (
        GEN_AI_INPUT_MESSAGES,
        GEN_AI_OPERATION_NAME,
        GEN_AI_OUTPUT_MESSAGES,
        GEN_AI_REQUEST_MODEL,
        GEN_AI_USAGE_INPUT_TOKENS,
        GEN_AI_USAGE_OUTPUT_TOKENS,
    )
    from llmotel.semconv.context import using_session
    from llmotel.semconv.extensions import LLMOTEL_COST_USD

    # The latency threshold must exceed how long the CPU-bound interleaving of 10,000 sessions
    # takes on a busy machine, or ordinary sessions count as slow.
    threshold = seconds
    signal_call = SHAPES[shape]
    step = 0.05  # ordinary sessions: 5 awaits of up to this
    rng = random.Random(1729)
    kinds = ["ordinary"] * (SESSIONS - PER_CLASS * len(CLASSES))
    for kind in CLASSES:
        kinds += [kind] * PER_CLASS
    rng.shuffle(kinds)

    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    processor = TailSamplingProcessor(
        SimpleSpanProcessor(exporter),
        [
            ErrorPolicy(),
            LatencyPolicy(threshold),
            TokenPolicy(TOKENS_THRESHOLD),
            CostPolicy(COST_THRESHOLD_USD),
            ProbabilisticPolicy(BASELINE),
        ],
        meter_provider=MeterProvider(metric_readers=[reader]),
        **MODES[name],  # type: ignore[arg-type]
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("stress")
    trace_ids: dict[int, str] = {}
    expected: dict[int, int] = {}
    peak = [0]

    def chat(index: int, kind: str, call: int) -> dict[str, object]:
        # The tokens/cost classes pass their threshold with call number signal_call.
        heavy = call <= signal_call
        # Content on spans, as the distro captures it by default: ~1 KB of JSON per call.
        question = f"Session {index}, call {call}: where is my order? " + "Some context. " * 25
        answer = f"Order for session {index} ships tomorrow. " + "More detail. " * 25
        return {
            GEN_AI_INPUT_MESSAGES: json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": question}]}]
            ),
            GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]
            ),
            GEN_AI_OPERATION_NAME: "chat",
            GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            GEN_AI_USAGE_INPUT_TOKENS: 60_000 // signal_call if kind == "tokens" and heavy else 800,
            GEN_AI_USAGE_OUTPUT_TOKENS: 120,
            LLMOTEL_COST_USD: 1.2 / signal_call if kind == "cost" and heavy else 0.0004,
        }

    def ended() -> None:
        peak[0] = max(peak[0], processor.buffered[2])

    async def pause(kind: str) -> None:
        await asyncio.sleep(rng.random() * step)

    async def session(index: int, kind: str) -> None:
        with using_session(f"session-{index}"):
            try:
                with tracer.start_as_current_span("invoke_agent support") as root:
                    trace_ids[root.get_span_context().trace_id] = kind
                    spans = 1 + signal_call if kind == "error" else 5
                    expected[root.get_span_context().trace_id] = spans
                    for call in (1, 2):
                        slow = call == signal_call and kind == "slow"
                        with tracer.start_as_current_span(
                            "chat gpt-4o-mini",
                            attributes=chat(index, kind, call),
                            # A call that took 1.2 x the threshold, without the wait.
                            start_time=time.time_ns() - int(threshold * 1.2e9) if slow else None,
                        ):
                            await pause(kind)
                            if call == signal_call and kind == "error":
                                raise RuntimeError("upstream returned 500")
                        ended()
                    with tracer.start_as_current_span("execute_tool lookup_order"):
                        await pause(kind)
                    ended()
                    with tracer.start_as_current_span(
                        "chat gpt-4o-mini", attributes=chat(index, kind, 3)
                    ):
                        await pause(kind)
                    ended()
            except RuntimeError:
                pass
            ended()

    async def main() -> None:
        await asyncio.gather(*(session(i, kind) for i, kind in enumerate(kinds)))

    started = time.monotonic()
    asyncio.run(main())
    run_s = time.monotonic() - started
    provider.shutdown()

    exported = exporter.get_finished_spans()
    spans_by_trace: dict[int, int] = Counter(s.context.trace_id for s in exported)
    kept = Counter(trace_ids[t] for t in spans_by_trace)
    # Ordinary sessions kept, by the policy that kept them: the baseline, or latency when the
    # machine was so busy that an ordinary session really ran longer than the threshold.
    ordinary_by_policy = Counter(
        str((s.attributes or {}).get("llmotel.sampling.policy"))
        for s in exported
        if s.parent is None and trace_ids[s.context.trace_id] == "ordinary"
    )
    incomplete = sum(1 for t, n in spans_by_trace.items() if n < expected[t])
    points = defaultdict(int)
    forced: dict[str, int] = defaultdict(int)
    late: dict[str, int] = defaultdict(int)
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", 0)
                    points[metric.name] += value
                    attrs = dict(point.attributes or {})
                    if metric.name == "llmotel.sampling.forced_decisions":
                        forced[
                            f"{attrs['llmotel.sampling.reason']} → {attrs['llmotel.sampling.decision']}"
                        ] += value
                    if metric.name == "llmotel.sampling.late_spans":
                        late[
                            f"{attrs['llmotel.sampling.decision']} after {attrs['llmotel.sampling.trigger']}"
                        ] += value
    max_bytes = int(MODES[name].get("max_bytes", 64 * 1024 * 1024))
    result: dict[str, object] = {
        "caps": name,
        "shape": shape,
        "sessions": SESSIONS,
        "kept_per_class": {kind: kept[kind] for kind in CLASSES},
        "kept_ordinary": dict(ordinary_by_policy),
        "kept_traces": len(spans_by_trace),
        "kept_incomplete": incomplete,
        "decisions": processor.decided_traces,
        "late_spans": dict(late),
        "forced_decisions": dict(forced),
        "peak_buffered_bytes": peak[0],
        "span_bytes_cap": processor.max_buffered_bytes,
        "max_bytes": max_bytes,
        "decision_record": dict(
            zip(("decisions", "bytes"), processor.decision_record_size, strict=True)
        ),
        "cap_held": peak[0] <= processor.max_buffered_bytes,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "run_s": round(run_s, 1),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="latency threshold (s)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--caps", choices=list(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--shape", choices=list(SHAPES), help=argparse.SUPPRESS)
    args, _other = parser.parse_known_args()  # nox -s stress passes every script the same posargs
    seconds = max(args.seconds, 60.0)  # nox -s stress -- --seconds 5 is meant for other scripts
    if args.caps:
        print(json.dumps(run_mode(args.caps, args.shape, seconds)), flush=True)
        return
    results = []
    for shape, mode in ((shape, mode) for shape in SHAPES for mode in MODES):
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--caps",
                mode,
                "--shape",
                shape,
                "--seconds",
                str(seconds),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"{mode}: exit {proc.returncode}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        print(json.dumps(result), flush=True)
        results.append(result)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
