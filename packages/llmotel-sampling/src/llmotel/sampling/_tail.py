"""The tail-sampling span processor: buffer each trace, decide when its local root ends."""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.util.types import AttributeValue

from llmotel.sampling import _names
from llmotel.sampling._policies import (
    AttributePolicy,
    CostPolicy,
    ErrorPolicy,
    LatencyPolicy,
    ProbabilisticPolicy,
    TailPolicy,
    TokenPolicy,
)
from llmotel.sampling._record import DECISION_BYTES, DecisionRecord
from llmotel.sdk.spans import SPAN_BYTES, SpanCopy, estimate_bytes

_logger = logging.getLogger(__name__)

OverflowDecision = Literal["evaluate", "keep", "drop"]
"""What happens to a trace decided early because a buffer bound was hit."""

OVERFLOW_DECISIONS: tuple[OverflowDecision, ...] = ("evaluate", "keep", "drop")

_TRACE_BYTES = 400  # a buffered trace's bookkeeping (checked with the spans' estimate)
# A span the processor copied (SpanCopy, sharing context, status and events with the original) is
# ~650-750 B with 5 short attributes (3.11-3.12), ~400 B before them; the SDK span it replaces is
# freed.
_COPY_BYTES = 600

_DROPPED = -1
_OVERFLOW_KEPT = "overflow"
# What decided a trace; its index is stored with the decision (for the late spans' telemetry).
_TRIGGERS = ("root_ended", "timeout", "max_traces", "max_spans", "max_bytes", "flush", "shutdown")
_TRIGGER_INDEX = {trigger: index for index, trigger in enumerate(_TRIGGERS)}
# The default decision record's share of max_bytes stops growing at 2**20 decisions.
_MAX_RECORD_BYTES = 2**20 * DECISION_BYTES
# The most policies a decision code holds (decision + 1 in its low byte).
_MAX_POLICIES = 254


class _Trace:
    __slots__ = ("copied", "created", "nbytes", "rule", "spans")

    def __init__(self, created: float) -> None:
        self.created = created
        self.spans: list[ReadableSpan] = []
        self.nbytes = _TRACE_BYTES
        self.rule = -1  # index of a rule policy the trace already matches, found under pressure
        self.copied = 0  # spans[:copied] are compact copies (made under memory pressure)


@dataclass(slots=True)
class _Outcome:
    spans: list[ReadableSpan]
    mark: dict[str, AttributeValue] | None  # None: dropped
    trigger: str
    policy: str | None
    reason: str | None = None  # forced decisions: "ordinary" or "matched"


def _forwarded(span: ReadableSpan, mark: dict[str, AttributeValue], to: SpanProcessor) -> SpanCopy:
    """The span as forwarded to ``to`` (finished spans are frozen): a copy, or the buffered copy
    itself, with ``mark`` added; made for ``to`` alone, so ``to`` owns it and may edit it in place."""
    copy = span if type(span) is SpanCopy else SpanCopy(span)
    copy.own_attributes.update(mark)
    return copy.hand_to(to)


def _open_longer_than(spans: Sequence[ReadableSpan], threshold_ns: int, now_ns: int) -> bool:
    """Whether a trace whose root has not ended has been running longer than ``threshold_ns``.

    Its root ends after ``now_ns``, so its latency (first start to last end) is at least
    ``now_ns`` minus its earliest known start.
    """
    first: int | None = None
    for span in spans:
        start = span.start_time
        if start is not None and (first is None or start < first):
            first = start
    return first is not None and now_ns - first > threshold_ns


_DETERMINISTIC = (ErrorPolicy, LatencyPolicy, TokenPolicy, CostPolicy, AttributePolicy)


def _mark_for(policy_name: str, policy: TailPolicy | None) -> dict[str, AttributeValue]:
    mark: dict[str, AttributeValue] = {_names.SAMPLING_POLICY: policy_name}
    if isinstance(policy, ProbabilisticPolicy):
        mark[_names.SAMPLING_RATE] = policy.ratio
    elif isinstance(policy, _DETERMINISTIC):
        mark[_names.SAMPLING_RATE] = 1.0
    return mark


class TailSamplingProcessor(SpanProcessor):
    """Decides per whole trace which spans reach ``next_processor`` (usually the exporting one).

    Add it to the ``TracerProvider`` *instead of* the exporting processor, wrapping it::

        provider.add_span_processor(
            TailSamplingProcessor(
                BatchSpanProcessor(OTLPSpanExporter()),
                policies=[ErrorPolicy(), LatencyPolicy(10.0), ProbabilisticPolicy(0.01)],
            )
        )

    Sampled spans are buffered per trace until the trace's local root ends (a span without a
    parent or with a remote one) or ``decision_wait`` seconds after its first span ended. Then the
    policies are asked in order; the first that matches keeps the trace and its spans go to
    ``next_processor.on_end`` carrying ``llmotel.sampling.policy`` (the policy's name) and, when
    known, ``llmotel.sampling.rate`` (the probability the trace had of being kept: 1.0 for
    error/latency/tokens/cost/attribute, the ratio for the probabilistic baseline). Traces no
    policy keeps are dropped. A kept span is forwarded as a ``SpanCopy`` made for
    ``next_processor`` alone (``SpanCopy.hand_to``), which a ``PipelineSpanProcessor`` edits and
    exports itself. Each trace is decided once: spans that end after its decision
    follow it. Unsampled spans (``RECORD_ONLY``) are passed through untouched, exporting
    processors ignore them.

    Memory is bounded: when more than ``max_traces`` traces, ``max_spans`` spans or (estimated)
    ``max_bytes`` bytes are buffered, traces are decided early, oldest first, in two tiers. Before
    that, over ``max_bytes``, the buffered SDK spans are replaced by compact copies of the same
    contents (about 2.3 KB less per span, the attribute values are shared), oldest trace first.
    *Ordinary* traces go first: the oldest is checked against the rule policies (error, latency,
    tokens, cost, attribute; latency counts the time the trace has been open); if one matches, the
    trace moves to the second tier and stays buffered, otherwise it is decided by ``overflow``:
    ``"evaluate"`` asks the policies about what has arrived, ``"keep"`` keeps it (marked
    ``overflow``), ``"drop"`` drops it. Only when no ordinary trace is left is the oldest
    *matching* trace decided early, and it is kept. Any decision made before the root ended
    counts the time the trace has been open as its latency so far.

    Decisions are remembered in a fixed table of ``DECISION_BYTES`` (28) bytes a trace, so the
    spans that end after a trace was decided follow that decision: by default as many decisions
    as fit in a sixteenth of ``max_bytes`` (a power of two: 131,072 at 64 MiB, 16,384 at 8 MiB,
    at most 1,048,576),
    or ``decision_cache_size`` rounded up to a power of two. ``max_bytes`` bounds everything the
    processor holds: the decision table, an eighth as headroom for transient allocations, and the
    buffered spans get the rest.

    ``force_flush`` and ``shutdown`` decide every buffered trace now (by the policies, on what has
    arrived), forward the kept spans, then flush or shut down ``next_processor``; spans of those
    traces that end later follow the decision.

    With a ``meter_provider``, it reports ``llmotel.sampling.buffered.{traces,spans,bytes}``
    (gauges), ``llmotel.sampling.decisions`` (by ``llmotel.sampling.decision`` keep/drop,
    ``llmotel.sampling.policy`` and ``llmotel.sampling.trigger``),
    ``llmotel.sampling.forced_decisions`` (by ``llmotel.sampling.bound``,
    ``llmotel.sampling.reason`` ordinary/matched and ``llmotel.sampling.decision``) and
    ``llmotel.sampling.late_spans`` (by ``llmotel.sampling.decision`` and the
    ``llmotel.sampling.trigger`` of the decision they followed).

    Policies run on the thread that ended the root span (or the timer thread), under a lock: keep
    them cheap. The processor never raises into the application.
    """

    def __init__(
        self,
        next_processor: SpanProcessor,
        policies: Sequence[TailPolicy] | None = None,
        *,
        decision_wait: float = 30.0,
        max_traces: int = 10_000,
        max_spans: int = 100_000,
        max_bytes: int = 64 * 1024 * 1024,
        overflow: OverflowDecision = "evaluate",
        decision_cache_size: int | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if decision_wait <= 0:
            raise ValueError(f"decision_wait must be > 0 seconds, got {decision_wait!r}")
        for name, value in (
            ("max_traces", max_traces),
            ("max_spans", max_spans),
            ("max_bytes", max_bytes),
            ("decision_cache_size", 1 if decision_cache_size is None else decision_cache_size),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value!r}")
        if overflow not in OVERFLOW_DECISIONS:
            raise ValueError(f"overflow must be one of {OVERFLOW_DECISIONS}, got {overflow!r}")
        self._next = next_processor
        self._policies: list[TailPolicy] = (
            list(policies) if policies is not None else [ErrorPolicy(), ProbabilisticPolicy(0.1)]
        )
        if len(self._policies) > _MAX_POLICIES:
            raise ValueError(f"at most {_MAX_POLICIES} policies, got {len(self._policies)}")
        self._marks = [_mark_for(policy.name, policy) for policy in self._policies]
        self._overflow_mark = _mark_for(_OVERFLOW_KEPT, None)
        # Asked about a trace before its decision (under pressure): pure and monotonic.
        self._rules = [
            (index, policy)
            for index, policy in enumerate(self._policies)
            if isinstance(policy, _DETERMINISTIC)
        ]
        self._decision_wait = decision_wait
        self._max_traces = max_traces
        self._max_spans = max_spans
        self._overflow = overflow
        # max_bytes bounds all the processor holds: the decision record, an eighth of headroom
        # for transient allocations (dict rebuilds), the buffered spans get the rest.
        if decision_cache_size is None:
            self._record = DecisionRecord.within(min(max_bytes // 16, _MAX_RECORD_BYTES))
        else:
            self._record = DecisionRecord(
                max(1, min(decision_cache_size, max_bytes // 8 // DECISION_BYTES))
            )
        self._max_bytes = max_bytes - max_bytes // 8 - self._record.nbytes

        self._lock = threading.Lock()
        # Buffered traces by id, oldest first: ordinary ones, and those already matching a rule.
        self._traces: OrderedDict[int, _Trace] = OrderedDict()
        self._matched: OrderedDict[int, _Trace] = OrderedDict()
        # Buffered traces holding SDK spans not yet copied, oldest first (see _compact).
        self._uncopied: OrderedDict[int, _Trace] = OrderedDict()
        self._span_count = 0
        self._byte_count = 0
        self._kept_traces = 0
        self._decided_traces = 0
        self._shutdown = False
        self._telemetry = _Telemetry(self, meter_provider) if meter_provider is not None else None

        self._wakeup = threading.Event()
        self._timer = self._start_timer()
        weak_self = weakref.ref(self)

        def after_fork() -> None:
            processor = weak_self()
            if processor is not None:
                processor._reset_after_fork()

        os.register_at_fork(after_in_child=after_fork)

    # -- public surface ----------------------------------------------------------------------

    @property
    def policies(self) -> Sequence[TailPolicy]:
        """The policies, in the order they are asked."""
        return tuple(self._policies)

    @property
    def effective_rate(self) -> float:
        """Kept traces / decided traces so far (1.0 before the first decision)."""
        decided = self._decided_traces
        return self._kept_traces / decided if decided else 1.0

    @property
    def decided_traces(self) -> int:
        """Traces decided so far (each trace is decided once while its decision is remembered)."""
        return self._decided_traces

    @property
    def buffered(self) -> tuple[int, int, int]:
        """(traces, spans, estimated bytes) buffered now."""
        return len(self._traces) + len(self._matched), self._span_count, self._byte_count

    @property
    def max_buffered_bytes(self) -> int:
        """The bound on the estimated bytes of buffered spans: ``max_bytes`` less the decision
        record and the headroom."""
        return self._max_bytes

    @property
    def decision_record_size(self) -> tuple[int, int]:
        """(decisions remembered at most, bytes the record holds)."""
        return self._record.capacity, self._record.nbytes

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._next.on_start(span, parent_context)
        except Exception:
            _logger.exception("next span processor failed in on_start")

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self._on_end(span)
        except Exception:
            _logger.exception("tail sampling failed; span dropped")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Decide every buffered trace now, forward kept spans, then flush ``next_processor``."""
        deadline = time.monotonic() + timeout_millis / 1000
        self._decide_all("flush")
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        try:
            return self._next.force_flush(remaining)
        except Exception:
            _logger.exception("next span processor failed in force_flush")
            return False

    def shutdown(self) -> None:
        """Stop the timer, decide and forward what is buffered, shut ``next_processor`` down."""
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        self._wakeup.set()
        if self._timer.is_alive() and self._timer is not threading.current_thread():
            self._timer.join()
        self._decide_all("shutdown")
        try:
            self._next.shutdown()
        except Exception:
            _logger.exception("next span processor failed in shutdown")

    # -- the hot path ------------------------------------------------------------------------

    def _on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or not context.trace_flags.sampled:
            self._forward(span, None)
            return
        trace_id = context.trace_id
        parent = span.parent
        is_root = parent is None or parent.is_remote
        size = estimate_bytes(span)
        outcomes: list[_Outcome] = []
        late = -1
        with self._lock:
            trace = self._traces.get(trace_id) or self._matched.get(trace_id)
            if trace is None:
                late = self._record.get(trace_id)
                if late < 0:
                    if self._shutdown:
                        return  # nothing buffers after shutdown
                    trace = self._traces[trace_id] = _Trace(time.monotonic())
                    self._byte_count += _TRACE_BYTES
            if trace is not None:
                self._buffer(trace_id, trace, span, size, is_root, outcomes)
        if late >= 0:
            self._late(span, late)
        if outcomes:
            self._finish(outcomes)

    def _buffer(
        self,
        trace_id: int,
        trace: _Trace,
        span: ReadableSpan,
        size: int,
        is_root: bool,
        outcomes: list[_Outcome],
    ) -> None:
        spans = trace.spans
        if len(spans) == trace.copied:
            self._uncopied[trace_id] = trace
        spans.append(span)
        trace.nbytes += size
        self._span_count += 1
        self._byte_count += size
        if is_root:
            del (self._traces if trace.rule < 0 else self._matched)[trace_id]
            outcomes.append(self._decide_locked(trace_id, trace, "root_ended", "evaluate"))
        now_ns = 0
        while True:
            if len(self._traces) + len(self._matched) > self._max_traces:
                bound = "max_traces"
            elif self._span_count > self._max_spans:
                bound = "max_spans"
            elif self._byte_count > self._max_bytes:
                if self._uncopied:  # first make room by copying, deciding nothing
                    self._compact(self._uncopied.popitem(last=False)[1])
                    continue
                bound = "max_bytes"
            else:
                return
            now_ns = now_ns or time.time_ns()
            if self._traces:
                oldest_id, oldest = self._traces.popitem(last=False)
                oldest.rule = self._matching_rule(oldest.spans, now_ns)
                if oldest.rule >= 0:
                    self._matched[oldest_id] = oldest  # stays buffered; ordinary traces go first
                    continue
                outcome = self._decide_locked(oldest_id, oldest, bound, self._overflow, now_ns)
                outcome.reason = "ordinary"
            elif self._matched:
                oldest_id, oldest = self._matched.popitem(last=False)
                outcome = self._decide_locked(oldest_id, oldest, bound, "evaluate", now_ns)
                outcome.reason = "matched"
            else:
                return
            outcomes.append(outcome)

    def _compact(self, trace: _Trace) -> None:
        """Replace the trace's SDK spans by compact copies: same contents, ~2.3 KB less each.

        Only under memory pressure (the copy costs about what forwarding a kept span does, and a
        kept span's copy is reused); memory is freed when nothing else holds the SDK's span.
        """
        spans = trace.spans
        copied = trace.copied
        for index in range(copied, len(spans)):
            spans[index] = SpanCopy(spans[index])
        saved = (len(spans) - copied) * (SPAN_BYTES - _COPY_BYTES)
        trace.copied = len(spans)
        trace.nbytes -= saved
        self._byte_count -= saved

    def _matching_rule(self, spans: Sequence[ReadableSpan], now_ns: int) -> int:
        """The index of the first rule policy a not yet decided trace matches, or -1."""
        for index, policy in self._rules:
            try:
                if policy.should_keep(spans) or (
                    isinstance(policy, LatencyPolicy)
                    and _open_longer_than(spans, policy._threshold_ns, now_ns)
                ):
                    return index
            except Exception:
                _logger.exception("tail sampling policy %r failed", policy.name)
        return -1

    def _decide_locked(
        self,
        trace_id: int,
        trace: _Trace,
        trigger: str,
        how: OverflowDecision,
        now_ns: int | None = None,
    ) -> _Outcome:
        """Decide one trace already removed from the buffer; caller holds the lock.

        ``now_ns`` is given when the trace's root has not ended: its open time counts as latency.
        """
        self._span_count -= len(trace.spans)
        self._byte_count -= trace.nbytes
        if trace.copied < len(trace.spans):
            self._uncopied.pop(trace_id, None)
        decision = _DROPPED
        if how == "keep":
            decision = len(self._policies)
        elif how == "evaluate":
            for index, policy in enumerate(self._policies):
                try:
                    keep = policy.should_keep(trace.spans) or (
                        now_ns is not None
                        and isinstance(policy, LatencyPolicy)
                        and _open_longer_than(trace.spans, policy._threshold_ns, now_ns)
                    )
                except Exception:
                    _logger.exception("tail sampling policy %r failed", policy.name)
                    keep = False
                if keep:
                    decision = index
                    break
            if decision == _DROPPED and trace.rule >= 0:
                decision = trace.rule  # matched a rule once: a trace that matched is kept
        self._record.add(trace_id, _TRIGGER_INDEX[trigger] << 8 | (decision + 1))
        self._decided_traces += 1
        if decision == _DROPPED:
            return _Outcome(trace.spans, None, trigger, None)
        self._kept_traces += 1
        mark = self._mark(decision)
        return _Outcome(trace.spans, mark, trigger, str(mark[_names.SAMPLING_POLICY]))

    def _mark(self, decision: int) -> dict[str, AttributeValue]:
        return self._marks[decision] if decision < len(self._marks) else self._overflow_mark

    def _late(self, span: ReadableSpan, code: int) -> None:
        decision = (code & 0xFF) - 1
        kept = decision != _DROPPED
        if kept:
            self._forward(span, self._mark(decision))
        if self._telemetry is not None:
            self._telemetry.late_span(kept, _TRIGGERS[code >> 8])

    def _finish(self, outcomes: Iterable[_Outcome]) -> None:
        for outcome in outcomes:
            mark = outcome.mark
            if mark is not None:
                # _forward inlined: this loop runs for every kept span.
                next_processor = self._next
                on_end = next_processor.on_end
                for span in outcome.spans:
                    try:
                        on_end(_forwarded(span, mark, next_processor))
                    except Exception:
                        _logger.exception("next span processor failed in on_end")
            if self._telemetry is not None:
                self._telemetry.decided(outcome)

    def _forward(self, span: ReadableSpan, mark: dict[str, AttributeValue] | None) -> None:
        try:
            self._next.on_end(span if mark is None else _forwarded(span, mark, self._next))
        except Exception:
            _logger.exception("next span processor failed in on_end")

    # -- decisions off the hot path ----------------------------------------------------------

    def _decide_all(self, trigger: str) -> None:
        with self._lock:
            now_ns = time.time_ns()
            outcomes = [
                self._decide_locked(trace_id, trace, trigger, "evaluate", now_ns)
                for traces in (self._matched, self._traces)
                for trace_id, trace in traces.items()
            ]
            self._traces.clear()
            self._matched.clear()
            self._uncopied.clear()
        self._finish(outcomes)

    def _expire(self, now: float) -> None:
        outcomes: list[_Outcome] = []
        with self._lock:
            now_ns = time.time_ns()
            for traces in (self._matched, self._traces):
                while traces:
                    trace_id, trace = next(iter(traces.items()))
                    if now - trace.created < self._decision_wait:
                        break
                    del traces[trace_id]
                    outcomes.append(
                        self._decide_locked(trace_id, trace, "timeout", "evaluate", now_ns)
                    )
        self._finish(outcomes)

    def _start_timer(self) -> threading.Thread:
        tick = min(max(self._decision_wait / 10, 0.01), 1.0)
        wakeup = self._wakeup
        weak_self = weakref.ref(self)

        def run() -> None:
            # Holds only a weak reference, so a forgotten processor can be collected.
            while not wakeup.wait(tick):
                processor = weak_self()
                if processor is None:
                    return
                try:
                    processor._expire(time.monotonic())
                except Exception:
                    _logger.exception("tail sampling timer failed")
                del processor

        thread = threading.Thread(target=run, name="llmotel-tail-sampling", daemon=True)
        thread.start()
        return thread

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._traces.clear()
        self._matched.clear()
        self._uncopied.clear()
        self._record.clear()
        self._span_count = 0
        self._byte_count = 0
        if not self._shutdown:
            self._wakeup = threading.Event()
            self._timer = self._start_timer()


class _Telemetry:
    """Self-telemetry instruments; only built when a MeterProvider is given."""

    def __init__(self, processor: TailSamplingProcessor, meter_provider: MeterProvider) -> None:
        meter = meter_provider.get_meter(_names.METER_NAME)
        weak = weakref.ref(processor)

        def gauge(index: int) -> Callable[[CallbackOptions], Iterable[Observation]]:
            def observe(_options: CallbackOptions) -> Iterable[Observation]:
                target = weak()
                return [Observation(target.buffered[index])] if target is not None else []

            return observe

        meter.create_observable_gauge(
            _names.BUFFERED_TRACES, [gauge(0)], unit="{trace}", description="Traces buffered"
        )
        meter.create_observable_gauge(
            _names.BUFFERED_SPANS, [gauge(1)], unit="{span}", description="Spans buffered"
        )
        meter.create_observable_gauge(
            _names.BUFFERED_BYTES, [gauge(2)], unit="By", description="Estimated bytes buffered"
        )
        self._decisions = meter.create_counter(
            _names.DECISIONS, unit="{trace}", description="Tail-sampling decisions"
        )
        self._forced = meter.create_counter(
            _names.FORCED_DECISIONS,
            unit="{trace}",
            description="Traces decided early because a buffer bound was hit",
        )
        self._late = meter.create_counter(
            _names.LATE_SPANS,
            unit="{span}",
            description="Spans that ended after their trace's decision and followed it",
        )

    def decided(self, outcome: _Outcome) -> None:
        decision = "keep" if outcome.mark is not None else "drop"
        attributes: dict[str, AttributeValue] = {
            _names.SAMPLING_DECISION: decision,
            _names.SAMPLING_TRIGGER: outcome.trigger,
        }
        if outcome.policy is not None:
            attributes[_names.SAMPLING_POLICY] = outcome.policy
        self._decisions.add(1, attributes)
        if outcome.reason is not None:
            self._forced.add(
                1,
                {
                    _names.SAMPLING_BOUND: outcome.trigger,
                    _names.SAMPLING_REASON: outcome.reason,
                    _names.SAMPLING_DECISION: decision,
                },
            )

    def late_span(self, kept: bool, trigger: str) -> None:
        self._late.add(
            1,
            {
                _names.SAMPLING_DECISION: "keep" if kept else "drop",
                _names.SAMPLING_TRIGGER: trigger,
            },
        )
