"""``LLMOTEL_METRICS_*``: the environment variables of llmotel-metrics, read in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import View

from llmotel.metrics._names import DEFAULT_SKIP_SCOPES
from llmotel.metrics._pricing import PriceOverride, Pricing, load_price_file
from llmotel.metrics._processor import TokenCostMetricsProcessor
from llmotel.metrics._stage import CostAttributeStage
from llmotel.metrics._views import genai_views
from llmotel.sdk.config import ConfigError, env_bool, env_duration, env_int, env_list, env_str

__all__ = [
    "CARDINALITY_LIMIT_ENV",
    "CONTEXT_ATTRIBUTES_ENV",
    "PRICE_FILE_ENV",
    "PRICE_UPDATE_ENV",
    "PRICE_UPDATE_INTERVAL_ENV",
    "SKIP_SCOPES_ENV",
    "MetricsConfig",
    "from_env",
]

# What the SDK's metric readers allow per metric when no View says otherwise.
_SDK_DEFAULT_CARDINALITY_LIMIT = 2000

CONTEXT_ATTRIBUTES_ENV = "LLMOTEL_METRICS_CONTEXT_ATTRIBUTES"
PRICE_FILE_ENV = "LLMOTEL_METRICS_PRICE_FILE"
CARDINALITY_LIMIT_ENV = "LLMOTEL_METRICS_CARDINALITY_LIMIT"
SKIP_SCOPES_ENV = "LLMOTEL_METRICS_SKIP_SCOPES"
PRICE_UPDATE_ENV = "LLMOTEL_METRICS_PRICE_UPDATE"
PRICE_UPDATE_INTERVAL_ENV = "LLMOTEL_METRICS_PRICE_UPDATE_INTERVAL"


@dataclass(frozen=True)
class MetricsConfig:
    """Settings of llmotel-metrics, and the factories that build its pieces from them.

    ``MetricsConfig()`` is the default: no context attributes, bundled prices only, the SDK's
    cardinality limit, no network. :func:`from_env` reads the ``LLMOTEL_METRICS_*`` variables.
    """

    context_attributes: tuple[str, ...] = ()
    """Span attribute keys copied onto every measurement (e.g. ``user.id``); opt-in."""
    price_overrides: tuple[PriceOverride, ...] = ()
    """Prices that replace or extend genai-prices' data."""
    cardinality_limit: int | None = None
    """Distinct attribute sets per metric before the overflow series; ``None``: SDK default."""
    skip_scopes: frozenset[str] = DEFAULT_SKIP_SCOPES
    """Instrumentation scopes that record the token/duration histograms themselves."""
    price_update_interval: float | None = None
    """Seconds between price downloads (network!); ``None``: never, bundled prices only."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MetricsConfig:
        """Read the settings from ``environ`` (default ``os.environ``).

        Raises:
            llmotel.sdk.config.ConfigError: a variable has a value that cannot be used; the message
                names it and the accepted values.
        """
        price_file = env_str(PRICE_FILE_ENV, None, environ=environ)
        overrides: tuple[PriceOverride, ...] = ()
        if price_file is not None:
            try:
                overrides = tuple(load_price_file(price_file))
            except ValueError as exc:
                raise ConfigError(
                    PRICE_FILE_ENV, price_file, f"a readable JSON or YAML price file ({exc})"
                ) from None
        limit = env_int(CARDINALITY_LIMIT_ENV, 0, min=1, environ=environ)
        update = env_bool(PRICE_UPDATE_ENV, False, environ=environ)
        interval = env_duration(PRICE_UPDATE_INTERVAL_ENV, 3600.0, min=60.0, environ=environ)
        return cls(
            context_attributes=tuple(env_list(CONTEXT_ATTRIBUTES_ENV, environ=environ)),
            price_overrides=overrides,
            cardinality_limit=limit or None,
            # Added to the built-in scopes: dropping one would record its histograms twice.
            skip_scopes=DEFAULT_SKIP_SCOPES | frozenset(env_list(SKIP_SCOPES_ENV, environ=environ)),
            price_update_interval=interval if update else None,
        )

    def views(self) -> list[View]:
        """The Views for the ``MeterProvider``: :func:`genai_views` with these settings."""
        return genai_views(
            context_attributes=self.context_attributes, cardinality_limit=self.cardinality_limit
        )

    def create_pricing(self) -> Pricing:
        """A :class:`Pricing` with the overrides; starts price updates if they are configured."""
        pricing = Pricing(self.price_overrides)
        if self.price_update_interval is not None:
            pricing.start_updates(self.price_update_interval)
        return pricing

    def create_processor(
        self, meter_provider: MeterProvider | None = None, pricing: Pricing | None = None
    ) -> TokenCostMetricsProcessor:
        """The span processor, recording into ``meter_provider`` (the global one if ``None``)."""
        return TokenCostMetricsProcessor(
            meter_provider,
            pricing=self.create_pricing() if pricing is None else pricing,
            context_attributes=self.context_attributes,
            skip_scopes=self.skip_scopes,
            cardinality_limit=self.cardinality_limit or _SDK_DEFAULT_CARDINALITY_LIMIT,
        )

    def create_cost_stage(self, pricing: Pricing | None = None) -> CostAttributeStage:
        """The stage that sets ``llmotel.cost.usd``; pass the processor's ``pricing`` to share."""
        return CostAttributeStage(self.create_pricing() if pricing is None else pricing)


def from_env(environ: Mapping[str, str] | None = None) -> MetricsConfig:
    """:meth:`MetricsConfig.from_env`: the settings from the ``LLMOTEL_METRICS_*`` variables.

    - ``LLMOTEL_METRICS_CONTEXT_ATTRIBUTES``: comma-separated span attribute keys added to every
      measurement, e.g. ``user.id,session.id`` (default: none).
    - ``LLMOTEL_METRICS_PRICE_FILE``: a JSON/YAML file of price overrides (default: none).
    - ``LLMOTEL_METRICS_CARDINALITY_LIMIT``: attribute sets per metric before the overflow series
      (default: the SDK's, 2000).
    - ``LLMOTEL_METRICS_SKIP_SCOPES``: further scopes that record the token/duration histograms
      themselves without declaring it on their scope, added to upstream's openai_v2 (llmotel's
      instrumentations declare theirs).
    - ``LLMOTEL_METRICS_PRICE_UPDATE``: ``true`` downloads fresh prices periodically; **uses the
      network** (default: ``false``).
    - ``LLMOTEL_METRICS_PRICE_UPDATE_INTERVAL``: how often, e.g. ``1h`` (default; at least ``60s``).
    """
    return MetricsConfig.from_env(environ)
