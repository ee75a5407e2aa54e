"""llmotel's own metric and attribute names (GenAI names come from ``llmotel.semconv``).

No cost metric or attribute is standardised yet (semantic-conventions-genai PR #443 proposes
``gen_ai.usage.cost.*``), so these live in the ``llmotel.`` namespace.
"""

from __future__ import annotations

from typing import Final

from llmotel.semconv import extensions as ext

__all__ = [
    "COST_METRIC",
    "COST_TYPE",
    "COST_UNIT",
    "COST_USD",
    "DEFAULT_SKIP_SCOPES",
    "METER_NAME",
    "UNPRICED_METRIC",
]

METER_NAME: Final = "llmotel.metrics"

#: Counter of USD spent, one series per ``llmotel.cost.type``.
COST_METRIC: Final = ext.LLMOTEL_CLIENT_COST
COST_UNIT: Final = "USD"
#: ``input`` | ``output`` | ``cache_read`` | ``cache_write`` | ``request`` (per-call fees).
COST_TYPE: Final = ext.LLMOTEL_COST_TYPE

#: Counter of GenAI calls whose model has no known price, by provider and model.
UNPRICED_METRIC: Final = ext.LLMOTEL_CLIENT_COST_UNPRICED

#: Span attribute: the call's total cost in USD, set by :class:`CostAttributeStage` before export.
COST_USD: Final = ext.LLMOTEL_COST_USD

#: Scopes of instrumentations that record ``gen_ai.client.token.usage`` (input/output) and
#: ``gen_ai.client.operation.duration`` themselves without declaring it on their scope (llmotel's own
#: declare it: ``llmotel.recorded_metrics``): for their spans the processor records only what they
#: do not (cost, extra token types) so that nothing is counted twice.
DEFAULT_SKIP_SCOPES: Final = frozenset({"opentelemetry.instrumentation.openai_v2"})
