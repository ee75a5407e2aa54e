"""ContextEnricher: context attributes onto every span, at start, on the application thread."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from llmotel.semconv.context import get_context_attribute_items

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
        # The app thread pays for this on every span: one context lookup when nothing is set;
        # otherwise a loop over ready-made (key, value) pairs and one ``set_attribute`` per key,
        # which costs the SDK less than ``set_attributes`` (that one re-validates a whole mapping).
        items = get_context_attribute_items(parent_context)
        if not items:
            return
        try:
            set_attribute = span.set_attribute
            existing = span.attributes
            if existing:
                # One C-level copy beats Mapping.__contains__ (a KeyError per missing key).
                present = existing.copy()  # type: ignore[attr-defined]
                for key, value in items:
                    if key not in present:
                        set_attribute(key, value)
            else:
                for key, value in items:
                    set_attribute(key, value)
        except Exception:  # noqa: BLE001 - a processor must never raise into user code
            pass

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
