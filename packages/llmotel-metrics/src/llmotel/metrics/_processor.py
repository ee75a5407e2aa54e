"""The span processor that turns finished GenAI spans into token, duration and cost metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider, get_meter
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import StatusCode

from llmotel.metrics import _names
from llmotel.metrics._pricing import Pricing
from llmotel.metrics._sums import Cell, Sums
from llmotel.metrics._usage import SpanUsage, read_usage
from llmotel.metrics.version import __version__
from llmotel.sdk.spans import finished_attributes
from llmotel.semconv import attributes as semconv_attrs
from llmotel.semconv import latest as semconv_latest
from llmotel.semconv import metrics as semconv_metrics
from llmotel.semconv.capture import latest_experimental_from_env
from llmotel.semconv.extensions import LLMOTEL_RECORDED_METRICS

__all__ = ["TokenCostMetricsProcessor"]

_logger = logging.getLogger(__name__)

_OP = semconv_attrs.GEN_AI_OPERATION_NAME
_PROVIDER = semconv_attrs.GEN_AI_PROVIDER_NAME
_REQUEST_MODEL = semconv_attrs.GEN_AI_REQUEST_MODEL
_RESPONSE_MODEL = semconv_attrs.GEN_AI_RESPONSE_MODEL
_TOKEN_TYPE = semconv_attrs.GEN_AI_TOKEN_TYPE
_ERROR_TYPE = semconv_attrs.ERROR_TYPE
_MODALITY = semconv_latest.GEN_AI_TOKEN_MODALITY

# Extra gen_ai.token.type values (semantic conventions v1.41 define only input and output): each is
# a subset of the input (cache) or output (reasoning) count, so sum only one type at a time.
TOKEN_TYPE_CACHE_READ = "cache_read"
TOKEN_TYPE_CACHE_WRITE = "cache_write"
TOKEN_TYPE_REASONING = "reasoning"

_SCALARS = frozenset({str, bool, int, float})
#: ``llmotel.cost.type`` of each field of :class:`Cost`, in field order.
_COST_TYPES = ("input", "output", "cache_read", "cache_write", "request")

_INPUT_MODALITIES = (
    ("text", semconv_latest.GEN_AI_USAGE_TEXT_INPUT_TOKENS),
    ("image", semconv_latest.GEN_AI_USAGE_IMAGE_INPUT_TOKENS),
    ("audio", semconv_latest.GEN_AI_USAGE_AUDIO_INPUT_TOKENS),
)
_OUTPUT_MODALITIES = (
    ("text", semconv_latest.GEN_AI_USAGE_TEXT_OUTPUT_TOKENS),
    ("image", semconv_latest.GEN_AI_USAGE_IMAGE_OUTPUT_TOKENS),
    ("audio", semconv_latest.GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS),
)


#: Distinct attribute combinations whose attribute sets are kept ready (cleared when full).
_SERIES_CACHE_SIZE = 1024


class _Series:
    """The attribute sets of one (operation, provider, models, context values) combination.

    Built once and reused for every span with the same values, so a span's measurements need no
    new dicts or tuples. The dicts are never mutated (the SDK copies what it keeps).
    """

    __slots__ = ("_by_error", "_by_token_type", "base", "cost_cells", "cost_keys")

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base
        items = tuple(base.items())
        #: Sum keys of ``llmotel.client.cost``, one per field of :class:`Cost`, in field order.
        self.cost_keys = tuple((*items, (_names.COST_TYPE, t)) for t in _COST_TYPES)
        #: Their running sums in the processor's cost ``Sums``, filled in by ``Sums.add_each``.
        self.cost_cells: list[Cell | None] = [None] * len(_COST_TYPES)
        self._by_token_type: dict[str, dict[str, Any]] = {}
        self._by_error: dict[str, dict[str, Any]] = {}

    def token_type(self, token_type: str) -> dict[str, Any]:
        found = self._by_token_type.get(token_type)
        if found is None:
            found = self._by_token_type[token_type] = {**self.base, _TOKEN_TYPE: token_type}
        return found

    def with_error(self, error: str) -> dict[str, Any]:
        found = self._by_error.get(error)
        if found is None:
            if len(self._by_error) >= _SERIES_CACHE_SIZE:
                self._by_error.clear()
            found = self._by_error[error] = {**self.base, _ERROR_TYPE: error}
        return found


class TokenCostMetricsProcessor(SpanProcessor):
    """Records token, duration and USD-cost metrics from every finished GenAI inference span.

    Add it to the ``TracerProvider`` that your instrumentations use::

        provider.add_span_processor(TokenCostMetricsProcessor(meter_provider))

    It works in ``on_end``, on the thread that ends the span, so it sees every *recorded* span,
    including spans of a ``RECORD_ONLY`` sampling decision that are never exported: metrics stay
    complete while traces are sampled. A span counts when ``gen_ai.operation.name`` is one of
    ``chat``, ``text_completion``, ``generate_content`` or ``embeddings``; any instrumentation that
    follows the GenAI semantic conventions qualifies.

    It records (attributes ``gen_ai.operation.name``, ``gen_ai.provider.name``,
    ``gen_ai.request.model``, ``gen_ai.response.model`` and the ``context_attributes`` you list):

    * ``gen_ai.client.token.usage`` (``gen_ai.token.type`` ``input``/``output``, plus
      ``cache_read``, ``cache_write`` and ``reasoning`` when the span reports them) and
      ``gen_ai.client.operation.duration`` (with ``error.type`` on failed calls); under
      ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` the newer
      ``gen_ai.client.inference.*`` histograms and usage counters instead;
    * ``llmotel.client.cost`` (USD, a counter split by ``llmotel.cost.type``) priced with
      ``pricing``;
    * ``llmotel.client.cost.unpriced`` (a counter by provider and model) for calls whose model has
      no known price.

    An instrumentation that records the token and duration histograms itself says so on its tracer's
    scope (attribute ``llmotel.recorded_metrics``: the metric names; llmotel's instrumentations do,
    through ``llmotel.semconv.inference``): for its spans only what it does not record is added
    (cost, the extra token types, the latest usage counters), so nothing is counted twice. For
    instrumentations that declare nothing, ``skip_scopes`` names the scopes known to record them.

    Args:
        meter_provider: where the instruments live; the global one when ``None``.
        pricing: prices calls; a :class:`Pricing` with genai-prices' bundled data when ``None``.
        context_attributes: span attribute keys (e.g. ``user.id``, ``session.id``) copied onto every
            measurement. Opt-in, since each distinct value is a new time series.
        skip_scopes: scope names of instrumentations that record the histograms without declaring
            it; default :data:`DEFAULT_SKIP_SCOPES` (upstream's ``openai_v2``).
        latest_experimental: emit the newest GenAI metric names; read from
            ``OTEL_SEMCONV_STABILITY_OPT_IN`` when ``None``.
        cardinality_limit: attribute sets each counter keeps in memory; later sets are summed into
            one ``otel.metric.overflow=true`` set. Give it the limit of :func:`genai_views`.

    The counters are kept as sums in the processor and reported through ``ObservableCounter``
    callbacks at collection time: adding to a dict costs far less than ``Counter.add``.
    """

    def __init__(
        self,
        meter_provider: MeterProvider | None = None,
        *,
        pricing: Pricing | None = None,
        context_attributes: Iterable[str] = (),
        skip_scopes: Iterable[str] = _names.DEFAULT_SKIP_SCOPES,
        latest_experimental: bool | None = None,
        cardinality_limit: int = 2000,
    ) -> None:
        self._pricing = Pricing() if pricing is None else pricing
        self._context_keys = tuple(dict.fromkeys(context_attributes))
        self._skip_scopes = frozenset(skip_scopes)
        self._latest = (
            latest_experimental_from_env() if latest_experimental is None else latest_experimental
        )
        self._warned: set[str] = set()
        self._series: dict[tuple[object, ...], _Series] = {}
        self._scope_records: dict[InstrumentationScope, bool] = {}
        #: The histograms an instrumentation must declare it records for its spans to be skipped.
        self._own_histograms: tuple[str, ...] = (
            (
                semconv_latest.GEN_AI_CLIENT_INFERENCE_DURATION,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS,
            )
            if self._latest
            else (
                semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
                semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
            )
        )
        meter = get_meter(_names.METER_NAME, __version__, meter_provider)
        limit = cardinality_limit
        self._cost = Sums(
            meter,
            _names.COST_METRIC,
            unit=_names.COST_UNIT,
            description="Cost of GenAI calls in US dollars, by cost type (input, output, cache).",
            limit=limit,
        )
        self._unpriced = Sums(
            meter,
            _names.UNPRICED_METRIC,
            unit="{call}",
            description="GenAI calls whose model has no known price (their cost is not counted).",
            limit=limit,
        )
        if self._latest:
            self._duration = meter.create_histogram(
                semconv_latest.GEN_AI_CLIENT_INFERENCE_DURATION,
                unit=semconv_latest.GEN_AI_CLIENT_INFERENCE_DURATION_UNIT,
                description="Duration of GenAI inference calls.",
                explicit_bucket_boundaries_advisory=semconv_latest.GEN_AI_CLIENT_INFERENCE_DURATION_BUCKETS,
            )
            token_buckets = semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE_BUCKETS
            self._input_hist = meter.create_histogram(
                semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS,
                unit=semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_INPUT_TOKENS_UNIT,
                description="Input tokens per GenAI inference call.",
                explicit_bucket_boundaries_advisory=token_buckets,
            )
            self._output_hist = meter.create_histogram(
                semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS,
                unit=semconv_latest.GEN_AI_CLIENT_INFERENCE_OPERATION_OUTPUT_TOKENS_UNIT,
                description="Output tokens per GenAI inference call.",
                explicit_bucket_boundaries_advisory=token_buckets,
            )
            unit = semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS_UNIT
            self._input_counter = Sums(
                meter,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_INPUT_TOKENS,
                unit=unit,
                description="Input tokens of GenAI inference calls, by modality.",
                limit=limit,
            )
            self._output_counter = Sums(
                meter,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_OUTPUT_TOKENS,
                unit=unit,
                description="Output tokens of GenAI inference calls, by modality.",
                limit=limit,
            )
            self._cache_read_counter = Sums(
                meter,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS,
                unit=unit,
                description="Input tokens read from the provider's prompt cache.",
                limit=limit,
            )
            self._cache_write_counter = Sums(
                meter,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS,
                unit=unit,
                description="Input tokens written to the provider's prompt cache.",
                limit=limit,
            )
            self._reasoning_counter = Sums(
                meter,
                semconv_latest.GEN_AI_CLIENT_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS,
                unit=unit,
                description="Output tokens spent on reasoning.",
                limit=limit,
            )
        else:
            self._duration = meter.create_histogram(
                semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
                unit=semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION_UNIT,
                description="Duration of GenAI client operations.",
                explicit_bucket_boundaries_advisory=semconv_metrics.GEN_AI_CLIENT_OPERATION_DURATION_BUCKETS,
            )
            self._input_hist = self._output_hist = meter.create_histogram(
                semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
                unit=semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE_UNIT,
                description="Number of tokens used per GenAI call, by token type.",
                explicit_bucket_boundaries_advisory=semconv_metrics.GEN_AI_CLIENT_TOKEN_USAGE_BUCKETS,
            )

    @property
    def pricing(self) -> Pricing:
        """The prices this processor uses."""
        return self._pricing

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do: metrics are recorded when the span ends."""

    def on_end(self, span: ReadableSpan) -> None:
        """Record the metrics of ``span`` if it is a GenAI inference span; never raises."""
        try:
            attributes = finished_attributes(span)
            usage = read_usage(attributes)
            if usage is not None:
                self._record(span, usage, attributes or {})
        except Exception:  # noqa: BLE001 - a metrics failure must never reach the application
            self._warn("on_end")

    def shutdown(self) -> None:
        """Stop price updates if they were started; the MeterProvider owns the instruments."""
        self._pricing.stop_updates()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here; flush the MeterProvider to export."""
        return True

    def _recorded_by_scope(self, scope: InstrumentationScope | None) -> bool:
        """Whether the instrumentation of ``scope`` records the duration and token histograms this
        processor would: it declares so in its scope's ``llmotel.recorded_metrics`` attribute, or
        (for instrumentations that declare nothing) its scope name is one of ``skip_scopes``."""
        if scope is None:
            return False
        known = self._scope_records.get(scope)
        if known is None:
            declared = (scope.attributes or {}).get(LLMOTEL_RECORDED_METRICS)
            if isinstance(declared, Sequence) and not isinstance(declared, str):
                known = all(name in declared for name in self._own_histograms)
            else:
                known = scope.name in self._skip_scopes
            if len(self._scope_records) < _SERIES_CACHE_SIZE:
                self._scope_records[scope] = known
        return known

    def _series_of(self, usage: SpanUsage, attributes: Mapping[str, object]) -> _Series:
        """The attribute sets of ``usage``'s (operation, provider, models, context values)."""
        key: tuple[object, ...] = (
            usage.operation,
            usage.provider,
            usage.request_model,
            usage.response_model,
        )
        context_keys = self._context_keys
        if context_keys:
            # The type goes into the key too: 1, 1.0 and True are equal as dict keys. Values that
            # are not scalars are left out of the metrics, and of the key (they may be unhashable).
            values = []
            for name in context_keys:
                value = attributes.get(name)
                kind = type(value)
                values.append((value, kind) if kind in _SCALARS else None)
            key = (*key, *values)
        series = self._series.get(key)
        if series is None:
            series = self._new_series(key, usage, attributes)
        return series

    def _new_series(
        self, key: tuple[object, ...], usage: SpanUsage, attributes: Mapping[str, object]
    ) -> _Series:
        base: dict[str, Any] = {_OP: usage.operation, _PROVIDER: usage.provider}
        if usage.request_model:
            base[_REQUEST_MODEL] = usage.request_model
        if usage.response_model:
            base[_RESPONSE_MODEL] = usage.response_model
        for name in self._context_keys:
            value = attributes.get(name)
            # Sequences would be unhashable sum keys and make poor metric dimensions anyway.
            if type(value) in _SCALARS:
                base[name] = value
        series = _Series(base)
        cache = self._series
        if len(cache) >= _SERIES_CACHE_SIZE:
            cache.clear()  # bounded; a race only rebuilds an equal entry
        cache[key] = series
        return series

    def _record(
        self, span: ReadableSpan, usage: SpanUsage, attributes: Mapping[str, object]
    ) -> None:
        series = self._series_of(usage, attributes)
        base = series.base
        histograms_recorded = self._recorded_by_scope(span.instrumentation_scope)
        inp, out = usage.input_tokens, usage.output_tokens
        if not histograms_recorded:
            start, end = span.start_time, span.end_time
            if start is not None and end is not None:
                error = attributes.get(_ERROR_TYPE)
                if not isinstance(error, str):
                    error = "_OTHER" if span.status.status_code is StatusCode.ERROR else None
                self._duration.record(
                    (end - start) / 1e9, base if error is None else series.with_error(error)
                )
        if self._latest:
            self._record_latest(attributes, usage, base, histograms_recorded)
        else:
            if not histograms_recorded:
                if inp is not None:
                    self._input_hist.record(inp, series.token_type("input"))
                if out is not None:
                    self._output_hist.record(out, series.token_type("output"))
            hist = self._input_hist
            if usage.cache_read_tokens:
                hist.record(usage.cache_read_tokens, series.token_type(TOKEN_TYPE_CACHE_READ))
            if usage.cache_write_tokens:
                hist.record(usage.cache_write_tokens, series.token_type(TOKEN_TYPE_CACHE_WRITE))
            if usage.reasoning_tokens:
                hist.record(usage.reasoning_tokens, series.token_type(TOKEN_TYPE_REASONING))

        if not inp and not out:
            return
        model = usage.model
        if model is None:
            return
        # Priced once: the tail sampler's cost policy and the cost stage read this result.
        cost = self._pricing.price_usage(span, usage)
        if cost is None:
            self._unpriced.add(1, {_PROVIDER: usage.provider, _REQUEST_MODEL: model})
        else:
            # Cost fields in llmotel.cost.type order; zero parts (e.g. no cache price) add no
            # series.
            self._cost.add_each(series.cost_keys, series.cost_cells, cost)

    def _record_latest(
        self,
        attributes: Any,
        usage: SpanUsage,
        base: dict[str, Any],
        histograms_recorded: bool,
    ) -> None:
        inp, out = usage.input_tokens, usage.output_tokens
        if not histograms_recorded:
            if inp is not None:
                self._input_hist.record(inp, base)
            if out is not None:
                self._output_hist.record(out, base)
        if inp:
            _add_by_modality(self._input_counter.add, inp, attributes, _INPUT_MODALITIES, base)
        if out:
            _add_by_modality(self._output_counter.add, out, attributes, _OUTPUT_MODALITIES, base)
        if usage.cache_read_tokens:
            self._cache_read_counter.add(usage.cache_read_tokens, base)
        if usage.cache_write_tokens:
            self._cache_write_counter.add(usage.cache_write_tokens, base)
        if usage.reasoning_tokens:
            self._reasoning_counter.add(usage.reasoning_tokens, base)

    def _warn(self, where: str) -> None:
        if where not in self._warned:
            self._warned.add(where)
            _logger.warning("llmotel: token/cost metrics failed in %s", where, exc_info=True)
        else:
            _logger.debug("llmotel: token/cost metrics failed in %s", where, exc_info=True)


def _add_by_modality(
    add: Any,
    total: int,
    attributes: Any,
    modalities: tuple[tuple[str, str], ...],
    base: dict[str, Any],
) -> None:
    """Split ``total`` by the span's per-modality counts; the rest is ``unknown``."""
    rest = total
    for modality, key in modalities:
        count = attributes.get(key)
        if type(count) is int and 0 < count <= rest:
            add(count, {**base, _MODALITY: modality})
            rest -= count
    if rest:
        add(rest, {**base, _MODALITY: "unknown"})
