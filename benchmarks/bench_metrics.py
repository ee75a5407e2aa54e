"""Per-span cost of llmotel-metrics on the application thread, against a bare genai-prices call.

    python benchmarks/bench_metrics.py --out benchmarks/results/bench_metrics.json

Measures, in the same process and run (CPU time, fastest of several repeats, µs per call):

- ``genai_prices.calc_price``: what pricing every span without a cache would cost;
- ``Pricing.cost`` with a warm rate cache: the pricing part of the processor;
- ``TokenCostMetricsProcessor.on_end`` on a finished chat span, warm cache, recording into a real
  ``MeterProvider``: for a span of one of our instrumentations (cost only: the histograms are
  theirs), the same with cache-read tokens (plus one ``cache_read`` histogram point), and for a
  span of a third-party instrumentation (token and duration histograms, then cost). Each SDK
  ``Histogram.record`` costs ~10 µs (attribute validation and hashing), measured alone too;
- ``on_end`` for a span that is not a GenAI span (what every other span pays);
- after ``on_end``, the tail sampler's cost policy (``Pricing.span_cost``) and the export-side
  ``CostAttributeStage``, reading the cost the processor already computed ("priced once") against
  pricing the span again from its attributes ("priced again"), side by side.

Target: the warm-cache pricing and the processor at or under 5 µs, against ~100-200 µs per
``calc_price``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time
from collections.abc import Callable

from genai_prices import Usage, calc_price
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanKind

from llmotel.metrics import (
    COST_USD,
    CostAttributeStage,
    Pricing,
    TokenCostMetricsProcessor,
    genai_views,
)
from llmotel.sdk.pipeline import MutableSpan
from llmotel.semconv import attributes as a
from llmotel.semconv import metrics as m
from llmotel.semconv.extensions import LLMOTEL_RECORDED_METRICS

TARGET_US = 5.0


def _per_call_us(fn: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Fastest of ``repeat`` runs of the mean CPU time of one call, in microseconds.

    CPU time of this process (not wall time) and the fastest run: on a shared machine, time spent
    waiting for a core is not ours. The processor is single-threaded work on the caller's thread.
    """
    runs = []
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            fn()
        runs.append((time.process_time() - start) / number * 1e6)
    return min(runs)


#: What llmotel's instrumentations declare on their tracer's scope (llmotel.semconv.inference).
DECLARED = {
    LLMOTEL_RECORDED_METRICS: (m.GEN_AI_CLIENT_OPERATION_DURATION, m.GEN_AI_CLIENT_TOKEN_USAGE)
}


def _finished_span(
    provider: TracerProvider,
    scope: str,
    attributes: dict[str, object],
    scope_attributes: dict[str, object] | None = None,
) -> ReadableSpan:
    tracer = provider.get_tracer(scope, attributes=scope_attributes)  # type: ignore[arg-type]
    span = tracer.start_span("chat gpt-4o", kind=SpanKind.CLIENT)
    span.set_attributes(attributes)  # type: ignore[arg-type]
    span.end()
    return span  # type: ignore[return-value]


def run(number: int) -> dict[str, float]:
    usage = {"input_tokens": 1200, "output_tokens": 300, "cache_read_tokens": 1024}
    attributes: dict[str, object] = {
        a.GEN_AI_OPERATION_NAME: "chat",
        a.GEN_AI_PROVIDER_NAME: "openai",
        a.GEN_AI_REQUEST_MODEL: "gpt-4o",
        a.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
        a.GEN_AI_USAGE_INPUT_TOKENS: 1200,
        a.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
        a.SERVER_ADDRESS: "api.openai.com",
    }
    cached = {**attributes, a.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1024}
    results: dict[str, float] = {}
    results["calc_price_us"] = _per_call_us(
        lambda: calc_price(Usage(**usage), "gpt-4o-2024-08-06", provider_id="openai"),
        max(number // 50, 200),
    )
    pricing = Pricing()
    pricing.cost("openai", "gpt-4o-2024-08-06", **usage)  # warm the cache
    results["pricing_cost_warm_us"] = _per_call_us(
        lambda: pricing.cost("openai", "gpt-4o-2024-08-06", time_ns=1, **usage), number
    )

    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader], views=genai_views())
    processor = TokenCostMetricsProcessor(meters, pricing=pricing, latest_experimental=False)
    spans = TracerProvider()
    ours = _finished_span(spans, "llmotel.instrumentation.openai", attributes, DECLARED)
    ours_cached = _finished_span(spans, "llmotel.instrumentation.openai", cached, DECLARED)
    other = _finished_span(spans, "some.other.instrumentation", cached)
    plain = _finished_span(spans, "opentelemetry.instrumentation.requests", {"http.method": "GET"})
    for span in (ours, ours_cached, other):
        processor.on_end(span)
    results["processor_on_end_cost_only_us"] = _per_call_us(lambda: processor.on_end(ours), number)
    results["processor_on_end_cost_and_cache_point_us"] = _per_call_us(
        lambda: processor.on_end(ours_cached), number
    )
    results["processor_on_end_all_metrics_us"] = _per_call_us(
        lambda: processor.on_end(other), number
    )
    results["processor_on_end_non_genai_us"] = _per_call_us(lambda: processor.on_end(plain), number)
    # After on_end, the tail sampler's cost policy (span_cost) and the export stage read the cost
    # the processor left in its Pricing; "unshared" is each of them pricing the span itself (a
    # Pricing of its own, warm), as each did when every consumer priced the span again.
    unshared = Pricing()
    unshared.span_cost(ours)  # warm its rate cache
    record = MutableSpan.from_span(ours)
    shared_stage, unshared_stage = CostAttributeStage(pricing), CostAttributeStage(unshared)

    def stage(cost_stage: CostAttributeStage) -> None:
        record.attributes.pop(COST_USD, None)
        cost_stage(record)

    results["sampler_span_cost_shared_us"] = _per_call_us(lambda: pricing.span_cost(ours), number)
    results["sampler_span_cost_unshared_us"] = _per_call_us(
        lambda: unshared.span_cost(ours), number
    )
    results["stage_cost_shared_us"] = _per_call_us(lambda: stage(shared_stage), number)
    results["stage_cost_unshared_us"] = _per_call_us(lambda: stage(unshared_stage), number)
    histogram = meters.get_meter("bench").create_histogram("bench.histogram")
    point = {a.GEN_AI_OPERATION_NAME: "chat", a.GEN_AI_PROVIDER_NAME: "openai", "k": "v"}
    results["sdk_histogram_record_us"] = _per_call_us(lambda: histogram.record(5, point), number)
    meters.shutdown()
    results["speedup_pricing_vs_calc_price"] = (
        results["calc_price_us"] / results["pricing_cost_warm_us"]
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, help="write the results as JSON here")
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing run")
    args = parser.parse_args(argv)

    results = run(args.number)
    rows = [
        ("genai_prices.calc_price", results["calc_price_us"]),
        ("Pricing.cost (warm cache)", results["pricing_cost_warm_us"]),
        ("on_end: our scope, cost only", results["processor_on_end_cost_only_us"]),
        ("on_end: our scope, + cache point", results["processor_on_end_cost_and_cache_point_us"]),
        ("on_end: other scope, all metrics", results["processor_on_end_all_metrics_us"]),
        ("on_end: not a GenAI span", results["processor_on_end_non_genai_us"]),
        ("SDK Histogram.record (reference)", results["sdk_histogram_record_us"]),
        ("sampler span_cost: priced once", results["sampler_span_cost_shared_us"]),
        ("sampler span_cost: priced again", results["sampler_span_cost_unshared_us"]),
        ("cost stage (export): priced once", results["stage_cost_shared_us"]),
        ("cost stage (export): priced again", results["stage_cost_unshared_us"]),
    ]
    print(f"{'per call':<34}{'µs':>10}")
    for label, value in rows:
        print(f"{label:<34}{value:>10.2f}")
    print(f"warm pricing is {results['speedup_pricing_vs_calc_price']:.0f}x faster than calc_price")
    for label, key in (
        ("warm-cache pricing", "pricing_cost_warm_us"),
        ("on_end for our instrumentations' spans", "processor_on_end_cost_only_us"),
    ):
        verdict = "meets" if results[key] <= TARGET_US else "misses"
        print(f"{label} {verdict} the {TARGET_US:g} µs target")
    if args.out:
        payload = {
            "benchmark": "metrics",
            "python": platform.python_version(),
            "target_us": TARGET_US,
            "results": results,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
