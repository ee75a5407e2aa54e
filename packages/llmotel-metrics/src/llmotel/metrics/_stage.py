"""The pipeline stage that writes a call's cost onto its span before export."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmotel.metrics._names import COST_USD
from llmotel.metrics._pricing import Pricing

if TYPE_CHECKING:
    from llmotel.sdk.pipeline import MutableSpan

__all__ = ["CostAttributeStage"]


class CostAttributeStage:
    """A span stage (``llmotel.sdk.pipeline``) that sets ``llmotel.cost.usd`` on priced GenAI spans.

    For backends that query spans rather than metrics ("the 20 most expensive calls of user X").
    It runs on the exporting thread, in a ``PipelineSpanExporter``::

        PipelineSpanExporter([CostAttributeStage()], OTLPSpanExporter())

    A span that already has ``llmotel.cost.usd`` keeps it; a span without token usage, or whose
    model has no known price, is passed on unchanged. The value is the total cost in USD, priced
    exactly like the ``llmotel.client.cost`` metric. Pass the processor's ``pricing`` to share its
    overrides and the costs it already computed: a span the processor priced is not priced again.
    """

    atomic = True  # one attribute, set once the price is known: a failure changes nothing

    def __init__(self, pricing: Pricing | None = None) -> None:
        self._pricing = Pricing() if pricing is None else pricing

    def __call__(self, span: MutableSpan) -> MutableSpan:
        attributes = span.attributes
        if COST_USD in attributes:
            return span
        cost = self._pricing.priced_span(span)
        if cost is not None:
            attributes[COST_USD] = cost.total
        return span
