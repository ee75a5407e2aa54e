"""Many threads and asyncio tasks ending spans at once: every trace decided once, whole, in full."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, Tracer

from llmotel.sampling import (
    ErrorPolicy,
    ProbabilisticPolicy,
    SessionRatioSampler,
    TailSamplingProcessor,
)
from llmotel.semconv.context import using_session

POLICY = "llmotel.sampling.policy"
THREADS = 8
TRACES_PER_WORKER = 150
TASKS = 40


def _request(tracer: Tracer, name: str, *, error: bool) -> None:
    with tracer.start_as_current_span(name), tracer.start_as_current_span(f"{name}/llm") as llm:
        if error:
            llm.set_status(Status(StatusCode.ERROR))
        with tracer.start_as_current_span(f"{name}/tool"):
            pass


async def _async_request(tracer: Tracer, name: str, *, error: bool) -> None:
    with tracer.start_as_current_span(name):
        with tracer.start_as_current_span(f"{name}/llm") as llm:
            await asyncio.sleep(0)
            if error:
                llm.set_status(Status(StatusCode.ERROR))
        await asyncio.sleep(0)
        with tracer.start_as_current_span(f"{name}/tool"):
            await asyncio.sleep(0)


def _check(spans: tuple[ReadableSpan, ...], expected_errors: int) -> None:
    traces: dict[int, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        traces[span.context.trace_id].append(span)
    errors = 0
    for trace_spans in traces.values():
        assert len(trace_spans) == 3  # whole traces only, each span exactly once
        (policy,) = {s.attributes[POLICY] for s in trace_spans}
        errors += policy == "error"
    assert errors == expected_errors


async def test_threads_and_tasks_share_one_processor(span_exporter: InMemorySpanExporter) -> None:
    processor = TailSamplingProcessor(
        SimpleSpanProcessor(span_exporter),
        [ErrorPolicy(), ProbabilisticPolicy(0.05)],
        max_traces=50,  # small: forced decisions race with root-ended ones
        decision_wait=0.02,  # and the timer thread races with both
    )
    provider = TracerProvider(sampler=SessionRatioSampler(1.0))
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("concurrency")

    def worker(index: int) -> None:
        for i in range(TRACES_PER_WORKER):
            with using_session(f"thread{index}-{i % 7}"):
                _request(tracer, f"thread{index}-{i}", error=i % 10 == 0)

    async def task(index: int) -> None:
        for i in range(TRACES_PER_WORKER // 5):
            await _async_request(tracer, f"task{index}-{i}", error=i % 10 == 0)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    await asyncio.gather(*(task(n) for n in range(TASKS)))
    for thread in threads:
        await asyncio.to_thread(thread.join)
    provider.shutdown()

    thread_errors = THREADS * (TRACES_PER_WORKER // 10)
    task_errors = TASKS * ((TRACES_PER_WORKER // 5 + 9) // 10)
    spans = span_exporter.get_finished_spans()
    # With max_traces=50 a trace can be decided early; its remaining spans must follow, so
    # every exported trace is still whole and every error trace is kept.
    _check(spans, thread_errors + task_errors)
    assert processor.buffered == (0, 0, 0)
