"""llmotel's own attribute names: what no semantic convention defines yet, in one place.

Unlike the rest of ``llmotel.semconv`` these are not generated: they are llmotel's, namespaced
``llmotel.*`` so they can never collide with a future convention. When the GenAI conventions
standardize cost (semantic-conventions-genai PR #443, ``gen_ai.usage.cost.*``), the cost name moves
there and this one becomes a deprecated alias.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LLMOTEL_CONTENT_REMOVED", "LLMOTEL_COST_USD"]

LLMOTEL_COST_USD: Final = "llmotel.cost.usd"
"""Span attribute: the USD cost of the call the span describes (set by llmotel-metrics' cost stage,
read by llmotel-sampling's cost policy)."""

LLMOTEL_CONTENT_REMOVED: Final = "llmotel.pipeline.content_removed"
"""Span/log attribute: the export pipeline removed this record's content (llmotel-sdk). The value says
why: ``backlog`` when the export side shed content to keep up, otherwise the name of the
content-sensitive stage that failed."""
