"""``opentelemetry-instrument`` loads our instrumentations by entry point: the example apps, with
no telemetry code of their own, print semconv spans to the console exporter."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from llmotel.testing import StubServer, Usage, console_spans, text_reply

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent


Instrumented = Callable[..., subprocess.CompletedProcess[str]]


def run_example(
    instrumented: Instrumented, example: str, stub: StubServer, **env: str
) -> list[dict[str, Any]]:
    """Run ``examples/<example>`` under ``opentelemetry-instrument`` with the console exporter."""
    done = instrumented(
        [str(ROOT / "examples" / example)],
        {
            "OPENAI_BASE_URL": stub.openai_base_url,
            "OPENAI_API_KEY": "test",
            "ANTHROPIC_BASE_URL": stub.anthropic_base_url,
            "ANTHROPIC_API_KEY": "test",
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT",
            **env,
        },
    )
    assert done.returncode == 0, done.stderr
    return console_spans(done.stdout)


def test_openai_example_prints_semconv_spans(
    llm_stub: StubServer, instrumented: Instrumented
) -> None:
    llm_stub.enqueue(
        text_reply("OpenTelemetry is an observability framework.", usage=Usage(12, 7)),
        text_reply("1 2 3 4 5", usage=Usage(5, 5)),
    )
    spans = [
        s
        for s in run_example(instrumented, "openai_chat.py", llm_stub)
        if s["name"].startswith("chat")
    ]
    assert [s["name"] for s in spans] == ["chat gpt-4o-mini", "chat gpt-4o-mini"]
    plain, streamed = spans
    assert plain["kind"] == "SpanKind.CLIENT"
    # The llmotel distro (installed alongside) prices the call on export: 12 in + 7 out at gpt-4o-mini rates.
    cost = plain["attributes"].pop("llmotel.cost.usd")
    assert cost == pytest.approx((12 * 0.15 + 7 * 0.60) / 1e6)
    assert plain["attributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": llm_stub.port,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.response.id": "chatcmpl-stub000001",
        "gen_ai.response.model": "gpt-4o-mini",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 0,
        "openai.api.type": "chat_completions",
        "openai.response.service_tier": "default",
        "openai.response.system_fingerprint": "fp_llmotel_stub",
    }
    assert streamed["attributes"]["gen_ai.request.stream"] is True
    assert streamed["attributes"]["gen_ai.usage.output_tokens"] == 5
    assert streamed["events"] == []


def test_anthropic_example_prints_semconv_spans(
    llm_stub: StubServer, instrumented: Instrumented
) -> None:
    spans = [
        s
        for s in run_example(instrumented, "anthropic_chat.py", llm_stub)
        if s["name"].startswith("chat")
    ]
    assert [s["name"] for s in spans] == ["chat claude-opus-4-5", "chat claude-opus-4-5"]
    assert {s["attributes"]["gen_ai.provider.name"] for s in spans} == {"anthropic"}
