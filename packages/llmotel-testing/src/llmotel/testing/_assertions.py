"""Small helpers for asserting on captured telemetry."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only annotations: importing llmotel.testing (the stub CLI) stays light
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan

SpanTree = list[tuple[str, "SpanTree"]]


def metric_points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], Any]]:
    """Every data point of the metric called ``name``, as ``(attributes, point)``, across resources
    and scopes.

    ``point`` is the SDK's point (``HistogramDataPoint``: ``count``, ``sum``, ``bucket_counts``;
    ``NumberDataPoint``: ``value``). Collects from ``reader`` (cumulative by default); ``[]`` if
    absent.
    """
    data = reader.get_metrics_data()
    found: list[tuple[dict[str, Any], Any]] = []
    if data is None:
        return found
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    found += [(dict(p.attributes or {}), p) for p in metric.data.data_points]
    return found


def find_spans(spans: Iterable[ReadableSpan], name: str) -> list[ReadableSpan]:
    """The spans called ``name``, in the given order."""
    return [s for s in spans if s.name == name]


def find_span(spans: Iterable[ReadableSpan], name: str) -> ReadableSpan:
    """The one span called ``name``; ``AssertionError`` (listing the names there are) if there is
    not exactly one."""
    spans = list(spans)
    matches = find_spans(spans, name)
    if len(matches) != 1:
        names = [s.name for s in spans]
        raise AssertionError(
            f"expected one span named {name!r}, found {len(matches)} among {names}"
        )
    return matches[0]


def span_tree(spans: Sequence[ReadableSpan]) -> SpanTree:
    """Spans as a tree of ``(name, children)`` tuples, roots and siblings ordered by start time.

    A span whose parent is not among ``spans`` is a root. Compare with a literal: ``assert
    span_tree(exporter.get_finished_spans()) == [("invoke_agent a", [("chat gpt-4o", [])])]``.
    """
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        key = parent if parent in by_id else None
        children.setdefault(key, []).append(span)

    def build(key: int | None) -> SpanTree:
        kids = sorted(children.get(key, []), key=lambda s: s.start_time or 0)
        return [(s.name, build(s.context.span_id if s.context is not None else None)) for s in kids]

    return build(None)


def console_spans(stdout: str) -> list[dict[str, Any]]:
    """The spans the SDK's ``ConsoleSpanExporter`` printed (``OTEL_TRACES_EXPORTER=console``), as dicts.

    Skips whatever else the program printed; each dict has ``name``, ``context``, ``kind``,
    ``attributes``, … exactly as the exporter wrote them.
    """
    decoder = json.JSONDecoder()
    spans: list[dict[str, Any]] = []
    index = 0
    while (start := stdout.find("{", index)) != -1:
        try:
            obj, index = decoder.raw_decode(stdout, start)
        except ValueError:
            index = start + 1
            continue
        if isinstance(obj, dict) and "name" in obj and "context" in obj:
            spans.append(obj)
    return spans
