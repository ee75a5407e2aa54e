"""End to end into Arize Phoenix (its own venv, real OTLP/HTTP): the spans it stores, through its REST API."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from llmotel.distro._demo import _openai_replies
from llmotel.distro._phoenix import Phoenix
from llmotel.testing import StubServer


@pytest.fixture(scope="module")
def phoenix() -> Iterator[Phoenix]:
    server = Phoenix()
    server.start(timeout=600)
    yield server
    server.stop()


def _spans(phoenix: Phoenix, project: str, want: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(
                f"{phoenix.url}/v1/projects/{project}/spans?limit=100"
            ) as r:
                spans = json.load(r)["data"]
        except OSError:
            spans = []
        if len(spans) >= want:
            return spans
        time.sleep(0.5)
    return spans


def test_phoenix_receives_semconv_spans_without_pii(phoenix: Phoenix, instrumented: Any) -> None:
    project = f"e2e-{uuid.uuid4().hex[:8]}"
    with StubServer() as stub:
        stub.enqueue(*_openai_replies())
        result = instrumented(
            ["-m", "llmotel.distro.demo.openai_app"],
            {
                "OPENAI_BASE_URL": stub.openai_base_url,
                "OPENAI_API_KEY": "sk-test",
                "OTEL_SERVICE_NAME": "e2e-phoenix",
                "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project}",
                "OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.otlp_url,
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
            },
        )
    assert result.returncode == 0, result.stderr
    spans = _spans(phoenix, project, want=4)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    assert sorted((n, len(s)) for n, s in by_name.items()) == [
        ("chat gpt-4o", 1),
        ("chat gpt-4o-mini", 2),
        ("handle support ticket", 1),
    ]
    root = by_name["handle support ticket"][0]
    for span in by_name["chat gpt-4o-mini"] + by_name["chat gpt-4o"]:
        assert span["parent_id"] == root["context"]["span_id"]
        attrs = span["attributes"]
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "openai"
        assert attrs["session.id"] == "session-openai-1"
        assert attrs["llmotel.cost.usd"] > 0
        assert attrs["llmotel.redaction.email_address.count"] >= 1
        messages = json.loads(attrs["gen_ai.input.messages"])
        assert messages[0]["parts"][0]["content"].startswith(
            "Hi, I'm Jane (<EMAIL_ADDRESS>, <PHONE_NUMBER>)"
        )
    dumped = json.dumps(spans)
    for secret in ("jane.doe@example.com", "4111 1111 1111 1111", "415-555-0134"):
        assert secret not in dumped
