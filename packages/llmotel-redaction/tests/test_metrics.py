"""Metric attributes redacted on the real MeterProvider: pull readers, push exporters over real
OTLP, series that collapse into one after redaction."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    NumberDataPoint,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from test_stage import _Exploding

from llmotel.redaction import (
    FAILED_MARKER,
    MetricRedactor,
    RedactingMetricExporter,
    Redactor,
    redacting_metric_reader,
)
from llmotel.sdk import using_user
from llmotel.testing import metric_points
from llmotel.testing.otlp import OtlpReceiver


def _record(provider: MeterProvider) -> None:
    meter = provider.get_meter("app")
    counter = meter.create_counter("app.requests")
    histogram = meter.create_histogram("app.latency", unit="s")
    for user, latency in (("jane@example.com", 0.1), ("joe@example.org", 0.3), ("u-42", 0.2)):
        counter.add(2, {"user.id": user, "gen_ai.request.model": "gpt-4o"})
        histogram.record(latency, {"user.id": user})


def test_pull_reader_merges_series_that_became_equal(redactor: Redactor) -> None:
    reader = redacting_metric_reader(InMemoryMetricReader(), redactor)
    provider = MeterProvider(metric_readers=[reader])
    _record(provider)
    counts = {a["user.id"]: p.value for a, p in metric_points(reader, "app.requests")}
    assert counts == {"<EMAIL_ADDRESS>": 4, "u-42": 2}
    latency = {a["user.id"]: p for a, p in metric_points(reader, "app.latency")}
    assert sorted(latency) == ["<EMAIL_ADDRESS>", "u-42"]
    merged = latency["<EMAIL_ADDRESS>"]
    assert merged.count == 2
    assert round(merged.sum, 6) == 0.4
    assert merged.min == 0.1
    assert merged.max == 0.3
    assert sum(merged.bucket_counts) == 2
    provider.shutdown()


def test_push_exporter_over_otlp_with_context_attributes(redactor: Redactor) -> None:
    with OtlpReceiver() as receiver:
        exporter = OTLPMetricExporter(endpoint=f"{receiver.url}/v1/metrics")
        reader = PeriodicExportingMetricReader(
            RedactingMetricExporter(exporter, redactor), export_interval_millis=60_000
        )
        provider = MeterProvider(
            metric_readers=[reader], resource=Resource({"app.owner": "ops@example.com"})
        )
        counter = provider.get_meter("app").create_counter("app.calls")
        with using_user("jane@example.com") as ctx:
            counter.add(1, dict(ctx.attributes))
        provider.force_flush()
        assert receiver.wait_for(lambda r: bool(r.metric_points("app.calls")))
        (point,) = receiver.metric_points("app.calls")
        provider.shutdown()
    assert dict(point.attributes) == {"user.id": "<EMAIL_ADDRESS>"}
    assert point.value == 1
    assert point.resource["app.owner"] == "<EMAIL_ADDRESS>"


def test_unchanged_collections_are_passed_as_they_are(redactor: Redactor) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("app").create_counter("app.calls").add(1, {"gen_ai.request.model": "x"})
    data = reader.get_metrics_data()
    assert data is not None
    assert MetricRedactor(redactor).redact(data) is data
    provider.shutdown()


def test_a_point_that_cannot_be_analysed_fails_closed() -> None:
    exploding = _Exploding()
    metric_redactor = MetricRedactor(Redactor(entities=["EMAIL_ADDRESS"], recognizers=[exploding]))
    exploding.armed = True
    attributes: dict[str, Any] = {"user.id": "jane@example.com", "gen_ai.request.model": "gpt-4o"}
    assert metric_redactor.attributes(attributes) == {
        "user.id": FAILED_MARKER,
        "gen_ai.request.model": "gpt-4o",
    }
    point = NumberDataPoint(attributes, 0, 1, 3)
    assert metric_redactor._point(point).attributes["user.id"] == FAILED_MARKER


_USERS = st.sampled_from(
    ["jane@example.com", "joe@example.org", "u-1", "u-2", "sam@example.net", "+1 415 867 5309"]
)


@settings(max_examples=40, deadline=None)
@given(adds=st.lists(st.tuples(_USERS, st.integers(1, 50)), min_size=1, max_size=30))
def test_merged_series_keep_every_total(redactor: Redactor, adds: list[tuple[str, int]]) -> None:
    reader = redacting_metric_reader(InMemoryMetricReader(), redactor)
    provider = MeterProvider(metric_readers=[reader])
    counter = provider.get_meter("app").create_counter("app.tokens")
    histogram = provider.get_meter("app").create_histogram("app.size")
    for user, value in adds:
        counter.add(value, {"user.id": user})
        histogram.record(value, {"user.id": user})
    sums = metric_points(reader, "app.tokens")
    sizes = metric_points(reader, "app.size")
    provider.shutdown()
    keys = [a["user.id"] for a, _ in sums]
    assert len(keys) == len(set(keys))  # no two points with the same attributes
    assert sum(p.value for _, p in sums) == sum(v for _, v in adds)
    assert sum(p.count for _, p in sizes) == len(adds)
    assert not {"jane@example.com", "joe@example.org", "sam@example.net"} & set(keys)
