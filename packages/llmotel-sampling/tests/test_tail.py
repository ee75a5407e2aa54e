"""TailSamplingProcessor: policies, late spans, timeouts, bounds, flush/shutdown, self-telemetry."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    set_span_in_context,
)

from llmotel.sampling import (
    AttributePolicy,
    CostPolicy,
    ErrorPolicy,
    LatencyPolicy,
    ProbabilisticPolicy,
    SessionRatioSampler,
    TailPolicy,
    TailSamplingProcessor,
    TokenPolicy,
)
from llmotel.semconv.attributes import (
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)
from llmotel.semconv.context import using_session
from llmotel.testing import metric_points

POLICY = "llmotel.sampling.policy"
RATE = "llmotel.sampling.rate"
COST = "llmotel.cost.usd"
SECOND = 1_000_000_000


class _Setup:
    def __init__(self, exporter: InMemorySpanExporter, processor: TailSamplingProcessor) -> None:
        self.exporter = exporter
        self.processor = processor
        self.provider = TracerProvider()
        self.provider.add_span_processor(processor)
        self.tracer: Tracer = self.provider.get_tracer("test")

    def exported(self) -> Sequence[ReadableSpan]:
        return self.exporter.get_finished_spans()


@pytest.fixture
def make(span_exporter: InMemorySpanExporter) -> Iterator[type[_Setup]]:
    made: list[_Setup] = []

    def build(policies: Sequence[TailPolicy] | None = None, **kwargs: object) -> _Setup:
        processor = TailSamplingProcessor(
            SimpleSpanProcessor(span_exporter),
            policies,
            **kwargs,  # type: ignore[arg-type]
        )
        setup = _Setup(span_exporter, processor)
        made.append(setup)
        return setup

    yield build  # type: ignore[misc]
    for setup in made:
        setup.provider.shutdown()


def _trace(
    tracer: Tracer,
    name: str,
    *,
    children: int = 2,
    error: bool = False,
    seconds: float = 0.001,
    child_attributes: dict[str, object] | None = None,
) -> None:
    start = time.time_ns()
    root = tracer.start_span(name, start_time=start)
    context = set_span_in_context(root)
    for i in range(children):
        child = tracer.start_span(
            f"{name}/child{i}",
            context=context,
            start_time=start,
            attributes=child_attributes,  # type: ignore[arg-type]
        )
        if error and i == children - 1:
            child.set_status(Status(StatusCode.ERROR, "boom"))
        child.end(end_time=start + 1000)
    root.end(end_time=start + int(seconds * SECOND))


def test_error_slow_expensive_and_attribute_traces_are_kept_at_a_one_percent_baseline(
    make: type[_Setup],
) -> None:
    setup = make(
        [
            ErrorPolicy(),
            LatencyPolicy(5.0),
            TokenPolicy(10_000),
            CostPolicy(0.5),
            AttributePolicy(GEN_AI_REQUEST_MODEL, {"o3"}),
            ProbabilisticPolicy(0.01),
        ]
    )
    tracer = setup.tracer
    for i in range(2000):
        _trace(tracer, f"ordinary{i}", child_attributes={GEN_AI_USAGE_INPUT_TOKENS: 100})
    for i in range(20):
        _trace(tracer, f"error{i}", error=True)
        _trace(tracer, f"slow{i}", seconds=6.0)
        _trace(
            tracer,
            f"tokens{i}",
            child_attributes={GEN_AI_USAGE_INPUT_TOKENS: 4000, GEN_AI_USAGE_OUTPUT_TOKENS: 1500},
        )
        _trace(tracer, f"cost{i}", child_attributes={COST: 0.3})
        _trace(tracer, f"model{i}", child_attributes={GEN_AI_REQUEST_MODEL: "o3"})

    exported = setup.exported()
    by_policy = Counter(str(s.attributes[POLICY]) for s in exported if s.parent is None)
    assert by_policy["error"] == 20
    assert by_policy["latency"] == 20
    assert by_policy["tokens"] == 20  # 2 children x 5500 tokens
    assert by_policy["cost"] == 20  # 2 children x 0.3 USD
    assert by_policy["attribute:gen_ai.request.model"] == 20
    assert 5 <= by_policy["probabilistic"] <= 40  # ~1 % of 2000
    assert not any(
        s.name.startswith("ordinary") for s in exported if s.attributes[POLICY] != "probabilistic"
    )
    # Every kept trace arrives whole (root + both children) with one policy on all its spans.
    traces: dict[int, list[ReadableSpan]] = {}
    for span in exported:
        traces.setdefault(span.context.trace_id, []).append(span)
    for spans in traces.values():
        assert len({s.attributes[POLICY] for s in spans}) == 1
        assert len(spans) == 3
    rates = {str(s.attributes[POLICY]): s.attributes[RATE] for s in exported}
    assert rates["probabilistic"] == 0.01
    assert rates["error"] == 1.0
    assert setup.processor.buffered == (0, 0, 0)


class _Recorder(SimpleSpanProcessor):
    """The next processor: remembers every span it is handed, sampled or not."""

    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def _open_trace(tracer: Tracer, name: str, *, error: bool = False) -> ReadableSpan:
    """A trace whose child ended but whose root is still open; returns the open root."""
    root = tracer.start_span(name)
    child = tracer.start_span(f"{name}/child", context=set_span_in_context(root))
    if error:
        child.set_status(Status(StatusCode.ERROR))
    child.end()
    return root  # type: ignore[return-value]


def test_late_spans_follow_the_decision(
    make: type[_Setup], meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    setup = make([ErrorPolicy(), ProbabilisticPolicy(0.0)], meter_provider=meter_provider)
    for error in (True, False):
        root = setup.tracer.start_span(f"root error={error}")
        late = setup.tracer.start_span("late", context=set_span_in_context(root))
        if error:
            root.set_status(Status(StatusCode.ERROR))
        root.end()
        late.end()
    assert [(s.name, s.attributes[POLICY]) for s in setup.exported()] == [
        ("root error=True", "error"),
        ("late", "error"),
    ]
    late_points = {
        (p[0]["llmotel.sampling.decision"], p[0]["llmotel.sampling.trigger"]): p[1].value
        for p in metric_points(metric_reader, "llmotel.sampling.late_spans")
    }
    assert late_points == {("keep", "root_ended"): 1, ("drop", "root_ended"): 1}


def test_forwarded_spans_are_copies_with_the_attribute_added(make: type[_Setup]) -> None:
    recorder = _Recorder()
    processor = TailSamplingProcessor(recorder, [ErrorPolicy()])
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=2))
    provider.add_span_processor(processor)
    span = provider.get_tracer("t").start_span("root", attributes={"a": 1, "b": 2, "c": 3})
    span.set_status(Status(StatusCode.ERROR))
    span.end()
    (forwarded,) = recorder.ended
    assert forwarded is not span
    assert dict(forwarded.attributes or {}) == {"b": 2, "c": 3, POLICY: "error", RATE: 1.0}
    assert forwarded.dropped_attributes == 1
    assert POLICY not in (span.attributes or {})
    assert (forwarded.name, forwarded.context, forwarded.status) == (
        span.name,
        span.context,
        span.status,
    )
    provider.shutdown()


def test_unsampled_spans_pass_through_untouched() -> None:
    recorder = _Recorder()
    provider = TracerProvider(sampler=SessionRatioSampler(0.0, record_dropped=True))
    provider.add_span_processor(TailSamplingProcessor(recorder, [ErrorPolicy()]))
    span = provider.get_tracer("t").start_span("root")
    span.end()
    assert [s.context for s in recorder.ended] == [span.get_span_context()]
    assert recorder.ended[0].attributes == {}
    provider.shutdown()


def test_timeout_decides_traces_whose_root_never_ends(
    make: type[_Setup], meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    setup = make([ErrorPolicy()], decision_wait=0.05, meter_provider=meter_provider)
    _open_trace(setup.tracer, "stuck", error=True)
    deadline = time.monotonic() + 5
    while not setup.exported() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(s.name, s.attributes[POLICY]) for s in setup.exported()] == [("stuck/child", "error")]
    (point,) = metric_points(metric_reader, "llmotel.sampling.decisions")
    assert point[0] == {
        "llmotel.sampling.decision": "keep",
        "llmotel.sampling.trigger": "timeout",
        POLICY: "error",
    }


@pytest.mark.parametrize(
    ("overflow", "kept", "decision"),
    [("evaluate", [], "drop"), ("keep", ["t1/child", "t2/child"], "keep"), ("drop", [], "drop")],
)
def test_a_full_buffer_decides_the_oldest_ordinary_trace_early(
    make: type[_Setup],
    meter_provider: MeterProvider,
    metric_reader: InMemoryMetricReader,
    overflow: str,
    kept: list[str],
    decision: str,
) -> None:
    setup = make([ErrorPolicy()], max_traces=3, overflow=overflow, meter_provider=meter_provider)
    roots = [_open_trace(setup.tracer, f"t{i}", error=i == 0) for i in range(5)]
    # t0 already holds an error: it stays buffered while the ordinary t1 and t2 are decided.
    assert [s.name for s in setup.exported()] == kept
    assert setup.processor.buffered[:2] == (3, 3)
    if overflow == "keep":
        assert {s.attributes[POLICY] for s in setup.exported()} == {"overflow"}
    forced = metric_points(metric_reader, "llmotel.sampling.forced_decisions")
    assert [(p[0], p[1].value) for p in forced] == [
        (
            {
                "llmotel.sampling.bound": "max_traces",
                "llmotel.sampling.reason": "ordinary",
                "llmotel.sampling.decision": decision,
            },
            2,
        )
    ]
    gauges = {
        name: metric_points(metric_reader, f"llmotel.sampling.buffered.{name}")[0][1].value
        for name in ("traces", "spans", "bytes")
    }
    assert gauges["traces"] == 3
    assert gauges["spans"] == 3
    assert gauges["bytes"] == setup.processor.buffered[2] > 0
    roots[0].end()  # type: ignore[attr-defined]
    assert [s.name for s in setup.exported()][-2:] == ["t0/child", "t0"]
    assert setup.exported()[-1].attributes[POLICY] == "error"


def test_matching_traces_are_decided_early_only_when_no_ordinary_one_is_left_and_are_kept(
    make: type[_Setup], meter_provider: MeterProvider, metric_reader: InMemoryMetricReader
) -> None:
    setup = make(
        [ErrorPolicy(), TokenPolicy(100)],
        max_traces=2,
        overflow="drop",
        meter_provider=meter_provider,
    )
    roots = [_open_trace(setup.tracer, f"e{i}", error=True) for i in range(3)]
    # Nothing ordinary to drop: the oldest error trace is forwarded now, whatever overflow says.
    assert [(s.name, s.attributes[POLICY]) for s in setup.exported()] == [("e0/child", "error")]
    for root in roots:
        root.end()  # type: ignore[attr-defined]
    names = [s.name for s in setup.exported()]
    assert sorted(names) == ["e0", "e0/child", "e1", "e1/child", "e2", "e2/child"]
    forced = metric_points(metric_reader, "llmotel.sampling.forced_decisions")
    assert [(p[0], p[1].value) for p in forced] == [
        (
            {
                "llmotel.sampling.bound": "max_traces",
                "llmotel.sampling.reason": "matched",
                "llmotel.sampling.decision": "keep",
            },
            1,
        )
    ]
    late = metric_points(metric_reader, "llmotel.sampling.late_spans")
    assert [(p[0], p[1].value) for p in late] == [
        ({"llmotel.sampling.decision": "keep", "llmotel.sampling.trigger": "max_traces"}, 1)
    ]


def test_a_trace_larger_than_max_spans_is_decided_early_and_its_rest_follows(
    make: type[_Setup],
) -> None:
    setup = make([ErrorPolicy()], max_spans=10)
    root = setup.tracer.start_span("big")
    context = set_span_in_context(root)
    for i in range(15):
        child = setup.tracer.start_span(f"big/{i}", context=context)
        if i == 0:
            child.set_status(Status(StatusCode.ERROR))
        child.end()
    root.end()
    assert len(setup.exported()) == 16
    assert setup.processor.buffered == (0, 0, 0)


def _open_parent(trace_id: int) -> Context:
    """A context whose current span is a sampled, local, non-recording parent: children buffer."""
    parent = SpanContext(trace_id, 1, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return set_span_in_context(NonRecordingSpan(parent))


@pytest.mark.slow
def test_one_hundred_thousand_open_traces_stay_under_the_byte_bound(make: type[_Setup]) -> None:
    max_bytes = 4 * 1024 * 1024
    setup = make([ErrorPolicy()], max_traces=1_000_000, max_spans=1_000_000, max_bytes=max_bytes)
    tracer = setup.tracer
    attributes = {GEN_AI_REQUEST_MODEL: "gpt-4o", GEN_AI_USAGE_INPUT_TOKENS: 12}
    peak = 0
    for i in range(100_000):
        tracer.start_span("llm", context=_open_parent(i + 1), attributes=attributes).end()
        if i % 1000 == 0:
            peak = max(peak, setup.processor.buffered[2])
    traces, spans, nbytes = setup.processor.buffered
    assert max(peak, nbytes) <= max_bytes
    assert 500 < traces == spans < 100_000
    assert setup.processor.effective_rate == 0.0  # every forced decision dropped (no errors)


@pytest.mark.parametrize(
    "max_bytes",
    [
        pytest.param(10**12, id="SDK spans"),
        pytest.param(8 * 1024 * 1024, id="compact copies"),  # 2000 SDK spans would take ~9 MB
    ],
)
def test_the_byte_estimate_covers_what_buffered_spans_really_hold(
    make: type[_Setup], max_bytes: int
) -> None:
    setup = make([ErrorPolicy()], max_traces=10**6, max_spans=10**6, max_bytes=max_bytes)
    tracer = setup.tracer
    tracer.start_span("warm-up").end()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(2000):
            attributes = {GEN_AI_REQUEST_MODEL: "gpt-4o", GEN_AI_INPUT_MESSAGES: f"{i}" * 300}
            tracer.start_span("chat", context=_open_parent(i + 1), attributes=attributes).end()
        gc.collect()
        actual = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    traces, _spans, estimated = setup.processor.buffered
    assert traces == 2000  # nothing decided: copies made the room
    assert actual <= estimated * 1.05
    assert estimated <= actual * 1.5


def test_force_flush_decides_and_forwards_what_is_buffered(make: type[_Setup]) -> None:
    setup = make([ErrorPolicy()])
    error_root = _open_trace(setup.tracer, "error", error=True)
    ordinary_root = _open_trace(setup.tracer, "ordinary")
    assert setup.exported() == ()
    assert setup.processor.force_flush() is True
    assert [s.name for s in setup.exported()] == ["error/child"]
    assert setup.processor.buffered == (0, 0, 0)
    error_root.end()  # type: ignore[attr-defined]
    ordinary_root.end()  # type: ignore[attr-defined]
    assert [s.name for s in setup.exported()] == ["error/child", "error"]


def test_shutdown_decides_what_is_buffered_and_stops_the_timer(make: type[_Setup]) -> None:
    setup = make([ErrorPolicy()])
    root = _open_trace(setup.tracer, "error", error=True)
    timer = setup.processor._timer
    setup.processor.shutdown()
    assert not timer.is_alive()
    assert [s.name for s in setup.exported()] == ["error/child"]
    root.end()  # type: ignore[attr-defined]  # late, kept: follows the decision
    setup.tracer.start_span("after shutdown").end()  # dropped, no error
    assert [s.name for s in setup.exported()] == ["error/child"]
    setup.processor.shutdown()  # idempotent


class _Broken:
    name = "broken"

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool:
        raise RuntimeError("bug in a user policy")


def test_a_failing_policy_is_skipped_not_raised(
    make: type[_Setup], caplog: pytest.LogCaptureFixture
) -> None:
    setup = make([_Broken(), ProbabilisticPolicy(1.0)])
    setup.tracer.start_span("root").end()
    assert [s.attributes[POLICY] for s in setup.exported()] == ["probabilistic"]
    assert "tail sampling policy 'broken' failed" in caplog.text


def test_the_baseline_keeps_whole_sessions_with_the_head_samplers_randomness(
    span_exporter: InMemorySpanExporter,
) -> None:
    provider = TracerProvider(sampler=SessionRatioSampler(1.0))
    provider.add_span_processor(
        TailSamplingProcessor(SimpleSpanProcessor(span_exporter), [ProbabilisticPolicy(0.3)])
    )
    tracer = provider.get_tracer("t")
    for _ in range(3):
        for i in range(200):
            with using_session(f"s{i}"), tracer.start_as_current_span(f"s{i}"):
                pass
    counts = Counter(s.name for s in span_exporter.get_finished_spans())
    assert set(counts.values()) == {3}
    assert 30 < len(counts) < 90
    provider.shutdown()


def test_configuration_is_validated() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        TailSamplingProcessor(_Recorder(), max_bytes=0)
    with pytest.raises(ValueError, match="overflow"):
        TailSamplingProcessor(_Recorder(), overflow="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="decision_wait"):
        TailSamplingProcessor(_Recorder(), decision_wait=0)
