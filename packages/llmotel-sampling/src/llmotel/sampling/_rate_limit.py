"""A span processor that caps the spans and traces per second reaching the next processor."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from llmotel.sampling import _names
from llmotel.sampling._bucket import TokenBucket
from llmotel.sampling._record import DecisionRecord
from llmotel.sdk.spans import SpanCopy

_logger = logging.getLogger(__name__)

_REFUSED, _ADMITTED = 0, 1


class RateLimitingSpanProcessor(SpanProcessor):
    """Forwards whole traces to ``next_processor`` while under a traces/s and a spans/s budget.

    The first span of a trace to end decides for the whole trace: the trace is admitted when both
    token buckets hold a token (one second's worth of burst), and every span of an admitted trace
    is forwarded, paying one span token each (the span bucket may go into debt rather than split a
    trace). Spans of refused traces are dropped and counted in
    ``llmotel.sampling.rate_limited.spans`` when a ``meter_provider`` is given. The last
    ``decision_cache_size`` trace decisions (rounded up to a power of two) are remembered, in the
    tail sampler's fixed decision table (28 bytes a trace). Unsampled spans pass through untouched.

    Wrap the exporting processor with it (or a ``TailSamplingProcessor``)::

        provider.add_span_processor(
            RateLimitingSpanProcessor(BatchSpanProcessor(exporter), spans_per_second=500)
        )
    """

    def __init__(
        self,
        next_processor: SpanProcessor,
        *,
        traces_per_second: float | None = None,
        spans_per_second: float | None = None,
        decision_cache_size: int = 10_000,
        meter_provider: MeterProvider | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if traces_per_second is None and spans_per_second is None:
            raise ValueError("give traces_per_second, spans_per_second or both")
        if decision_cache_size < 1:
            raise ValueError(f"decision_cache_size must be >= 1, got {decision_cache_size!r}")
        self._next = next_processor
        self._traces = (
            TokenBucket(traces_per_second, clock=clock) if traces_per_second is not None else None
        )
        self._spans = (
            TokenBucket(spans_per_second, clock=clock) if spans_per_second is not None else None
        )
        self._decisions = DecisionRecord(decision_cache_size)
        self._lock = threading.Lock()
        self._limited = (
            meter_provider.get_meter(_names.METER_NAME).create_counter(
                _names.RATE_LIMITED_SPANS,
                unit="{span}",
                description="Spans dropped by the rate limiter",
            )
            if meter_provider is not None
            else None
        )

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._next.on_start(span, parent_context)
        except Exception:
            _logger.exception("next span processor failed in on_start")

    def on_end(self, span: ReadableSpan) -> None:
        try:
            if self._admit(span):
                if type(span) is SpanCopy and span.owned_by(self):
                    span.hand_to(self._next)  # a copy made for us alone goes on to one processor
                self._next.on_end(span)
            elif self._limited is not None:
                self._limited.add(1)
        except Exception:
            _logger.exception("rate limiting span processor failed in on_end")

    def _admit(self, span: ReadableSpan) -> bool:
        context = span.context
        if context is None or not context.trace_flags.sampled:
            return True
        trace_id = context.trace_id
        with self._lock:
            code = self._decisions.get(trace_id)
            if code < 0:
                admitted = (self._traces is None or self._traces.available()) and (
                    self._spans is None or self._spans.available()
                )
                if admitted and self._traces is not None:
                    self._traces.take(1)
                self._decisions.add(trace_id, _ADMITTED if admitted else _REFUSED)
            else:
                admitted = code == _ADMITTED
            if admitted and self._spans is not None:
                self._spans.take(1)
            return admitted

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush ``next_processor``."""
        return self._next.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Shut ``next_processor`` down."""
        self._next.shutdown()
