"""The session-consistent head sampler and its ``opentelemetry_traces_sampler`` entry point."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState, get_current_span
from opentelemetry.util.types import Attributes, AttributeValue

from llmotel.sampling import _threshold
from llmotel.sampling._names import CONVERSATION_ID, SESSION_ID
from llmotel.semconv.context import get_context_attributes

KeepRules = Mapping[str, Collection[AttributeValue]]
"""Attribute key -> the values that always keep a span, e.g. ``{"user.id": {"alice"}}``."""

_SCALAR = (str, bool, int, float)
# Sessions repeat: cache the tracestate built for each recent session id (cleared when full).
_CACHE_SIZE = 4096


class SessionRatioSampler(Sampler):
    """Keeps or drops whole sessions and conversations, so a kept conversation is complete.

    The decision for a root span hashes ``session.id`` (or, without one, ``gen_ai.conversation.id``)
    taken from the span's start attributes or from the context set by ``llmotel.sdk.using_session``
    & co. into 56 bits of randomness and keeps the trace when that randomness reaches the OTEP 235
    threshold for ``ratio``: every trace of a session (in every process using this sampler) gets the
    same decision. Without either id the trace id's low 56 bits are the randomness, exactly as in
    ``TraceIdRatioBased``'s OTEP 235 successor. Kept roots carry ``ot=th:…`` (and ``rv:…`` for
    sessions) in their tracestate so downstream consistent samplers and span-to-metrics estimators
    see the probability.

    Child spans follow their parent's sampled flag (local or remote). ``keep`` rules override the
    ratio: a span whose start attributes or context attributes hold one of the listed values is
    sampled, even under an unsampled parent (it then arrives without its parent).

    Args:
        ratio: fraction of sessions (or traces) to keep, 0.0 to 1.0.
        keep: attribute key -> values that always keep, e.g. ``{"user.id": {"alice"}}``.
        record_dropped: return ``RECORD_ONLY`` instead of ``DROP`` for spans not kept, so span
            processors (token and cost metrics) still see every span; exporters get sampled ones.
    """

    def __init__(
        self, ratio: float, *, keep: KeepRules | None = None, record_dropped: bool = False
    ) -> None:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"ratio must be between 0.0 and 1.0, got {ratio!r}")
        self._ratio = ratio
        self._threshold = _threshold.threshold_for(ratio)
        self._keep = {key: frozenset(values) for key, values in (keep or {}).items()}
        self._not_sampled = Decision.RECORD_ONLY if record_dropped else Decision.DROP
        self._record_dropped = record_dropped
        sampled_ot = _threshold.ot_value(randomness=None, threshold=self._threshold)
        self._trace_id_state = TraceState([(_threshold.OT_KEY, sampled_ot)]) if sampled_ot else None
        self._rule_state = TraceState([(_threshold.OT_KEY, "th:0")])
        self._session_states: dict[str, tuple[bool, TraceState]] = {}

    @property
    def ratio(self) -> float:
        """The configured keep ratio."""
        return self._ratio

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        if parent.is_valid:
            if parent.trace_flags.sampled or (
                self._keep
                and self._matches_rule(attributes, get_context_attributes(parent_context))
            ):
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent.trace_state)
            return SamplingResult(self._not_sampled, attributes, parent.trace_state)
        context_attributes = get_context_attributes(parent_context)
        if self._keep and self._matches_rule(attributes, context_attributes):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, self._rule_state)
        key = _session_key(attributes) or _session_key(context_attributes)
        state: TraceState | None
        if key is not None:
            sampled, state = self._session_decision(key)
        else:
            sampled = (trace_id & _threshold.RANDOMNESS_MASK) >= self._threshold
            state = self._trace_id_state if sampled else None
        if sampled:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, state)
        return SamplingResult(self._not_sampled, attributes, state)

    def _session_decision(self, key: str) -> tuple[bool, TraceState]:
        cached = self._session_states.get(key)
        if cached is not None:
            return cached
        randomness = _threshold.randomness_of_key(key)
        sampled = randomness >= self._threshold
        ot = _threshold.ot_value(
            randomness=randomness, threshold=self._threshold if sampled else None
        )
        decided = (sampled, TraceState([(_threshold.OT_KEY, ot)]))
        if len(self._session_states) >= _CACHE_SIZE:
            self._session_states.clear()
        self._session_states[key] = decided
        return decided

    def _matches_rule(self, attributes: Attributes, context_attributes: Attributes) -> bool:
        for key, values in self._keep.items():
            for source in (attributes, context_attributes):
                if source:
                    value = source.get(key)
                    if isinstance(value, _SCALAR) and value in values:
                        return True
        return False

    def get_description(self) -> str:
        keep = ",".join(f"{key}={sorted(map(str, values))}" for key, values in self._keep.items())
        return (
            f"SessionRatioSampler{{ratio={self._ratio}, keep=[{keep}], "
            f"record_dropped={self._record_dropped}}}"
        )


def _session_key(attributes: Attributes) -> str | None:
    if not attributes:
        return None
    for name in (SESSION_ID, CONVERSATION_ID):
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return value
    return None
