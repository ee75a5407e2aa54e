"""Token and cost metrics for LLM calls, with the Views that bucket and bound them.

Three ways to use it:

* under ``opentelemetry-instrument`` with the llmotel distro: set ``LLMOTEL_METRICS_*`` variables;
  the configurator calls :func:`from_env`;
* by hand: ``tracer_provider.add_span_processor(TokenCostMetricsProcessor(meter_provider))`` and
  ``MeterProvider(..., views=genai_views())``;
* as a library: :class:`Pricing` prices a call from its provider, model and token counts.
"""

from llmotel.metrics._config import MetricsConfig, from_env
from llmotel.metrics._names import (
    COST_METRIC,
    COST_TYPE,
    COST_UNIT,
    COST_USD,
    DEFAULT_SKIP_SCOPES,
    UNPRICED_METRIC,
)
from llmotel.metrics._pricing import PROVIDER_ALIASES, Cost, PriceOverride, Pricing, load_price_file
from llmotel.metrics._processor import TokenCostMetricsProcessor
from llmotel.metrics._stage import CostAttributeStage
from llmotel.metrics._views import METRIC_ATTRIBUTES, genai_views
from llmotel.metrics.version import __version__

__all__ = [
    "COST_METRIC",
    "COST_TYPE",
    "COST_UNIT",
    "COST_USD",
    "DEFAULT_SKIP_SCOPES",
    "METRIC_ATTRIBUTES",
    "PROVIDER_ALIASES",
    "UNPRICED_METRIC",
    "Cost",
    "CostAttributeStage",
    "MetricsConfig",
    "PriceOverride",
    "Pricing",
    "TokenCostMetricsProcessor",
    "__version__",
    "from_env",
    "genai_views",
    "load_price_file",
]
