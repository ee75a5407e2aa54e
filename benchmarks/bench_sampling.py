"""Cost of llmotel-sampling on the application thread, and the tail buffer's memory bound.

    python benchmarks/bench_sampling.py [--out results.json] [--quick]

1. Tail processor: time per span to start+end spans of 4-span LLM traces through a
   ``TailSamplingProcessor`` wrapping ``SimpleSpanProcessor(no-op exporter)``, minus the same
   workload through the bare ``SimpleSpanProcessor`` measured in the same run (target: <= 10 us
   added). Two cases: a 1 % baseline (most traces dropped) and keep-everything (every span copied
   and forwarded, the worst case).
2. Head sampler: ``SessionRatioSampler.should_sample`` per call for a root in a session, a root
   without one and a child, next to ``TraceIdRatioBased`` (target: <= 3 us).
3. SDK reads: copying a finished span (what the tail processor forwards) through ``llmotel.sdk.spans``'s
   direct reads of the SDK's fields vs through the public ``ReadableSpan`` properties.
4. Memory: traced peak while 100k spans of never-ending traces go through a tail processor with a
   4 MiB byte bound, compared with the bound.

Timings are CPU time of the calling thread (``time.thread_time``), the best of several
interleaved repeats: the cost the application thread pays, little disturbed by other load on the
machine. Absolute numbers depend on the machine; the differences are what matters.

``--baseline REF`` also loads the tail processor of llmotel-sampling as it was at git ``REF`` and
runs its cases interleaved with the current ones, printing both and their ratio (before/after in
one run, on the same machine state).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    set_span_in_context,
)

from llmotel.sampling import (
    ErrorPolicy,
    LatencyPolicy,
    ProbabilisticPolicy,
    SessionRatioSampler,
    TailPolicy,
    TailSamplingProcessor,
    TokenPolicy,
)
from llmotel.semconv.attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)
from llmotel.semconv.context import using_session

TAIL_TARGET_US = 10.0
HEAD_TARGET_US = 3.0
MEMORY_BOUND = 4 * 1024 * 1024
LLM_ATTRIBUTES = {
    GEN_AI_OPERATION_NAME: "chat",
    GEN_AI_PROVIDER_NAME: "openai",
    GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
    GEN_AI_USAGE_INPUT_TOKENS: 812,
    GEN_AI_USAGE_OUTPUT_TOKENS: 96,
}


class _NoOpExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _policies(baseline: float) -> list[TailPolicy]:
    return [ErrorPolicy(), LatencyPolicy(30.0), TokenPolicy(100_000), ProbabilisticPolicy(baseline)]


def _workload(processor: SpanProcessor, traces: int) -> Callable[[], float]:
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")

    def run() -> float:
        start = time.thread_time()
        for _ in range(traces):
            with tracer.start_as_current_span("invoke_agent support"):
                for _ in range(3):
                    with tracer.start_as_current_span(
                        "chat gpt-4o-mini", attributes=LLM_ATTRIBUTES
                    ):
                        pass
        return (time.thread_time() - start) / (traces * 4) * 1e6

    return run


ROOT = Path(__file__).resolve().parent.parent
SAMPLING_SRC = "packages/llmotel-sampling/src/llmotel/sampling"
BASELINE_PACKAGE = "llmotel_sampling_baseline"


def load_baseline(ref: str) -> ModuleType:
    """llmotel.sampling as it was at git ``ref``, imported under another name."""
    target = Path(tempfile.mkdtemp(prefix="bench-sampling-")) / BASELINE_PACKAGE
    target.mkdir()
    listing = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{ref}:{SAMPLING_SRC}"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in listing.stdout.split():
        if name.endswith(".py"):
            source = subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{ref}:{SAMPLING_SRC}/{name}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            (target / name).write_text(source.replace("llmotel.sampling", BASELINE_PACKAGE))
    sys.path.insert(0, str(target.parent))
    return importlib.import_module(BASELINE_PACKAGE)


def bench_tail(traces: int, repeats: int, baseline: ModuleType | None = None) -> dict[str, Any]:
    cases: dict[str, SpanProcessor] = {
        "bare SimpleSpanProcessor": SimpleSpanProcessor(_NoOpExporter()),
        "tail, 1 % baseline": TailSamplingProcessor(
            SimpleSpanProcessor(_NoOpExporter()), _policies(0.01)
        ),
        "tail, keep all": TailSamplingProcessor(
            SimpleSpanProcessor(_NoOpExporter()), _policies(1.0)
        ),
    }
    if baseline is not None:
        for name, ratio in (("tail, 1 % baseline", 0.01), ("tail, keep all", 1.0)):
            old_policies = [
                baseline.ErrorPolicy(),
                baseline.LatencyPolicy(30.0),
                baseline.TokenPolicy(100_000),
                baseline.ProbabilisticPolicy(ratio),
            ]
            cases[f"{name} (baseline)"] = baseline.TailSamplingProcessor(
                SimpleSpanProcessor(_NoOpExporter()), old_policies
            )
    runs = {name: _workload(processor, traces) for name, processor in cases.items()}
    best = dict.fromkeys(runs, float("inf"))
    for run in runs.values():
        run()  # warm-up
    for _ in range(repeats):
        for name, run in runs.items():
            best[name] = min(best[name], run())
    for processor in cases.values():
        processor.shutdown()
    bare = best["bare SimpleSpanProcessor"]
    added = {name: value - bare for name, value in best.items() if not name.startswith("bare")}
    result: dict[str, Any] = {
        "us_per_span": best,
        "added_us_per_span": added,
        "target_added_us": TAIL_TARGET_US,
    }
    if baseline is not None:
        result["after_over_before"] = {
            name: {
                "per_span": best[name] / best[f"{name} (baseline)"],
                "added": added[name] / added[f"{name} (baseline)"],
            }
            for name in ("tail, 1 % baseline", "tail, keep all")
        }
    return result


def _per_call(call: Callable[[], object], calls: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.thread_time()
        for _ in range(calls):
            call()
        best = min(best, (time.thread_time() - start) / calls * 1e6)
    return best


def bench_head(calls: int, repeats: int) -> dict[str, Any]:
    ours = SessionRatioSampler(0.25)
    upstream = TraceIdRatioBased(0.25)
    trace_id = 0x5B8EFFF798038103D269B633813FC60C
    parent = set_span_in_context(
        NonRecordingSpan(
            SpanContext(trace_id, 0xEEE19B7EC3C1B174, False, TraceFlags(TraceFlags.SAMPLED))
        )
    )
    empty = Context()
    results = {
        "TraceIdRatioBased, root": _per_call(
            lambda: upstream.should_sample(empty, trace_id, "chat"), calls, repeats
        ),
        "SessionRatioSampler, root without session": _per_call(
            lambda: ours.should_sample(empty, trace_id, "chat"), calls, repeats
        ),
        "SessionRatioSampler, child": _per_call(
            lambda: ours.should_sample(parent, trace_id, "chat"), calls, repeats
        ),
    }
    with using_session("session-8c1d"):
        results["SessionRatioSampler, root in a session"] = _per_call(
            lambda: ours.should_sample(None, trace_id, "chat", attributes=LLM_ATTRIBUTES),
            calls,
            repeats,
        )
    return {"us_per_call": results, "target_us": HEAD_TARGET_US}


def bench_sdk_reads(calls: int, repeats: int) -> dict[str, Any]:
    from llmotel.sdk.spans import SpanCopy

    ended: list[ReadableSpan] = []

    class _Keep(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            ended.append(span)

    provider = TracerProvider()
    provider.add_span_processor(_Keep())
    provider.get_tracer("bench").start_span("chat gpt-4o-mini", attributes=LLM_ATTRIBUTES).end()
    span = ended[0]  # what on_end gets
    blank = SpanCopy.__new__(SpanCopy)
    results = {
        "SpanCopy, direct reads (llmotel.sdk.spans)": _per_call(
            lambda: SpanCopy(span), calls, repeats
        ),
        "SpanCopy, public properties": _per_call(lambda: blank._copy_public(span), calls, repeats),
    }
    return {"us_per_copy": results}


def bench_memory(spans: int) -> dict[str, Any]:
    processor = TailSamplingProcessor(
        SimpleSpanProcessor(_NoOpExporter()),
        [ErrorPolicy()],
        max_traces=10 * spans,
        max_spans=10 * spans,
        max_bytes=MEMORY_BOUND,
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    tracer.start_span("warm-up").end()
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    peak_estimate = 0
    for i in range(spans):
        # A child of a parent that never ends: every trace stays open until a bound decides it.
        parent = SpanContext(i + 1, 1, False, TraceFlags(TraceFlags.SAMPLED))
        context = set_span_in_context(NonRecordingSpan(parent))
        tracer.start_span("chat gpt-4o-mini", context=context, attributes=LLM_ATTRIBUTES).end()
        if i % 1000 == 0:
            peak_estimate = max(peak_estimate, processor.buffered[2])
    traced_peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    traces, buffered_spans, estimate = processor.buffered
    processor.shutdown()
    return {
        "spans": spans,
        "max_bytes": MEMORY_BOUND,
        "traced_peak_bytes": traced_peak,
        "estimated_peak_bytes": max(peak_estimate, estimate),
        "buffered_at_end": {"traces": traces, "spans": buffered_spans, "bytes": estimate},
        "within_bound": traced_peak <= MEMORY_BOUND,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the results as JSON to this path")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--baseline", metavar="REF", help="also run the tail processor at git REF")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1

    baseline = load_baseline(args.baseline) if args.baseline else None
    tail = bench_tail(traces=2000 // scale, repeats=7, baseline=baseline)
    head = bench_head(calls=50_000 // scale, repeats=7)
    reads = bench_sdk_reads(calls=20_000 // scale, repeats=7)
    memory = bench_memory(spans=100_000 // scale)

    print("tail processor, app-thread cost per span (best of 7):")
    for name, value in tail["us_per_span"].items():
        added = value - tail["us_per_span"]["bare SimpleSpanProcessor"]
        suffix = "" if name.startswith("bare") else f"   added {added:6.2f} us"
        print(f"  {name:<39} {value:7.2f} us{suffix}")
    print(f"  target: <= {TAIL_TARGET_US} us added")
    for name, ratios in tail.get("after_over_before", {}).items():
        print(
            f"  {name}: now / at {args.baseline} = {ratios['per_span']:.2f} per span, "
            f"{ratios['added']:.2f} of the added cost"
        )
    print("head sampler, per should_sample call:")
    for name, value in head["us_per_call"].items():
        print(f"  {name:<44} {value:6.2f} us")
    print(f"  target: <= {HEAD_TARGET_US} us")
    print("copy of a finished span:")
    for name, value in reads["us_per_copy"].items():
        print(f"  {name:<44} {value:6.2f} us")
    print(
        f"memory: {memory['spans']} spans of open traces, bound {MEMORY_BOUND / 2**20:.1f} MiB: "
        f"traced peak {memory['traced_peak_bytes'] / 2**20:.2f} MiB, "
        f"estimated peak {memory['estimated_peak_bytes'] / 2**20:.2f} MiB "
        f"({'within' if memory['within_bound'] else 'OVER'} the bound)"
    )
    if args.out:
        results = {
            "baseline": args.baseline,
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "tail": tail,
            "head": head,
            "sdk_reads": reads,
            "memory": memory,
        }
        with open(args.out, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
