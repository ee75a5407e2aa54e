"""Prices from genai-prices, turned once per model into float rates so that pricing a span is cheap.

``genai_prices.calc_price`` resolves the provider and model, validates the usage and does Decimal
arithmetic on every call (~200 µs). A span only ever reports five usage counts (input, output,
cache read, cache write, reasoning), so for each (provider, model) we read the model's price entry
once, keep the few prices that can apply to those counts as floats per token, and price a span
with a handful of multiplications. The rules are genai-prices' own, restated here:

- ``input_tokens`` is the total and *includes* cache reads and writes; a cache count is charged at
  its own price only when the model has one, otherwise at the input price (genai-prices' "leaf"
  decomposition). The same holds for reasoning tokens inside ``output_tokens``.
- Tiered prices are "cliff" prices: once the request's total input tokens exceed a tier's start,
  that tier's price applies to *all* tokens of that price key.
- A model whose price changes over time (a new price from a date, off-peak hours) keeps every
  variant; the one active at the span's end time is chosen per span.
- A per-request fee (``requests_kcount``) is added once per call.

Service-tier price variants (``price_variants``) are not applied: spans do not carry a tier that
genai-prices understands, so standard prices are used.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, NamedTuple, cast

from genai_prices import data_snapshot
from genai_prices.types import (
    ConditionalPrice,
    ModelPrice,
    StartDateConstraint,
    TieredPrices,
    TimeOfDateConstraint,
)
from opentelemetry.sdk.trace import ReadableSpan

from llmotel.metrics._usage import SpanUsage, read_usage, totals
from llmotel.sdk.spans import finished_attributes

_logger = logging.getLogger(__name__)

__all__ = ["PROVIDER_ALIASES", "Cost", "PriceOverride", "Pricing", "load_price_file"]

#: ``gen_ai.provider.name`` values (semantic conventions) that genai-prices does not know under that
#: id, mapped to the genai-prices provider id. A provider absent from both falls back to finding
#: the provider from the model name.
PROVIDER_ALIASES: Final[Mapping[str, str]] = {
    "x_ai": "x-ai",
    "gcp.gen_ai": "google",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "azure.ai.inference": "azure",
    "azure.ai.openai": "azure",
    "aws.bedrock": "aws",
    "mistral_ai": "mistral",
    "moonshot_ai": "moonshotai",
    # LiteLLM's ids of providers semconv has no name for (llmotel-instrumentation-litellm uses them).
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "voyage": "voyageai",
    # genai-prices has no watsonx entry: its models are priced by name only (often unpriced).
    "ibm.watsonx.ai": "",
}

# Price keys of genai-prices that a span's usage counts can reach; any other price key (audio,
# images, web searches, …) applies to usage a span does not report, which genai-prices counts as 0.
_INPUT = "input_mtok"
_OUTPUT = "output_mtok"
_CACHE_READ = "cache_read_mtok"
_CACHE_WRITE = "cache_write_mtok"
_REASONING = "output_reasoning_mtok"
_REQUESTS = "requests_kcount"
_TOKEN_KEYS: Final = (_INPUT, _OUTPUT, _CACHE_READ, _CACHE_WRITE, _REASONING)
_PER_TOKEN: Final = 1_000_000
_PER_REQUEST: Final = 1_000


class Cost(NamedTuple):
    """The USD cost of one call, split the way ``llmotel.client.cost`` is split.

    ``input`` is the price of input tokens that are neither cache reads nor cache writes (or all of
    them when the model has no separate cache price); ``output`` includes reasoning tokens;
    ``request`` is a per-call fee, which few models have.
    """

    input: float = 0.0
    output: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0
    request: float = 0.0

    @property
    def total(self) -> float:
        """The sum of all parts, in USD."""
        return self.input + self.output + self.cache_read + self.cache_write + self.request


_new_tuple = tuple.__new__

# A price per token: a plain rate, or (base rate, ((tier start, rate), …) highest start first).
_Rate = float | tuple[float, tuple[tuple[int, float], ...]] | None


def _rate(value: Decimal | TieredPrices | float | int | None) -> _Rate:
    if value is None:
        return None
    if isinstance(value, TieredPrices):
        tiers = tuple((t.start, float(t.price) / _PER_TOKEN) for t in reversed(value.tiers))
        return (float(value.base) / _PER_TOKEN, tiers)
    return float(value) / _PER_TOKEN


def _apply(rate: _Rate, count: int, total_input: int) -> float:
    if rate is None or not count:
        return 0.0
    if isinstance(rate, float):
        return rate * count
    base, tiers = rate
    for start, tier_rate in tiers:
        if total_input > start:
            return tier_rate * count
    return base * count


class _Rates:
    """The float rates of one genai-prices ``ModelPrice``."""

    __slots__ = ("_flat", "cache_read", "cache_write", "input", "output", "reasoning", "request")

    def __init__(self, price: ModelPrice) -> None:
        get = price.__dict__.get
        self.input = _rate(get(_INPUT))
        self.output = _rate(get(_OUTPUT))
        self.cache_read = _rate(get(_CACHE_READ))
        self.cache_write = _rate(get(_CACHE_WRITE))
        self.reasoning = _rate(get(_REASONING))
        fee = get(_REQUESTS)
        self.request = float(fee) / _PER_REQUEST if isinstance(fee, Decimal) else 0.0
        rates = (self.input, self.output, self.cache_read, self.cache_write, self.reasoning)
        # Most models have no tiers: then a cost is five multiplications (None counts as 0.0).
        self._flat: tuple[float, ...] | None = (
            None
            if any(isinstance(r, tuple) for r in rates)
            else tuple(0.0 if r is None else r for r in rates)  # type: ignore[misc]
        )

    def cost(
        self, input_: int, output: int, cache_read: int, cache_write: int, reasoning: int
    ) -> Cost:
        # Only cache counts with their own price leave the input leaf (genai-prices' decomposition).
        cr = cache_read if self.cache_read is not None else 0
        cw = cache_write if self.cache_write is not None else 0
        rs = reasoning if self.reasoning is not None else 0
        flat = self._flat
        if flat is not None:
            r_in, r_out, r_read, r_write, r_reason = flat
            # tuple.__new__ builds the same Cost without NamedTuple's Python-level __new__.
            return _new_tuple(
                Cost,
                (
                    (input_ - cr - cw) * r_in,
                    (output - rs) * r_out + rs * r_reason,
                    cr * r_read,
                    cw * r_write,
                    self.request,
                ),
            )
        return Cost(
            input=_apply(self.input, input_ - cr - cw, input_),
            output=_apply(self.output, output - rs, input_) + _apply(self.reasoning, rs, input_),
            cache_read=_apply(self.cache_read, cr, input_),
            cache_write=_apply(self.cache_write, cw, input_),
            request=self.request,
        )


class _ModelRates:
    """Rates of one model: a single price, or prices that change with the time of the call."""

    __slots__ = ("_static", "_variants")

    def __init__(self, prices: ModelPrice | list[ConditionalPrice]) -> None:
        self._static: _Rates | None = None
        self._variants: tuple[tuple[StartDateConstraint | TimeOfDateConstraint | None, _Rates], ...]
        if isinstance(prices, ModelPrice):
            self._static = _Rates(prices)
            self._variants = ()
        else:
            # genai-prices tries conditional prices last to first and falls back to the first one.
            self._variants = tuple((c.constraint, _Rates(c.prices)) for c in reversed(prices))

    def at(self, time_ns: int) -> _Rates:
        if self._static is not None:
            return self._static
        when = datetime.fromtimestamp(time_ns / 1e9, tz=UTC)
        for constraint, rates in self._variants:
            if constraint is None or constraint.active(when):
                return rates
        return self._variants[-1][1]


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """Prices for one model, in USD per million tokens, that replace (or add to) genai-prices.

    ``provider`` restricts the override to spans of that ``gen_ai.provider.name``; ``None``
    applies it to the model name whatever the provider. Missing cache prices mean cache tokens
    cost the input price, as in genai-prices.
    """

    model: str
    input_mtok: float = 0.0
    output_mtok: float = 0.0
    cache_read_mtok: float | None = None
    cache_write_mtok: float | None = None
    provider: str | None = None

    def _model_price(self) -> ModelPrice:
        return ModelPrice(
            input_mtok=Decimal(str(self.input_mtok)),
            output_mtok=Decimal(str(self.output_mtok)),
            cache_read_mtok=None
            if self.cache_read_mtok is None
            else Decimal(str(self.cache_read_mtok)),
            cache_write_mtok=None
            if self.cache_write_mtok is None
            else Decimal(str(self.cache_write_mtok)),
        )


_OVERRIDE_KEYS = frozenset(
    {"provider", "input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"}
)


def _overrides_from_mapping(data: object, source: str) -> list[PriceOverride]:
    """``{"model": {"input_mtok": …, …}, …}`` → overrides; a ValueError names the bad entry."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: expected a mapping of model name to prices")
    overrides = []
    for model, entry in data.items():
        if not isinstance(model, str) or not isinstance(entry, Mapping):
            raise ValueError(
                f"{source}: entry {model!r} must map a model name to a mapping of prices"
            )
        unknown = set(entry) - _OVERRIDE_KEYS
        if unknown:
            raise ValueError(
                f"{source}: entry {model!r} has unknown keys {sorted(unknown)};"
                f" accepted: {sorted(_OVERRIDE_KEYS)}"
            )
        kwargs: dict[str, Any] = {}
        for key, value in entry.items():
            if key == "provider":
                if not isinstance(value, str):
                    raise ValueError(f"{source}: entry {model!r}: provider must be a string")
            elif isinstance(value, bool) or not isinstance(value, int | float | str) or _neg(value):
                raise ValueError(
                    f"{source}: entry {model!r}: {key} must be a non-negative number, got {value!r}"
                )
            else:
                value = float(value)
            kwargs[key] = value
        overrides.append(PriceOverride(model=model, **kwargs))
    return overrides


def _neg(value: int | float | str) -> bool:
    try:
        return float(value) < 0
    except ValueError:
        return True


def load_price_file(path: str | pathlib.Path) -> list[PriceOverride]:
    """Read price overrides from a JSON or YAML file (YAML when the name ends in .yaml/.yml).

    The file maps model names to prices in USD per million tokens::

        ft:gpt-4o-mini:acme::abc123:
          provider: openai          # optional: only for spans of this gen_ai.provider.name
          input_mtok: 0.30
          output_mtok: 1.20
          cache_read_mtok: 0.15     # optional

    Raises:
        ValueError: the file cannot be read or parsed, or an entry is malformed.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read price file {str(path)!r}: {exc}") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml  # optional: only needed for YAML price files

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except ImportError as exc:
        raise ValueError(f"price file {str(path)!r} is YAML but PyYAML is not installed") from exc
    except Exception as exc:
        raise ValueError(f"cannot parse price file {str(path)!r}: {exc}") from exc
    return _overrides_from_mapping(data, str(path))


_UNPRICED: Final = object()


#: How many spans' costs :meth:`Pricing.priced_span` remembers (the most recent; ~250 bytes each).
PRICED_SPANS: Final = 4096


_SpanLike = Any  # a finished ReadableSpan or a pipeline MutableSpan: context, end_time, attributes


#: The thread that loads genai-prices' bundled price data (see :func:`preload`), once per process.
_preloading: threading.Thread | None = None
_preload_lock = threading.Lock()
PRELOAD_THREAD: Final = "llmotel-prices-preload"


def _load_bundled() -> None:
    try:
        data_snapshot.get_snapshot()
    except Exception:  # noqa: BLE001 - the first lookup loads it then, and reports what failed
        _logger.debug("llmotel: preloading genai-prices' price data failed", exc_info=True)


def preload() -> threading.Thread:
    """Start loading genai-prices' bundled price data on a daemon thread, once per process, and
    return that thread.

    genai-prices loads it on its first lookup: ~17 ms, or ~220 ms where no bytecode is cached
    (``PYTHONDONTWRITEBYTECODE``, an install that did not compile), which would otherwise fall on
    the thread that ends the first priced span -- the application's, an event loop's. A lookup
    made while the load runs waits for it (Python's import lock) instead of loading again.
    """
    global _preloading
    with _preload_lock:
        if _preloading is None:
            _preloading = threading.Thread(target=_load_bundled, name=PRELOAD_THREAD, daemon=True)
            _preloading.start()
        return _preloading


def _finish_preload_before_fork() -> None:
    # A child forked halfway through the import would inherit a half-made module: the fork waits
    # for the load instead (at most its remaining ~20-220 ms; only the first fork can wait).
    thread = _preloading
    if thread is not None and thread.is_alive():
        thread.join(timeout=5.0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_finish_preload_before_fork)


def _span_key(span: _SpanLike) -> tuple[int, int] | None:
    context = span.context
    return None if context is None else (context.trace_id, context.span_id)


class Pricing:
    """Prices calls from their provider, model and token counts; thread-safe, no network.

    Pass ``overrides`` (a list of :class:`PriceOverride`, or a mapping in the price-file format)
    to price fine-tuned or private models, or to correct a price. Everything else comes from the
    price data bundled with genai-prices (or the data ``genai_prices.UpdatePrices`` last fetched,
    when the application started it).

    The first call for a (provider, model) asks genai-prices (~hundreds of µs); later calls are a
    dictionary lookup and a few float multiplications. genai-prices' price data itself starts
    loading, off the calling thread, when the first ``Pricing`` is made (:func:`preload`).
    """

    def __init__(self, overrides: Iterable[PriceOverride] | Mapping[str, Any] = ()) -> None:
        preload()
        if isinstance(overrides, Mapping):
            overrides = _overrides_from_mapping(overrides, "price overrides")
        self._overrides: dict[tuple[str | None, str], _ModelRates] = {}
        for o in overrides:
            key = (None if o.provider is None else o.provider.lower(), o.model.lower())
            self._overrides[key] = _ModelRates(o._model_price())
        self._cache: dict[tuple[str | None, str], object] = {}
        self._snapshot: object = None
        self._lock = threading.Lock()
        self._updater: Any = None
        self._priced: dict[tuple[int, int], object] = {}
        self._priced_lock = threading.Lock()

    def start_updates(self, interval: float = 3600.0) -> None:
        """Fetch fresh prices from the genai-prices repository every ``interval`` seconds.

        **This uses the network** (GitHub, via ``genai_prices.UpdatePrices``), in a background
        thread; it is off unless you call this (or set ``LLMOTEL_METRICS_PRICE_UPDATE=true``).
        Until the first fetch succeeds, and whenever one fails, the bundled prices stay in use.
        The new data replaces genai-prices' process-wide snapshot; every :class:`Pricing` notices
        and recomputes its rates. Calling it again while updates run does nothing.
        """
        if self._updater is not None:
            return
        from genai_prices import UpdatePrices

        self._updater = UpdatePrices(update_interval=interval)
        self._updater.start()

    def stop_updates(self) -> None:
        """Stop the updates :meth:`start_updates` started (the last fetched prices stay in use)."""
        updater, self._updater = self._updater, None
        if updater is not None:
            updater.stop()

    def cost(
        self,
        provider: str | None,
        model: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        time_ns: int = 0,
    ) -> Cost | None:
        """The cost of one call, or ``None`` when the model has no known price.

        ``provider`` is the span's ``gen_ai.provider.name`` (semantic-convention names are mapped
        to genai-prices ids); ``input_tokens`` includes the cache counts and ``output_tokens`` the
        reasoning count, as the semantic conventions define them (cache or reasoning counts larger
        than their total are taken as not included, and added). ``time_ns`` (the call's time,
        nanoseconds since the epoch) selects time-dependent prices; 0 means now.
        """
        # The warm path, inlined (it runs for every span): same snapshot, cached model.
        found = (
            self._cache.get((provider, model))
            if data_snapshot.get_snapshot() is self._snapshot
            else None
        )
        if found is None:
            rates = self._rates(provider, model)
            if rates is None:
                return None
        elif found is _UNPRICED:
            return None
        else:
            rates = cast("_ModelRates", found)
        input_tokens, output_tokens = totals(
            input_tokens, output_tokens, cache_read_tokens + cache_write_tokens, reasoning_tokens
        )
        static = rates._static
        return (static if static is not None else rates.at(time_ns or time.time_ns())).cost(
            input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens
        )

    def span_cost(self, span: ReadableSpan) -> float | None:
        """The total USD cost of a finished GenAI inference span, or ``None``.

        ``None`` when the span is not an inference span, has no token usage or its model has no
        known price. Fits as the ``cost`` function of llmotel-sampling's cost-based tail policy,
        which decides on the application thread, before ``llmotel.cost.usd`` is set at export.
        """
        cost = self.priced_span(span)
        return None if cost is None else cost.total

    def priced_span(self, span: _SpanLike) -> Cost | None:
        """The cost of a finished span, priced at most once per span.

        :class:`TokenCostMetricsProcessor` prices every inference span when it ends and leaves the
        result here, keyed by the span's trace and span id; the tail sampler's cost policy and
        :class:`CostAttributeStage` on export read it instead of reading the usage and pricing the
        span again. A span this table does not hold (none was priced, or it was pushed out: it
        keeps the :data:`PRICED_SPANS` most recent) is priced from its current attributes.
        """
        key = _span_key(span)
        found = self._priced.get(key) if key is not None else None
        if found is not None:
            return None if found is _UNPRICED else found  # type: ignore[return-value]
        return self.attributes_cost(finished_attributes(span), span.end_time or 0)

    def price_usage(self, span: _SpanLike, usage: SpanUsage) -> Cost | None:
        """Price ``usage``, which was read from the finished ``span``, and remember the result for
        :meth:`priced_span`. ``None`` when the usage has no tokens or the model no known price."""
        cost = self._usage_cost(usage, span.end_time or 0)
        key = _span_key(span)
        if key is not None:
            priced = self._priced
            with self._priced_lock:
                priced[key] = _UNPRICED if cost is None else cost
                if len(priced) > PRICED_SPANS:
                    del priced[next(iter(priced))]  # the oldest: dicts keep insertion order
        return cost

    def attributes_cost(
        self, attributes: Mapping[str, object] | None, time_ns: int = 0
    ) -> Cost | None:
        """The cost of the call a GenAI span's ``attributes`` describe (see :meth:`span_cost`)."""
        usage = read_usage(attributes)
        return None if usage is None else self._usage_cost(usage, time_ns)

    def _usage_cost(self, usage: SpanUsage, time_ns: int) -> Cost | None:
        model = usage.model
        if model is None or not (usage.input_tokens or usage.output_tokens):
            return None
        return self.cost(
            usage.provider,
            model,
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            time_ns=time_ns,
        )

    def _rates(self, provider: str | None, model: str) -> _ModelRates | None:
        """The cached rates of a model (``None`` if unpriced); computes them on first use."""
        snapshot = data_snapshot.get_snapshot()
        if snapshot is not self._snapshot:
            # UpdatePrices swapped the price data: recompute every model from the new data.
            with self._lock:
                self._cache = {}
                self._snapshot = snapshot
        key = (provider, model)
        found = self._cache.get(key)
        if found is None:
            found = self._lookup(provider, model, snapshot)
            self._cache[key] = found
        return None if found is _UNPRICED else found  # type: ignore[return-value]

    def _lookup(
        self, provider: str | None, model: str, snapshot: data_snapshot.DataSnapshot
    ) -> object:
        lowered = model.lower()
        prov = None if provider is None else provider.lower()
        override = self._overrides.get((prov, lowered)) or self._overrides.get((None, lowered))
        if override is not None:
            return override
        provider_id = PROVIDER_ALIASES.get(prov, prov) if prov is not None else None
        try:
            if provider_id:
                try:
                    snapshot.find_provider(None, provider_id, None)
                except LookupError:
                    # A provider genai-prices does not know: find it from the model name instead.
                    provider_id = None
            _, info = snapshot.find_provider_model(model, None, provider_id or None, None)
        except LookupError:
            return _UNPRICED
        except Exception:
            _logger.exception("genai-prices failed to look up %r/%r", provider, model)
            return _UNPRICED
        return _ModelRates(info.prices)
