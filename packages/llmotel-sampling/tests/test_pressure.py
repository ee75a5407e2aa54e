"""The tail sampler under memory pressure: what it keeps, that it decides each trace once, and its bounds.

Fast variants of stress/stress_sampling.py: a few hundred interleaved sessions with tiny caps.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import Span, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, set_span_in_context

from llmotel.sampling import (
    CostPolicy,
    ErrorPolicy,
    LatencyPolicy,
    ProbabilisticPolicy,
    TailSamplingProcessor,
    TokenPolicy,
)
from llmotel.semconv.attributes import GEN_AI_USAGE_INPUT_TOKENS
from llmotel.testing import metric_points

COST = "llmotel.cost.usd"
POLICY = "llmotel.sampling.policy"
SECOND = 1_000_000_000
SESSIONS = 400
PER_CLASS = 10
CLASSES = ("error", "slow", "tokens", "cost")


def _points(reader: InMemoryMetricReader, name: str) -> dict[tuple[str, ...], int]:
    return {
        tuple(str(v) for v in attributes.values()): int(point.value)
        for attributes, point in metric_points(reader, name)
    }


class _Sessions:
    """SESSIONS traces run in lock step: root starts, call 1 ends, call 2 ends, tool ends, root ends.

    A class trace shows its class in call ``signal_call``: an ERROR status, a call slower than the
    latency threshold (explicit timestamps), or the tokens/cost that pass the thresholds.
    """

    def __init__(self, processor: TailSamplingProcessor, signal_call: int) -> None:
        self.processor = processor
        self.signal_call = signal_call
        provider = TracerProvider()
        provider.add_span_processor(processor)
        self.provider = provider
        self.tracer = provider.get_tracer("pressure")
        kinds = ["ordinary"] * (SESSIONS - PER_CLASS * len(CLASSES))
        for kind in CLASSES:
            kinds += [kind] * PER_CLASS
        random.Random(7).shuffle(kinds)
        self.kinds = kinds
        self.peak_bytes = 0

    def _end(self, span: Span, end_time: int | None = None) -> None:
        span.end(end_time=end_time)
        self.peak_bytes = max(self.peak_bytes, self.processor.buffered[2])

    def run(self) -> dict[int, str]:
        start = time.time_ns()
        roots = [self.tracer.start_span("invoke_agent", start_time=start) for _ in self.kinds]
        for call in (1, 2):
            for root, kind in zip(roots, self.kinds, strict=True):
                signal = call == self.signal_call and kind != "ordinary"
                attributes: dict[str, float] = {GEN_AI_USAGE_INPUT_TOKENS: 800, COST: 0.001}
                if kind == "tokens" and call <= self.signal_call:
                    attributes[GEN_AI_USAGE_INPUT_TOKENS] = 60_000 // self.signal_call
                if kind == "cost" and call <= self.signal_call:
                    attributes[COST] = 1.2 / self.signal_call
                chat = self.tracer.start_span(
                    "chat", context=set_span_in_context(root), attributes=attributes
                )
                if signal and kind == "error":
                    chat.set_status(Status(StatusCode.ERROR))
                    root.set_status(Status(StatusCode.ERROR))
                slow = signal and kind == "slow"
                self._end(chat, start + 20 * SECOND if slow else None)  # type: ignore[arg-type]
        for root in roots:
            self.tracer.start_span("execute_tool", context=set_span_in_context(root)).end()
        for root in roots:
            self._end(root)  # type: ignore[arg-type]
        self.provider.force_flush()
        return {
            root.get_span_context().trace_id: kind
            for root, kind in zip(roots, self.kinds, strict=True)
        }


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def _processor(
    exporter: InMemorySpanExporter, reader: InMemoryMetricReader, **caps: int
) -> TailSamplingProcessor:
    return TailSamplingProcessor(
        SimpleSpanProcessor(exporter),
        [
            ErrorPolicy(),
            LatencyPolicy(10.0),
            TokenPolicy(50_000),
            CostPolicy(1.0),
            ProbabilisticPolicy(0.1),
        ],
        meter_provider=MeterProvider(metric_readers=[reader]),
        **caps,  # type: ignore[arg-type]
    )


def _kept(exporter: InMemorySpanExporter, kinds: dict[int, str]) -> tuple[Counter[str], int]:
    """Kept traces per kind, and how many kept traces miss a span (every trace has 4)."""
    spans = Counter(span.context.trace_id for span in exporter.get_finished_spans())
    return Counter(kinds[t] for t in spans), sum(1 for n in spans.values() if n != 4)


CAPS = {
    "max_traces": {"max_traces": 60},
    "max_bytes": {"max_bytes": 256 * 1024},  # room for ~140 traces (as compact copies)
}


@pytest.fixture(params=list(CAPS))
def caps(request: pytest.FixtureRequest) -> dict[str, int]:
    return CAPS[request.param]


def test_traces_that_show_their_class_before_the_bound_is_hit_are_all_kept_whole(
    span_exporter: InMemorySpanExporter, reader: InMemoryMetricReader, caps: dict[str, int]
) -> None:
    processor = _processor(span_exporter, reader, **caps)
    sessions = _Sessions(processor, signal_call=1)
    kinds = sessions.run()
    kept, incomplete = _kept(span_exporter, kinds)
    assert {kind: kept[kind] for kind in CLASSES} == dict.fromkeys(CLASSES, PER_CLASS)
    assert incomplete == 0
    assert 10 < kept["ordinary"] < 70  # the 10 % baseline of 360
    assert processor.decided_traces == SESSIONS  # once each: late spans follow the decision
    assert sessions.peak_bytes <= processor.max_buffered_bytes
    bound = next(iter(caps))
    forced = _points(reader, "llmotel.sampling.forced_decisions")
    assert sum(forced.values()) > SESSIONS // 2
    # Ordinary traces went first; the class traces stayed buffered until their roots ended.
    assert {key[:2] for key in forced} == {(bound, "ordinary")}
    late = _points(reader, "llmotel.sampling.late_spans")
    assert {key[1] for key in late} == {bound}
    # An early-decided trace was decided on call 1 or on calls 1 and 2: 3 or 2 spans came late.
    assert 2 * sum(forced.values()) <= sum(late.values()) <= 3 * sum(forced.values())


def test_a_trace_decided_early_before_its_class_showed_is_dropped_whole_never_in_part(
    span_exporter: InMemorySpanExporter, reader: InMemoryMetricReader, caps: dict[str, int]
) -> None:
    processor = _processor(span_exporter, reader, **caps)
    sessions = _Sessions(processor, signal_call=2)
    kinds = sessions.run()
    kept, incomplete = _kept(span_exporter, kinds)
    assert incomplete == 0
    assert processor.decided_traces == SESSIONS
    assert sessions.peak_bytes <= processor.max_buffered_bytes
    for kind in CLASSES:  # lock step: most were decided on call 1 alone
        assert kept[kind] < PER_CLASS
    dropped_late = sum(
        n for key, n in _points(reader, "llmotel.sampling.late_spans").items() if key[0] == "drop"
    )
    assert dropped_late > 0


def test_under_byte_pressure_buffered_spans_are_copied_before_any_trace_is_decided(
    span_exporter: InMemorySpanExporter, reader: InMemoryMetricReader
) -> None:
    # 400 traces of SDK spans would take ~3 MB; as compact copies they fit in 2 MiB.
    processor = _processor(span_exporter, reader, max_bytes=2 * 1024 * 1024)
    sessions = _Sessions(processor, signal_call=2)
    kinds = sessions.run()
    kept, incomplete = _kept(span_exporter, kinds)
    assert {kind: kept[kind] for kind in CLASSES} == dict.fromkeys(CLASSES, PER_CLASS)
    assert incomplete == 0
    assert _points(reader, "llmotel.sampling.forced_decisions") == {}
    assert sessions.peak_bytes <= processor.max_buffered_bytes


def test_a_trace_open_longer_than_the_latency_threshold_is_not_decided_before_ordinary_ones(
    span_exporter: InMemorySpanExporter, reader: InMemoryMetricReader
) -> None:
    processor = TailSamplingProcessor(
        SimpleSpanProcessor(span_exporter),
        [LatencyPolicy(0.05)],
        max_traces=2,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    slow = tracer.start_span("slow")
    tracer.start_span("slow/child", context=set_span_in_context(slow)).end()
    time.sleep(0.06)
    fresh = [tracer.start_span(f"fresh{i}") for i in range(2)]
    for root in fresh:
        tracer.start_span("child", context=set_span_in_context(root)).end()
    # The bound is hit: the slow trace (open 60 ms, its child 0 ms) stays, fresh0 goes.
    assert processor.buffered[0] == 2
    assert span_exporter.get_finished_spans() == ()
    slow.end()
    assert [s.name for s in span_exporter.get_finished_spans()] == ["slow/child", "slow"]
    forced = _points(reader, "llmotel.sampling.forced_decisions")
    assert forced == {("max_traces", "ordinary", "drop"): 1}
    provider.shutdown()
