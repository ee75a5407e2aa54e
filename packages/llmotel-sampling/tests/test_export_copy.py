"""The tail sampler in front of the export pipeline: one copy of a kept span on its way to the exporter."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import (
    ReadableSpan,
    Span,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    TracerProvider,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.sampling import ProbabilisticPolicy, RateLimitingSpanProcessor, TailSamplingProcessor
from llmotel.sdk.pipeline import MutableSpan, PipelineSpanProcessor
from llmotel.sdk.spans import SpanCopy

POLICY = "llmotel.sampling.policy"


class _Spy(SpanProcessor):
    """Records what the tail sampler forwards, then hands it on (a copy made for it, to one processor)."""

    def __init__(self, next_processor: SpanProcessor) -> None:
        self.forwarded: list[ReadableSpan] = []
        self._next = next_processor

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._next.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.forwarded.append(span)
        if isinstance(span, SpanCopy) and span.owned_by(self):
            span.hand_to(self._next)
        self._next.on_end(span)

    def shutdown(self) -> None:
        self._next.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._next.force_flush(timeout_millis)


class _Tag:
    """An atomic stage that sets one attribute and records the dict it edited."""

    atomic = True

    def __init__(self, key: str) -> None:
        self.name = f"tag {key}"
        self._key = key
        self.seen: list[dict[str, object]] = []

    def __call__(self, record: MutableSpan) -> MutableSpan:
        self.seen.append(record.attributes)
        record.attributes[self._key] = True
        record.name = record.name + " tagged"
        return record


def _one_trace(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("root"):
        tracer.start_span("child", attributes={"gen_ai.request.model": "m"}).end()


def test_the_exported_span_is_the_copy_the_tail_sampler_forwarded_edited_in_place() -> None:
    exporter = InMemorySpanExporter()
    stage = _Tag("tagged")
    spy = _Spy(PipelineSpanProcessor([stage], exporter, schedule_delay_millis=60_000))
    provider = TracerProvider()
    provider.add_span_processor(TailSamplingProcessor(spy, policies=[ProbabilisticPolicy(1.0)]))
    _one_trace(provider)
    provider.force_flush()
    exported = exporter.get_finished_spans()
    assert [s.name for s in exported] == ["child tagged", "root tagged"]
    assert [type(s) for s in spy.forwarded] == [SpanCopy, SpanCopy]
    assert all(e is f for e, f in zip(exported, spy.forwarded, strict=True))
    # The stage edited the copy's own dict: no other copy of the attributes on the way.
    assert all(s is f.own_attributes for s, f in zip(stage.seen, spy.forwarded, strict=True))
    assert dict(exported[0].attributes) == {
        "gen_ai.request.model": "m",
        POLICY: "probabilistic",
        "llmotel.sampling.rate": 1.0,
        "tagged": True,
    }
    provider.shutdown()


def test_two_pipelines_behind_one_tail_sampler_do_not_see_each_others_edits() -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    both = SynchronousMultiSpanProcessor()
    both.add_span_processor(PipelineSpanProcessor([_Tag("first")], first))
    both.add_span_processor(PipelineSpanProcessor([_Tag("second")], second))
    provider = TracerProvider()
    provider.add_span_processor(TailSamplingProcessor(both, policies=[ProbabilisticPolicy(1.0)]))
    _one_trace(provider)
    provider.force_flush()
    first_spans, second_spans = first.get_finished_spans(), second.get_finished_spans()
    assert [sorted(k for k in s.attributes if k in ("first", "second")) for s in first_spans] == [
        ["first"],
        ["first"],
    ]
    assert [sorted(k for k in s.attributes if k in ("first", "second")) for s in second_spans] == [
        ["second"],
        ["second"],
    ]
    assert [s.name for s in second_spans] == ["child tagged", "root tagged"]
    provider.shutdown()


def test_behind_the_rate_limiter_too_the_copy_is_edited_in_place() -> None:
    exporter = InMemorySpanExporter()
    stage = _Tag("tagged")
    spy = _Spy(PipelineSpanProcessor([stage], exporter))
    limiter = RateLimitingSpanProcessor(spy, traces_per_second=100)
    provider = TracerProvider()
    provider.add_span_processor(TailSamplingProcessor(limiter, policies=[ProbabilisticPolicy(1.0)]))
    _one_trace(provider)
    provider.force_flush()
    exported = exporter.get_finished_spans()
    assert [s.name for s in exported] == ["child tagged", "root tagged"]
    assert all(e is f for e, f in zip(exported, spy.forwarded, strict=True))
    provider.shutdown()


def test_a_span_the_pipeline_does_not_own_is_copied_and_left_as_it_was() -> None:
    exporter = InMemorySpanExporter()
    tail_copies: list[ReadableSpan] = []

    class Keep(SpanProcessor):  # a processor that keeps what it gets, as an exporter would
        def on_end(self, span: ReadableSpan) -> None:
            tail_copies.append(span)

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return (
                True  # SDK 1.40's multi-processor stops flushing at a processor that says otherwise
            )

    both = SynchronousMultiSpanProcessor()
    both.add_span_processor(Keep())
    both.add_span_processor(PipelineSpanProcessor([_Tag("tagged")], exporter))
    provider = TracerProvider()
    provider.add_span_processor(TailSamplingProcessor(both, policies=[ProbabilisticPolicy(1.0)]))
    _one_trace(provider)
    provider.force_flush()
    assert [s.name for s in exporter.get_finished_spans()] == ["child tagged", "root tagged"]
    assert [s.name for s in tail_copies] == ["child", "root"]
    assert ["tagged" in s.attributes for s in tail_copies] == [False, False]
    provider.shutdown()
