"""ContextEnricher: context attributes onto every span, at start, on the application thread."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from llmotel.semconv.context import get_context_attributes

__all__ = ["ContextEnricher"]


class ContextEnricher(SpanProcessor):
    """Copies the attributes set with ``using_session``/``using_user``/``using_conversation``/
    ``using_attributes`` onto every span when it starts.

    Add it to the tracer provider before the exporting processors::

        provider.add_span_processor(ContextEnricher())

    An attribute the span already has when it starts (set by the instrumentation that created it)
    is kept as it is. Costs one context lookup per span when no context attributes are set.
    """

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = get_context_attributes(parent_context)
        if not attributes:
            return
        try:
            existing = span.attributes
            if existing:
                # One C-level copy beats Mapping.__contains__ (a KeyError per missing key).
                present = existing.copy()  # type: ignore[attr-defined]
                attributes = {k: v for k, v in attributes.items() if k not in present}
                if not attributes:
                    return
            span.set_attributes(attributes)
        except Exception:  # noqa: BLE001 - a processor must never raise into user code
            pass

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
