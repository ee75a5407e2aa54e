"""What one semconv histogram point costs in the OpenTelemetry SDK this Python has, and where it goes.

    python benchmarks/bench_points.py --out results.json
    .nox/tests-semconv-oldest/bin/python benchmarks/bench_points.py   # the oldest supported SDK

Times ``Histogram.record`` with the attribute dicts llmotel's emitter passes (6 attributes for
``gen_ai.client.operation.duration``, 7 with ``gen_ai.token.type`` for ``gen_ai.client.token.usage``)
in the span's context (an exemplar is offered) and without a span, against a ``MeterProvider`` with
one reader, one without readers and a ``NoOpMeterProvider``; then the SDK's steps one by one (the
``Measurement`` with its attribute cleaning, the exemplar filter, the storage's consume with its
attribute key, the aggregation with and without an exemplar offer). Each figure is the best of 5
repeats of ``--number`` calls, in µs. The steps reach into SDK internals to time them; what llmotel
does goes through the public API only.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any

ATTRIBUTES: dict[str, Any] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "server.address": "localhost",
    "server.port": 8080,
}
TOKEN_ATTRIBUTES: dict[str, Any] = {**ATTRIBUTES, "gen_ai.token.type": "input"}
BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


def _best(fn: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def measure(number: int) -> dict[str, Any]:
    from opentelemetry import metrics, trace
    from opentelemetry.context import Context
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics._internal.measurement import Measurement
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.version import __version__

    provider = MeterProvider([InMemoryMetricReader()])
    span = TracerProvider().get_tracer("bench").start_span("s")
    ctx, no_span = trace.set_span_in_context(span), Context()

    def histogram(meters: Any, name: str) -> Any:
        return meters.get_meter("bench").create_histogram(
            name, unit="s", explicit_bucket_boundaries_advisory=BUCKETS
        )

    h = histogram(provider, "d")
    no_readers = histogram(MeterProvider(), "d")
    no_op = histogram(metrics.NoOpMeterProvider(), "d")
    a, t = ATTRIBUTES, TOKEN_ATTRIBUTES
    record: dict[str, Callable[[], Any]] = {
        "no attributes, no span": lambda: h.record(0.5, None, no_span),
        "6 attributes, no span": lambda: h.record(0.5, a, no_span),
        "6 attributes, span context (exemplar)": lambda: h.record(0.5, a, ctx),
        "7 attributes, span context (exemplar)": lambda: h.record(7, t, ctx),
        "6 attributes, MeterProvider without readers": lambda: no_readers.record(0.5, a, ctx),
        "6 attributes, NoOpMeterProvider": lambda: no_op.record(0.5, a, ctx),
    }
    with_span = Measurement(0.5, 1, h, ctx, a)
    h.record(0.5, a, ctx)  # the aggregation of this attribute set exists from here on
    consumer = provider._measurement_consumer  # type: ignore[attr-defined]
    storage = next(iter(consumer._reader_storages.values()))
    [match] = storage._get_or_init_view_instrument_match(h)
    aggregation = next(iter(match._attributes_aggregation.values()))
    exemplar_filter = provider._sdk_config.exemplar_filter  # type: ignore[attr-defined]
    steps: dict[str, Callable[[], Any]] = {
        "time_ns": time.time_ns,
        "Measurement(6 attributes): cleans them on SDKs that do": lambda: Measurement(
            0.5, 1, h, ctx, a
        ),
        "Measurement(no attributes)": lambda: Measurement(0.5, 1, h, ctx, None),
        "exemplar filter": lambda: exemplar_filter.should_sample(0.5, 1, a, ctx),
        "storage consume (attribute key + aggregate), exemplar": lambda: match.consume_measurement(
            with_span, True
        ),
        "storage consume, no exemplar": lambda: match.consume_measurement(with_span, False),
        "aggregate, exemplar offered": lambda: aggregation.aggregate(with_span, True),
        "aggregate, no exemplar": lambda: aggregation.aggregate(with_span, False),
    }
    return {
        "sdk": __version__,
        "python": sys.version.split()[0],
        "record_us": {k: _best(fn, number) for k, fn in record.items()},
        "steps_us": {k: _best(fn, number) for k, fn in steps.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, help="write the results as JSON here")
    parser.add_argument("--number", type=int, default=50_000, help="calls per repeat")
    args = parser.parse_args(argv)
    result = measure(args.number)
    print(f"opentelemetry-sdk {result['sdk']}, Python {result['python']} (best of 5, µs)")
    for section in ("record_us", "steps_us"):
        print("one Histogram.record:" if section == "record_us" else "its steps:")
        for label, us in result[section].items():
            print(f"  {label:<58}{us:>6.2f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
