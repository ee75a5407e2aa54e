"""Fixtures of the llmotel-metrics tests: the processor, GenAI spans ended by a real provider."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmotel.metrics import TokenCostMetricsProcessor
from llmotel.semconv import attributes as a

# pytest runs with --import-mode=importlib: make metrics_helpers importable from the test modules.
sys.path.insert(0, str(Path(__file__).parent))

from metrics_helpers import END_NS, START_NS, MakeSpan


@pytest.fixture
def processor(
    tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> TokenCostMetricsProcessor:
    """The processor under test on the fixture providers, v1.41 metric names."""
    proc = TokenCostMetricsProcessor(meter_provider, latest_experimental=False)
    tracer_provider.add_span_processor(proc)
    return proc


@pytest.fixture
def make_span(tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter) -> MakeSpan:
    """End one CLIENT span on ``tracer_provider`` and return it as exported."""

    def make(
        attributes: Mapping[str, Any],
        *,
        scope: str = "some.other.instrumentation",
        scope_attributes: Mapping[str, Any] | None = None,
        provider: TracerProvider | None = None,
        error: str | None = None,
        start: int = START_NS,
        end: int = END_NS,
    ) -> ReadableSpan:
        tracer = (provider or tracer_provider).get_tracer(scope, attributes=scope_attributes)
        span = tracer.start_span(
            f"{attributes.get(a.GEN_AI_OPERATION_NAME)} {attributes.get(a.GEN_AI_REQUEST_MODEL)}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=start,
        )
        if error is not None:
            span.set_attribute(a.ERROR_TYPE, error)
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=end)
        if provider is not None:
            return span  # type: ignore[return-value]
        return span_exporter.get_finished_spans()[-1]

    return make
