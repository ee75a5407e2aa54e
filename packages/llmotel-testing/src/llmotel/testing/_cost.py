"""The cost check every instrumentation runs: its spans priced by llmotel-metrics match genai-prices."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from llmotel.testing._assertions import metric_points
from llmotel.testing._replies import Usage, text_reply
from llmotel.testing._server import StubServer


def check_cost(
    instrumentor: Any,
    providers: tuple[Any, Any, Any],
    stub: StubServer,
    call: Callable[[], object],
    *,
    model: str,
    provider_id: str,
    cache_read_tokens: int | None = None,
) -> None:
    """``instrumentor`` (instrumented here with the ``(tracer_provider, meter_provider,
    metric_reader)`` of ``providers``, uninstrumented after) and llmotel-metrics'
    ``TokenCostMetricsProcessor`` price ``call``, answered by ``stub`` with 1000 input and 500
    output tokens (and ``cache_read_tokens`` of the input read from a cache): the cost metric's
    points add up to genai-prices' price of that usage for ``model`` of ``provider_id``, and it is
    not zero. Needs ``llmotel-metrics`` and ``genai-prices``."""
    from genai_prices import Usage as PricesUsage
    from genai_prices import calc_price

    from llmotel.metrics import COST_METRIC, TokenCostMetricsProcessor

    tracer_provider, meter_provider, metric_reader = providers
    tracer_provider.add_span_processor(
        TokenCostMetricsProcessor(meter_provider, latest_experimental=False)
    )
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        usage = Usage(
            input_tokens=1000, output_tokens=500, cache_read_input_tokens=cache_read_tokens
        )
        stub.enqueue(text_reply("Hi", usage=usage))
        call()
    finally:
        instrumentor.uninstrument()
    prices = PricesUsage(input_tokens=1000, output_tokens=500, cache_read_tokens=cache_read_tokens)
    expected = float(calc_price(prices, model, provider_id=provider_id).total_price)
    total = sum(p.value for _, p in metric_points(metric_reader, COST_METRIC))
    assert total > 0
    assert math.isclose(total, expected, rel_tol=1e-12), (total, expected)
