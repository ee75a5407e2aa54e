"""llmotel's own names: attributes and metrics no semantic convention defines, in one place.

Unlike the rest of ``llmotel.semconv`` these are not generated: they are llmotel's, namespaced
``llmotel.*`` so they can never collide with a future convention. Every package that writes or reads
one of them imports it from here. When the GenAI conventions standardize cost
(semantic-conventions-genai PR #443, ``gen_ai.usage.cost.*``), the cost names move there and these
become deprecated aliases. An instrumentation's names for its own library (``llmgine.*``) live with
that instrumentation.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "LLMOTEL_CLIENT_COST",
    "LLMOTEL_CLIENT_COST_UNPRICED",
    "LLMOTEL_CONTENT_REMOVED",
    "LLMOTEL_COST_TYPE",
    "LLMOTEL_COST_USD",
    "LLMOTEL_PENDING_POINTS",
    "LLMOTEL_PIPELINE_OUTCOME",
    "LLMOTEL_PIPELINE_REASON",
    "LLMOTEL_PIPELINE_RECORDS",
    "LLMOTEL_PIPELINE_SHED",
    "LLMOTEL_PIPELINE_SIGNAL",
    "LLMOTEL_PIPELINE_STAGE",
    "LLMOTEL_PIPELINE_STAGE_DURATION",
    "LLMOTEL_RECORDED_METRICS",
    "LLMOTEL_REDACTED_ENTITIES",
    "LLMOTEL_REDACTION_COUNT",
    "LLMOTEL_REDACTION_DURATION",
    "LLMOTEL_REDACTION_ENTITY_TYPE",
    "LLMOTEL_REDACTION_FAILED",
    "LLMOTEL_REDACTION_FAILURES",
    "LLMOTEL_REDACTION_REASON",
    "LLMOTEL_REDACTION_SIGNAL",
    "LLMOTEL_SAMPLING_BOUND",
    "LLMOTEL_SAMPLING_BUFFERED_BYTES",
    "LLMOTEL_SAMPLING_BUFFERED_SPANS",
    "LLMOTEL_SAMPLING_BUFFERED_TRACES",
    "LLMOTEL_SAMPLING_DECISION",
    "LLMOTEL_SAMPLING_DECISIONS",
    "LLMOTEL_SAMPLING_FORCED_DECISIONS",
    "LLMOTEL_SAMPLING_LATE_SPANS",
    "LLMOTEL_SAMPLING_POLICY",
    "LLMOTEL_SAMPLING_RATE",
    "LLMOTEL_SAMPLING_RATE_LIMITED_SPANS",
    "LLMOTEL_SAMPLING_REASON",
    "LLMOTEL_SAMPLING_TRIGGER",
    "LLMOTEL_SEMCONV_ATTRIBUTE",
    "LLMOTEL_SEMCONV_RULE",
    "LLMOTEL_SEMCONV_VIOLATIONS",
    "LLMOTEL_STREAM_ABANDONED",
]

# --- Cost (llmotel-metrics writes them; llmotel-sampling's cost policy reads the span attribute) ---

LLMOTEL_COST_USD: Final = "llmotel.cost.usd"
"""Span attribute: the USD cost of the call the span describes (set by llmotel-metrics' cost stage,
read by llmotel-sampling's cost policy)."""

LLMOTEL_CLIENT_COST: Final = "llmotel.client.cost"
"""Counter (USD): the cost of GenAI calls, one series per ``llmotel.cost.type``."""

LLMOTEL_COST_TYPE: Final = "llmotel.cost.type"
"""Metric attribute of ``llmotel.client.cost``: ``input`` | ``output`` | ``cache_read`` |
``cache_write`` | ``request`` (per-call fees)."""

LLMOTEL_CLIENT_COST_UNPRICED: Final = "llmotel.client.cost.unpriced"
"""Counter (``{call}``): GenAI calls whose model has no known price, by provider and model."""

LLMOTEL_PENDING_POINTS: Final = "llmotel.instrumentation.pending_points"
"""Observable gauge that never has data: its callback records the metric points llmotel deferred
to the collection (:mod:`llmotel.semconv.points`)."""

LLMOTEL_RECORDED_METRICS: Final = "llmotel.recorded_metrics"
"""Instrumentation-scope attribute: the names of the metrics an instrumentation records itself for the
spans of that scope (a tuple of metric names). llmotel-metrics' processor records, for those spans,
only the metrics not named here, so nothing is counted twice."""

# --- Streams (llmotel.semconv.streams) ---

LLMOTEL_STREAM_ABANDONED: Final = "llmotel.stream.abandoned"
"""Span attribute, ``True``: the stream was garbage-collected before it was read to the end."""

# --- The export pipeline (llmotel-sdk) ---

LLMOTEL_CONTENT_REMOVED: Final = "llmotel.pipeline.content_removed"
"""Span/log attribute: the export pipeline removed this record's content. The value says why:
``backlog`` when the export side shed content to keep up, otherwise the name of the
content-sensitive stage that failed."""

LLMOTEL_PIPELINE_RECORDS: Final = "llmotel.pipeline.records"
"""Counter (``{record}``): records through the pipeline, by ``llmotel.pipeline.outcome``."""

LLMOTEL_PIPELINE_STAGE_DURATION: Final = "llmotel.pipeline.stage.duration"
"""Histogram (s): time per stage per batch."""

LLMOTEL_PIPELINE_SIGNAL: Final = "llmotel.pipeline.signal"
"""Metric attribute: ``traces`` | ``logs``."""

LLMOTEL_PIPELINE_STAGE: Final = "llmotel.pipeline.stage"
"""Metric attribute: the stage's name."""

LLMOTEL_PIPELINE_OUTCOME: Final = "llmotel.pipeline.outcome"
"""Metric attribute: what happened to the records (``in``, ``out``, ``dropped``, ...)."""

LLMOTEL_PIPELINE_SHED: Final = "llmotel.pipeline.shed"
"""Counter (``{record}``): records the batching processor exported with their content removed or
dropped, by ``llmotel.pipeline.outcome`` (``content_removed`` | ``dropped``) and
``llmotel.pipeline.reason``."""

LLMOTEL_PIPELINE_REASON: Final = "llmotel.pipeline.reason"
"""Metric attribute of ``llmotel.pipeline.shed``: ``backlog``, ``queue_full``, ``export_failed``,
``shutdown``."""

# --- Semconv validation (llmotel-sdk) ---

LLMOTEL_SEMCONV_VIOLATIONS: Final = "llmotel.semconv.violations"
"""Counter (``{violation}``): semconv rules an exported span broke."""

LLMOTEL_SEMCONV_RULE: Final = "llmotel.semconv.rule"
"""Metric attribute of ``llmotel.semconv.violations``: the rule."""

LLMOTEL_SEMCONV_ATTRIBUTE: Final = "llmotel.semconv.attribute"
"""Metric attribute of ``llmotel.semconv.violations``: the attribute the rule is about."""

# --- Redaction (llmotel-redaction) ---

LLMOTEL_REDACTION_COUNT: Final = "llmotel.redaction.count"
"""Span/log attribute, int, on every record the redaction stage saw: how many values it changed.
Per entity type: ``llmotel.redaction.<entity type, lower case>.count``."""

LLMOTEL_REDACTION_FAILED: Final = "llmotel.redaction.failed"
"""Span/log attribute: ``timeout`` or ``error`` when the record's content was replaced by the failure
marker."""

LLMOTEL_REDACTED_ENTITIES: Final = "llmotel.redaction.entities"
"""Counter (``{entity}``): values redacted, by ``llmotel.redaction.entity_type``."""

LLMOTEL_REDACTION_FAILURES: Final = "llmotel.redaction.failures"
"""Counter (``{record}``): records that failed closed, by ``llmotel.redaction.reason``."""

LLMOTEL_REDACTION_DURATION: Final = "llmotel.redaction.duration"
"""Histogram (s): redaction time per batch."""

LLMOTEL_REDACTION_ENTITY_TYPE: Final = "llmotel.redaction.entity_type"
"""Metric attribute: the redacted entity's type."""

LLMOTEL_REDACTION_REASON: Final = "llmotel.redaction.reason"
"""Metric attribute: why a record failed closed (``timeout`` | ``error``)."""

LLMOTEL_REDACTION_SIGNAL: Final = "llmotel.redaction.signal"
"""Metric attribute: ``traces`` | ``logs`` | ``metrics``."""

# --- Sampling (llmotel-sampling) ---

LLMOTEL_SAMPLING_POLICY: Final = "llmotel.sampling.policy"
"""Span attribute, on every span the tail sampler forwards: the policy that kept its trace."""

LLMOTEL_SAMPLING_RATE: Final = "llmotel.sampling.rate"
"""Span attribute: the probability its trace was kept with (for re-weighting counts)."""

LLMOTEL_SAMPLING_DECISION: Final = "llmotel.sampling.decision"
"""Metric attribute: ``keep`` | ``drop``."""

LLMOTEL_SAMPLING_TRIGGER: Final = "llmotel.sampling.trigger"
"""Metric attribute: what made the sampler decide (root ended, timeout, bound, ...)."""

LLMOTEL_SAMPLING_BOUND: Final = "llmotel.sampling.bound"
"""Metric attribute of forced decisions: the bound that was hit (``max_traces``, ``max_bytes``)."""

LLMOTEL_SAMPLING_REASON: Final = "llmotel.sampling.reason"
"""Metric attribute of forced decisions: ``ordinary`` | ``matched``."""

LLMOTEL_SAMPLING_BUFFERED_TRACES: Final = "llmotel.sampling.buffered.traces"
"""Gauge: traces buffered by the tail sampler."""

LLMOTEL_SAMPLING_BUFFERED_SPANS: Final = "llmotel.sampling.buffered.spans"
"""Gauge: spans buffered by the tail sampler."""

LLMOTEL_SAMPLING_BUFFERED_BYTES: Final = "llmotel.sampling.buffered.bytes"
"""Gauge: estimated bytes buffered by the tail sampler."""

LLMOTEL_SAMPLING_DECISIONS: Final = "llmotel.sampling.decisions"
"""Counter: trace decisions, by decision, policy and trigger."""

LLMOTEL_SAMPLING_FORCED_DECISIONS: Final = "llmotel.sampling.forced_decisions"
"""Counter: traces decided early because a bound was hit."""

LLMOTEL_SAMPLING_LATE_SPANS: Final = "llmotel.sampling.late_spans"
"""Counter: spans that ended after their trace was decided (they follow the decision)."""

LLMOTEL_SAMPLING_RATE_LIMITED_SPANS: Final = "llmotel.sampling.rate_limited.spans"
"""Counter: spans the rate limiter dropped."""
