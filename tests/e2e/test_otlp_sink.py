"""End to end over real OTLP/HTTP to an independent receiver (oteltest's sink): exact token and cost points.

The apps run under ``opentelemetry-instrument`` with the llmotel distro, the real SDKs talk HTTP to the stub server,
and every assertion is about what the receiver decoded — SDK 1.45's meter/logger ``force_flush()`` report success
even when an export failed, so only what arrived counts.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from google.protobuf.json_format import MessageToDict
from oteltest.sink import HttpSink
from oteltest.sink.handler import AccumulatingHandler

from llmotel.testing import StubServer, text_reply
from llmotel.testing import Usage as StubUsage


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def sink() -> Iterator[tuple[AccumulatingHandler, str]]:
    handler = AccumulatingHandler()
    port = _free_port()
    server = HttpSink(handler, logging.getLogger("oteltest"), port=port)
    server.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield handler, f"http://127.0.0.1:{port}"
    server.stop()


def _env(stub: StubServer, endpoint: str, **extra: str) -> dict[str, str]:
    env = {
        "OPENAI_BASE_URL": stub.openai_base_url,
        "OPENAI_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": stub.anthropic_base_url,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "OTEL_SERVICE_NAME": "e2e-usage",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "60000",
        "LLMOTEL_METRICS": "on",
    }
    env.update(extra)
    return env


def _attrs(kvs: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for kv in kvs:
        value = kv.get("value", {})
        out[kv["key"]] = next(iter(value.values())) if value else None
    return out


def _points(handler: AccumulatingHandler, name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    found = []
    for request in handler.telemetry.get_metric_requests():
        data = MessageToDict(request.pbreq)
        for rm in data.get("resourceMetrics", []):
            for sm in rm.get("scopeMetrics", []):
                for metric in sm.get("metrics", []):
                    if metric["name"] != name:
                        continue
                    body = metric.get("histogram") or metric.get("sum") or metric.get("gauge") or {}
                    found.extend(
                        (_attrs(point.get("attributes", [])), point)
                        for point in body.get("dataPoints", [])
                    )
    return found


def test_token_and_cost_points_equal_what_the_sdks_reported(
    sink: tuple[AccumulatingHandler, str], instrumented: Any, apps_dir: Path
) -> None:
    handler, endpoint = sink
    with StubServer() as stub:
        stub.enqueue(
            text_reply("Sure."),
            text_reply("Done.", usage=StubUsage(cache_read_input_tokens=8)),
            text_reply("Yes."),
        )
        result = instrumented([str(apps_dir / "usage_app.py")], _env(stub, endpoint))
    assert result.returncode == 0, result.stderr
    calls = json.loads(result.stdout.strip().splitlines()[-1])

    tokens: dict[tuple[str, str], float] = defaultdict(float)
    for attrs, point in _points(handler, "gen_ai.client.token.usage"):
        tokens[(attrs["gen_ai.request.model"], attrs["gen_ai.token.type"])] += float(point["sum"])
    for call in calls:
        assert tokens[(call["model"], "input")] == call["input"]
        assert tokens[(call["model"], "output")] == call["output"]

    cost: dict[str, Decimal] = defaultdict(Decimal)
    for attrs, point in _points(handler, "llmotel.client.cost"):
        cost[attrs["gen_ai.request.model"]] += Decimal(str(point["asDouble"]))
    assert set(cost) == {c["model"] for c in calls}
    for call in calls:
        expected = calc_price(
            Usage(
                input_tokens=call["input"],
                output_tokens=call["output"],
                cache_read_tokens=call["cache_read"] or None,
                cache_write_tokens=call["cache_write"] or None,
            ),
            call["response_model"],
            provider_id=call["provider"],
        ).total_price
        assert abs(cost[call["model"]] - expected) < Decimal("1e-9"), call


def test_log_events_are_redacted_before_export(
    sink: tuple[AccumulatingHandler, str], instrumented: Any, apps_dir: Path
) -> None:
    handler, endpoint = sink
    with StubServer() as stub:
        result = instrumented(
            [str(apps_dir / "usage_app.py")],
            _env(stub, endpoint, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="EVENT_ONLY"),
        )
    assert result.returncode == 0, result.stderr
    records = [
        record
        for request in handler.telemetry.get_logs_requests()
        for rl in MessageToDict(request.pbreq).get("resourceLogs", [])
        for sl in rl.get("scopeLogs", [])
        for record in sl.get("logRecords", [])
    ]
    details = [
        r for r in records if r.get("eventName") == "gen_ai.client.inference.operation.details"
    ]
    assert len(details) == 3
    dumped = json.dumps(details)
    assert "pat.doe@example.com" not in dumped
    assert "555-0199" not in dumped
    assert "<EMAIL_ADDRESS>" in dumped
    # With EVENT_ONLY, content stays off the spans.
    spans_dump = json.dumps(
        [MessageToDict(r.pbreq) for r in handler.telemetry.get_trace_requests()]
    )
    assert "gen_ai.input.messages" not in spans_dump
