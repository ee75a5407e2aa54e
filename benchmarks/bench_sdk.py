"""Per-span cost of llmotel-sdk: the export pipeline and ContextEnricher.

    python benchmarks/bench_sdk.py --out results.json

Export thread: one batch of 512 finished spans is exported over and over, to an exporter that
discards it, directly (baseline) and through ``PipelineSpanExporter`` with: no stage; one no-op
stage (the cost of the mutable copy and the new ``ReadableSpan``); three no-op stages, plain (the
pipeline snapshots the record before each) and ``atomic`` (no snapshot: llmotel's own stages); the ConventionNormalizer on
spans that are already GenAI semconv (its fast path); and the ConventionNormalizer on real
OpenInference spans (``packages/llmotel-sdk/tests/fixtures``). Application thread: spans
started and ended on a ``TracerProvider`` with a no-op processor (baseline) and with
``ContextEnricher`` in front of it, inside ``using_session`` + ``using_user``; for scale, also with
a processor that only calls ``span.set_attributes`` with the same two attributes, and one that
calls ``span.set_attribute`` once per attribute (the cheaper of the two, so the floor of any
``on_start`` that adds them through the public API). Times are CPU time of the measuring
thread (``time.thread_time``), which other processes on a shared machine disturb far less than
wall time;
variants run in interleaved rounds and a cost is the median over rounds of (variant - baseline) per
span. Targets (issue 4): <= 5 us per span for the empty pipeline,
<= 3 us per span for ContextEnricher.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmotel.sdk import (
    ContextEnricher,
    ConventionNormalizer,
    MutableSpan,
    PipelineSpanExporter,
    content_sensitive,
    using_session,
    using_user,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "packages" / "llmotel-sdk" / "tests" / "fixtures"
BATCH = 512
TARGETS_US = {"empty pipeline": 5.0, "ContextEnricher": 3.0}


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class _SetAttributesProcessor(SpanProcessor):
    _ATTRIBUTES = {"session.id": "sess-1", "user.id": "user-1"}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        span.set_attributes(self._ATTRIBUTES)


class _SetAttributeProcessor(SpanProcessor):
    _ITEMS = (("session.id", "sess-1"), ("user.id", "user-1"))

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for key, value in self._ITEMS:
            span.set_attribute(key, value)


class _NoOpProcessor(SpanProcessor):
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        pass


def _semconv_spans(n: int) -> list[ReadableSpan]:
    """Spans shaped like an llmotel instrumentation's chat span (15 attributes, one event)."""
    tracer = TracerProvider().get_tracer("llmotel.instrumentation.openai")
    spans = []
    for i in range(n):
        span = tracer.start_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.request.temperature": 0.2,
                "gen_ai.request.max_tokens": 256,
                "server.address": "api.openai.com",
                "server.port": 443,
                "gen_ai.response.id": f"chatcmpl-{i}",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 48,
                "session.id": "sess-1",
                "user.id": "user-1",
                "gen_ai.conversation.id": "conv-1",
            },
        )
        span.add_event("gen_ai.client.inference.operation.details", {"n": i})
        span.set_status(Status(StatusCode.OK))
        span.end()
        spans.append(span)
    return spans


def _openinference_spans(n: int) -> list[ReadableSpan]:
    document = json.loads((FIXTURES / "openinference-openai.json").read_text())
    chat = [s for s in document["spans"] if s["attributes"].get("openinference.span.kind") == "LLM"]
    tracer = TracerProvider().get_tracer("openinference.instrumentation.openai")
    spans = []
    for i in range(n):
        data = chat[i % len(chat)]
        span = tracer.start_span(data["name"], attributes=data["attributes"])
        span.end()
        spans.append(span)
    return spans


def _time_export(exporter: SpanExporter, batch: list[ReadableSpan], repeat: int) -> float:
    start = time.thread_time()
    for _ in range(repeat):
        exporter.export(batch)
    return (time.thread_time() - start) / (repeat * len(batch))


def _time_spans(provider: TracerProvider, n: int) -> float:
    tracer = provider.get_tracer("bench")
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}
    start = time.thread_time()
    with using_session("sess-1"), using_user("user-1"):
        for _ in range(n):
            tracer.start_span("chat gpt-4o-mini", attributes=attributes).end()
    return (time.thread_time() - start) / n


def _rounds(
    variants: dict[str, Callable[[], float]], baseline: str, rounds: int
) -> dict[str, dict[str, float]]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            samples[name].append(run())
    base = samples[baseline]
    out = {}
    for name, values in samples.items():
        deltas = [v - b for v, b in zip(values, base, strict=True)]
        out[name] = {
            "per_span_us": statistics.median(values) * 1e6,
            "cost_us": statistics.median(deltas) * 1e6,
            "ratio": statistics.median(values) / statistics.median(base),
        }
    return out


def run(rounds: int) -> dict[str, Any]:
    sink = _Discard()
    semconv = _semconv_spans(BATCH)
    foreign = _openinference_spans(BATCH)

    def noop(record: MutableSpan) -> MutableSpan:
        return record

    class _Plain:
        def __call__(self, record: MutableSpan) -> MutableSpan:
            return record

    class _Atomic(_Plain):
        atomic = True

    export_variants: dict[str, Callable[[], float]] = {
        "baseline (exporter alone)": lambda: _time_export(sink, semconv, 10),
        "empty pipeline": lambda: _time_export(PipelineSpanExporter([], sink), semconv, 10),
        "one no-op stage": lambda: _time_export(
            PipelineSpanExporter([content_sensitive(noop)], sink), semconv, 10
        ),
        "3 plain no-op stages (a snapshot each)": lambda: _time_export(
            PipelineSpanExporter([_Plain(), _Plain(), _Plain()], sink), semconv, 10
        ),
        "3 atomic no-op stages (no snapshot)": lambda: _time_export(
            PipelineSpanExporter([_Atomic(), _Atomic(), _Atomic()], sink), semconv, 10
        ),
        "normalizer, semconv spans": lambda: _time_export(
            PipelineSpanExporter([ConventionNormalizer()], sink), semconv, 10
        ),
        "normalizer, OpenInference spans": lambda: _time_export(
            PipelineSpanExporter([ConventionNormalizer()], sink), foreign, 2
        ),
    }
    baseline_provider = TracerProvider()
    baseline_provider.add_span_processor(_NoOpProcessor())
    enriched_provider = TracerProvider()
    enriched_provider.add_span_processor(ContextEnricher())
    enriched_provider.add_span_processor(_NoOpProcessor())
    floor_provider = TracerProvider()
    floor_provider.add_span_processor(_SetAttributesProcessor())
    floor_provider.add_span_processor(_NoOpProcessor())
    floor_each_provider = TracerProvider()
    floor_each_provider.add_span_processor(_SetAttributeProcessor())
    floor_each_provider.add_span_processor(_NoOpProcessor())
    app_variants: dict[str, Callable[[], float]] = {
        "baseline (no-op processor)": lambda: _time_spans(baseline_provider, 5000),
        "ContextEnricher": lambda: _time_spans(enriched_provider, 5000),
        "floor: set_attributes(2) in on_start": lambda: _time_spans(floor_provider, 5000),
        "floor: set_attribute x2 in on_start": lambda: _time_spans(floor_each_provider, 5000),
    }
    # The foreign spans are normalized in place on copies, so every round sees fresh originals.
    export = _rounds(export_variants, "baseline (exporter alone)", rounds)
    app = _rounds(app_variants, "baseline (no-op processor)", rounds)
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "batch_size": BATCH,
        "rounds": rounds,
        "export_thread": export,
        "app_thread": app,
        "targets_us": TARGETS_US,
        "meets_targets": {
            "empty pipeline": export["empty pipeline"]["cost_us"] <= TARGETS_US["empty pipeline"],
            "ContextEnricher": app["ContextEnricher"]["cost_us"] <= TARGETS_US["ContextEnricher"],
        },
    }


def _table(title: str, rows: dict[str, dict[str, float]]) -> str:
    lines = [title, f"  {'variant':38} {'cpu us/span':>11} {'cost us':>9} {'x base':>7}"]
    for name, row in rows.items():
        # Against a near-zero baseline (the discarding exporter) a ratio says nothing.
        ratio = f"{row['ratio']:7.2f}" if row["ratio"] < 1000 else f"{'-':>7}"
        lines.append(f"  {name:38} {row['per_span_us']:11.2f} {row['cost_us']:9.2f} {ratio}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, required=True, help="where to write JSON")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    args = parser.parse_args(argv)
    results = run(args.rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(_table("export thread (PipelineSpanExporter.export, per span)", results["export_thread"]))
    print(_table("application thread (start + end a span)", results["app_thread"]))
    for name, ok in results["meets_targets"].items():
        print(f"target {name} <= {TARGETS_US[name]} us: {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
