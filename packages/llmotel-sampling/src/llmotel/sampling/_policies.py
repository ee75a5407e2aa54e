"""Tail-sampling policies: each looks at a whole buffered trace and says keep or not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import Protocol, runtime_checkable

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from opentelemetry.util.types import AttributeValue

from llmotel.sampling import _threshold
from llmotel.sampling._bucket import TokenBucket
from llmotel.sampling._names import COST_USD, INPUT_TOKENS, OUTPUT_TOKENS
from llmotel.sdk.spans import finished_attributes

_ERROR = StatusCode.ERROR
_NUMBER = (int, float)


@runtime_checkable
class TailPolicy(Protocol):
    """What ``TailSamplingProcessor`` asks of a policy.

    ``name`` is recorded as ``llmotel.sampling.policy`` on the spans of traces the policy kept.
    ``should_keep`` gets the spans of one trace buffered so far (the local root last when it
    ended) and must be cheap: it runs on the thread that ended the root span, under the
    processor's lock.
    """

    @property
    def name(self) -> str: ...

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool: ...


class ErrorPolicy:
    """Keeps a trace in which any span has status ERROR."""

    name = "error"

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool:
        # A loop, not any() over a generator: this runs for every trace, under the lock.
        for span in spans:  # noqa: SIM110
            if span.status.status_code is _ERROR:
                return True
        return False


class LatencyPolicy:
    """Keeps a trace whose spans cover more than ``threshold_seconds`` (first start to last end)."""

    name = "latency"

    def __init__(self, threshold_seconds: float) -> None:
        if threshold_seconds < 0:
            raise ValueError(f"threshold_seconds must be >= 0, got {threshold_seconds!r}")
        self.threshold_seconds = threshold_seconds
        self._threshold_ns = int(threshold_seconds * 1e9)

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool:
        first: int | None = None
        last: int | None = None
        for span in spans:
            start, end = span.start_time, span.end_time
            if start is not None and (first is None or start < first):
                first = start
            if end is not None and (last is None or end > last):
                last = end
        return first is not None and last is not None and last - first > self._threshold_ns


class TokenPolicy:
    """Keeps a trace whose spans report more than ``threshold`` tokens in total.

    Sums ``gen_ai.usage.input_tokens`` + ``gen_ai.usage.output_tokens`` over the trace's spans (a
    span that repeats its children's usage, such as an agent span, is counted too).
    """

    name = "tokens"

    def __init__(self, threshold: int) -> None:
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold!r}")
        self.threshold = threshold

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool:
        total = 0.0
        for span in spans:
            attributes = finished_attributes(span)
            if attributes:
                # Unrolled, with a prebuilt type tuple (``int | float`` builds a union per call).
                value = attributes.get(INPUT_TOKENS)
                if isinstance(value, _NUMBER) and type(value) is not bool:
                    total += value
                value = attributes.get(OUTPUT_TOKENS)
                if isinstance(value, _NUMBER) and type(value) is not bool:
                    total += value
        return total > self.threshold


CostFunction = Callable[[ReadableSpan], float | None]
"""Returns a span's cost in USD, or None when it has none."""


def _cost_attribute(span: ReadableSpan) -> float | None:
    value = finished_attributes(span).get(COST_USD)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


class CostPolicy:
    """Keeps a trace whose spans cost more than ``threshold_usd`` in total.

    A span's cost is its ``llmotel.cost.usd`` attribute when it has one, else ``cost(span)`` when
    given. Note that llmotel-metrics writes that attribute in an export stage, i.e. *after* tail
    sampling: to judge by price in the process, pass a ``cost`` function (e.g. one built on
    llmotel-metrics' ``Pricing``).
    """

    name = "cost"

    def __init__(self, threshold_usd: float, cost: CostFunction | None = None) -> None:
        if threshold_usd < 0:
            raise ValueError(f"threshold_usd must be >= 0, got {threshold_usd!r}")
        self.threshold_usd = threshold_usd
        self._cost = cost

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool:
        total = 0.0
        for span in spans:
            value = _cost_attribute(span)
            if value is None and self._cost is not None:
                value = self._cost(span)
            if value is not None:
                total += value
        return total > self.threshold_usd


class AttributePolicy:
    """Keeps a trace in which a span has attribute ``key`` equal to one of ``values``."""

    def __init__(self, key: str, values: Collection[AttributeValue]) -> None:
        self.key = key
        self.values = frozenset(values)
        self.name = f"attribute:{key}"

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool:
        for span in spans:
            value = finished_attributes(span).get(self.key)
            if isinstance(value, str | bool | int | float) and value in self.values:
                return True
        return False


class ProbabilisticPolicy:
    """Keeps ``ratio`` of traces: the baseline that lets ordinary traffic through.

    Uses OTEP 235 randomness: the ``rv`` a ``SessionRatioSampler`` wrote for a session (so whole
    sessions are kept or dropped together), else the trace id's low 56 bits. The ratio is
    absolute, as thresholds are: behind a head sampler of ratio ``h``, a baseline ``b < h`` exports
    ``b`` of all traffic, not ``b * h``.
    """

    name = "probabilistic"

    def __init__(self, ratio: float) -> None:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"ratio must be between 0.0 and 1.0, got {ratio!r}")
        self.ratio = ratio
        self._threshold = _threshold.threshold_for(ratio)

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool:
        context = spans[0].context if spans else None
        if context is None:
            return False
        randomness = _threshold.randomness_from_trace_state(context.trace_state)
        if randomness is None:
            randomness = context.trace_id & _threshold.RANDOMNESS_MASK
        return randomness >= self._threshold


class RateLimitPolicy:
    """Keeps traces while under ``traces_per_second`` and ``spans_per_second`` (token buckets).

    A kept trace pays one trace token and one span token per span; a trace is kept only while both
    buckets hold a token, so a large trace may put the span bucket into debt (it is never split).
    """

    name = "rate_limit"

    def __init__(
        self,
        *,
        traces_per_second: float | None = None,
        spans_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if traces_per_second is None and spans_per_second is None:
            raise ValueError("give traces_per_second, spans_per_second or both")
        self._traces = (
            TokenBucket(traces_per_second, clock=clock) if traces_per_second is not None else None
        )
        self._spans = (
            TokenBucket(spans_per_second, clock=clock) if spans_per_second is not None else None
        )
        self._lock = threading.Lock()

    def should_keep(self, spans: Sequence[ReadableSpan]) -> bool:
        with self._lock:
            if (self._traces is not None and not self._traces.available()) or (
                self._spans is not None and not self._spans.available()
            ):
                return False
            if self._traces is not None:
                self._traces.take(1)
            if self._spans is not None:
                self._spans.take(len(spans))
            return True
