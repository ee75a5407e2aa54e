"""Loading the foreign span dumps (``fixtures/*.json``) back as ``ReadableSpan`` objects."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
CONVENTIONS = sorted(p.stem for p in FIXTURES.glob("*.json"))


def load_spans(convention: str) -> list[ReadableSpan]:
    """Every span of ``fixtures/<convention>.json``, as the SDK would hand it to an exporter."""
    document = json.loads((FIXTURES / f"{convention}.json").read_text())
    spans = []
    for data in document["spans"]:
        context = SpanContext(
            int(data["trace_id"], 16),
            int(data["span_id"], 16),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        spans.append(
            ReadableSpan(
                data["name"],
                context=context,
                resource=Resource.create({"service.name": "fixture"}),
                attributes=data["attributes"],
                events=[Event(e["name"], e["attributes"], e["timestamp"]) for e in data["events"]],
                kind=SpanKind[data["kind"]],
                status=Status(StatusCode[data["status"]["code"]], data["status"]["description"]),
                start_time=data["start_time"],
                end_time=data["end_time"],
                instrumentation_scope=InstrumentationScope(
                    data["scope"]["name"], data["scope"]["version"]
                ),
            )
        )
    return spans


@pytest.fixture
def foreign_spans() -> Callable[[str], list[ReadableSpan]]:
    """``foreign_spans("openinference-openai")`` -> the spans of that dump."""
    return load_spans


def all_foreign_spans() -> list[Any]:
    """``pytest.param`` per (convention, span index), for parametrizing."""
    return [
        pytest.param(convention, index, id=f"{convention}-{index}")
        for convention in CONVENTIONS
        for index in range(len(load_spans(convention)))
    ]
