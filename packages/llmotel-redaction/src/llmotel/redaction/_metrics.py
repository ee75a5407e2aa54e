"""Metric attributes: data points (and their exemplars and resource) redacted before export.

Views can keep or drop attribute keys but never rewrite a value, and a metric attribute can hold
user text: ``user.id`` copied from context attributes (``LLMOTEL_METRICS_CONTEXT_ATTRIBUTES``) is
often an e-mail. So redaction runs on the collected :class:`MetricsData`, on the reader's thread:

    reader = PeriodicExportingMetricReader(RedactingMetricExporter(OTLPMetricExporter()))
    reader = redacting_metric_reader(PrometheusMetricReader())   # pull readers

Two series that differ only in a redacted value (``user.id`` = two e-mails) become one series
after redaction: their points are merged (sums added, histograms with the same buckets added,
the newest gauge kept) so the export never holds two points with the same attributes.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    HistogramDataPoint,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    NumberDataPoint,
    Sum,
)

from llmotel.redaction._redactor import Redaction, Redactor
from llmotel.redaction._resource import ResourceRedactor

__all__ = ["MetricRedactor", "RedactingMetricExporter", "redacting_metric_reader"]

_logger = logging.getLogger("llmotel.redaction")

# Attribute sets seen before map straight to their redacted form; series are few and repeat on
# every collection. Bounded: an unbounded attribute (an id per call) must not grow memory.
_CACHE_MAX = 10_000

_Reader = TypeVar("_Reader", bound=MetricReader)


class MetricRedactor:
    """Rewrites every data point's attributes, exemplar attributes and the resource of a
    :class:`MetricsData` with ``redactor`` (the same rules as span attributes: allow-listed keys
    are screened for the high-risk types only). Thread-safe; never raises (a point it cannot
    analyse gets ``<REDACTION_FAILED>`` in place of its analysable values)."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor if redactor is not None else Redactor()
        self._resources = ResourceRedactor(self.redactor)
        # attribute items -> redacted attributes, or None for "unchanged"
        self._cache: dict[tuple[tuple[str, Any], ...], Mapping[str, Any] | None] = {}
        self._lock = threading.Lock()

    def redact(self, data: MetricsData) -> MetricsData:
        """A copy of ``data`` with redacted attributes (``data`` itself when nothing changed)."""
        try:
            return self._data(data)
        except Exception:  # noqa: BLE001 - fail closed: export nothing rather than raw values
            _logger.warning("metric redaction failed; this collection is not exported")
            return MetricsData(resource_metrics=[])

    def attributes(self, attributes: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """One attribute set redacted (cached by value)."""
        if not attributes:
            return attributes
        try:
            key: tuple[tuple[str, Any], ...] | None = tuple(attributes.items())
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in self._cache:
            hit = self._cache[key]
            return attributes if hit is None else hit
        new = dict(attributes)
        try:
            self.redactor.redact_attributes(new, Redaction())
        except Exception:  # noqa: BLE001 - fail closed for this point
            _logger.warning("metric attribute redaction failed; values replaced")
            new = dict(attributes)
            self.redactor.fail_closed(new)
        result: Mapping[str, Any] | None = None if new == attributes else new
        if key is not None:
            with self._lock:
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()
                self._cache[key] = result
        return attributes if result is None else result

    def _data(self, data: MetricsData) -> MetricsData:
        changed = False
        resource_metrics = []
        for rm in data.resource_metrics:
            resource = self._resources.redact(rm.resource)
            scopes = []
            for sm in rm.scope_metrics:
                metrics = []
                for metric in sm.metrics:
                    new_data = self._metric_data(metric.data)
                    metrics.append(
                        metric
                        if new_data is metric.data
                        else dataclasses.replace(metric, data=new_data)
                    )
                    changed = changed or new_data is not metric.data
                scopes.append(dataclasses.replace(sm, metrics=metrics))
            changed = changed or resource is not rm.resource
            resource_metrics.append(
                dataclasses.replace(rm, resource=resource, scope_metrics=scopes)
            )
        return MetricsData(resource_metrics=resource_metrics) if changed else data

    def _metric_data(self, data: Any) -> Any:
        points = data.data_points
        new_points = [self._point(p) for p in points]
        if all(a is b for a, b in zip(new_points, points, strict=True)):
            return data
        return dataclasses.replace(data, data_points=_merge(data, new_points))

    def _point(self, point: Any) -> Any:
        attributes = self.attributes(point.attributes)
        exemplars = point.exemplars
        new_exemplars = []
        for exemplar in exemplars:
            filtered = self.attributes(exemplar.filtered_attributes)
            if filtered is not exemplar.filtered_attributes:
                exemplar = dataclasses.replace(exemplar, filtered_attributes=filtered)
            new_exemplars.append(exemplar)
        if attributes is point.attributes and all(
            a is b for a, b in zip(new_exemplars, exemplars, strict=True)
        ):
            return point
        return dataclasses.replace(point, attributes=attributes, exemplars=new_exemplars)


def _key(attributes: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    items = sorted((attributes or {}).items())
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in items)


def _merge(data: Any, points: Sequence[Any]) -> list[Any]:
    """Merge points whose attributes became equal; points that cannot be merged stay apart."""
    groups: dict[tuple[tuple[str, Any], ...], list[Any]] = {}
    for point in points:
        groups.setdefault(_key(point.attributes), []).append(point)
    out: list[Any] = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
        elif isinstance(data, Sum):
            out.append(_merge_numbers(group))
        elif isinstance(data, Gauge):
            out.append(max(group, key=lambda p: p.time_unix_nano))
        elif isinstance(data, Histogram) and all(
            list(p.explicit_bounds) == list(group[0].explicit_bounds) for p in group
        ):
            out.append(_merge_histograms(group))
        else:  # exponential histograms with different scales, histograms with other buckets
            out.extend(group)
    return out


def _merge_numbers(group: list[NumberDataPoint]) -> NumberDataPoint:
    return NumberDataPoint(
        attributes=group[0].attributes,
        start_time_unix_nano=min(p.start_time_unix_nano for p in group),
        time_unix_nano=max(p.time_unix_nano for p in group),
        value=sum(p.value for p in group),
        exemplars=[e for p in group for e in p.exemplars],
    )


def _merge_histograms(group: list[HistogramDataPoint]) -> HistogramDataPoint:
    first = group[0]
    return HistogramDataPoint(
        attributes=first.attributes,
        start_time_unix_nano=min(p.start_time_unix_nano for p in group),
        time_unix_nano=max(p.time_unix_nano for p in group),
        count=sum(p.count for p in group),
        sum=sum(p.sum for p in group),
        bucket_counts=[sum(c) for c in zip(*(p.bucket_counts for p in group), strict=True)],
        explicit_bounds=first.explicit_bounds,
        min=min(p.min for p in group),
        max=max(p.max for p in group),
        exemplars=[e for p in group for e in p.exemplars],
    )


class RedactingMetricExporter(MetricExporter):
    """Wraps a push ``MetricExporter`` (OTLP, console): it only ever receives redacted
    attributes. Temporality and aggregation preferences are the wrapped exporter's::

        PeriodicExportingMetricReader(RedactingMetricExporter(OTLPMetricExporter()))
    """

    def __init__(self, exporter: MetricExporter, redactor: Redactor | None = None) -> None:
        super().__init__(
            preferred_temporality=exporter._preferred_temporality,
            preferred_aggregation=exporter._preferred_aggregation,
        )
        self.exporter = exporter
        self.redactor = MetricRedactor(redactor)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        return self.exporter.export(
            self.redactor.redact(metrics_data), timeout_millis=timeout_millis, **kwargs
        )

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.exporter.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.exporter.shutdown(timeout_millis=timeout_millis, **kwargs)


def redacting_metric_reader(reader: _Reader, redactor: Redactor | None = None) -> _Reader:
    """Make a pull ``MetricReader`` (Prometheus, in-memory) see redacted attributes; returns it.

    Every ``MetricReader`` hands its collection to ``_receive_metrics``: that hook is wrapped on
    this instance. For a ``PeriodicExportingMetricReader`` wrap its exporter with
    :class:`RedactingMetricExporter` instead.
    """
    metric_redactor = MetricRedactor(redactor)
    receive = reader._receive_metrics

    def _receive_metrics(
        metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        receive(metric_redactor.redact(metrics_data), timeout_millis=timeout_millis, **kwargs)

    reader._receive_metrics = _receive_metrics  # type: ignore[method-assign]
    return reader
