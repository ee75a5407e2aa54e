"""The Views that bucket, filter and bound the GenAI metrics."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

from llmotel.metrics import _names
from llmotel.semconv import attributes as semconv_attrs
from llmotel.semconv import latest as semconv_latest
from llmotel.semconv import metrics as semconv_metrics

__all__ = ["METRIC_ATTRIBUTES", "genai_views"]

#: The attribute keys the GenAI metrics keep by default (semantic-convention metric attributes
#: plus llmotel's cost type); everything else an instrumentation adds is dropped by the Views.
METRIC_ATTRIBUTES = frozenset(
    {
        semconv_attrs.GEN_AI_OPERATION_NAME,
        semconv_attrs.GEN_AI_PROVIDER_NAME,
        semconv_attrs.GEN_AI_REQUEST_MODEL,
        semconv_attrs.GEN_AI_RESPONSE_MODEL,
        semconv_attrs.GEN_AI_TOKEN_TYPE,
        semconv_latest.GEN_AI_TOKEN_MODALITY,
        semconv_attrs.SERVER_ADDRESS,
        semconv_attrs.SERVER_PORT,
        semconv_attrs.ERROR_TYPE,
        _names.COST_TYPE,
    }
)

_TOKEN_HISTOGRAMS = (
    semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS,
)
_DURATION_HISTOGRAMS = (
    semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
    semconv_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    semconv_metrics.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_DURATION,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_TIME_TO_FIRST_CHUNK,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_TIME_PER_OUTPUT_CHUNK,
)
_COUNTERS = (
    _names.COST_METRIC,
    _names.UNPRICED_METRIC,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_OUTPUT_TOKENS,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS,
    semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS,
)


def genai_views(
    *,
    context_attributes: Iterable[str] = (),
    cardinality_limit: int | None = None,
) -> list[View]:
    """Views for the GenAI token, duration and cost metrics, whoever records them.

    Pass the result to your ``MeterProvider(views=...)``. For every GenAI metric (semantic
    conventions v1.41 and the latest experimental names, and llmotel's cost counters) a View:

    * sets the semantic-convention bucket boundaries on the token (1, 4, 16, … 67108864) and
      duration (0.01 … 81.92 s) histograms, so they hold even for instruments created without
      the advisory boundaries;
    * keeps only :data:`METRIC_ATTRIBUTES` plus ``context_attributes`` (the same keys you gave the
      processor, e.g. ``user.id``): any other attribute an instrumentation adds is dropped;
    * with ``cardinality_limit``, bounds each metric to that many distinct attribute sets per
      collection. Further sets are aggregated into one overflow point carrying only
      ``otel.metric.overflow=true`` (the "other" series of the OpenTelemetry specification), so the
      totals stay right while series stop growing. ``None`` keeps the SDK's default (2000).

    Raises:
        ValueError: ``cardinality_limit`` is not a positive integer.
    """
    if cardinality_limit is not None and (
        isinstance(cardinality_limit, bool)
        or not isinstance(cardinality_limit, int)
        or cardinality_limit < 1
    ):
        raise ValueError(f"cardinality_limit must be a positive integer, got {cardinality_limit!r}")
    keys = set(METRIC_ATTRIBUTES) | set(context_attributes)
    views = [
        View(
            instrument_name=name,
            attribute_keys=keys,
            aggregation=ExplicitBucketHistogramAggregation(
                semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE_BUCKETS
            ),
            aggregation_cardinality_limit=cardinality_limit,
        )
        for name in _TOKEN_HISTOGRAMS
    ]
    views += [
        View(
            instrument_name=name,
            attribute_keys=keys,
            aggregation=ExplicitBucketHistogramAggregation(
                semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION_BUCKETS
            ),
            aggregation_cardinality_limit=cardinality_limit,
        )
        for name in _DURATION_HISTOGRAMS
    ]
    views += [
        View(
            instrument_name=name,
            attribute_keys=keys,
            aggregation_cardinality_limit=cardinality_limit,
        )
        for name in _COUNTERS
    ]
    return views
