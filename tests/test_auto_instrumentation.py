"""``opentelemetry-instrument`` loads our instrumentations by entry point: the example apps, with
no telemetry code of their own, print semconv spans to the console exporter."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
from typing import Any

import pytest

from llmotel.testing import StubServer, Usage, text_reply

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent


def console_spans(stdout: str) -> list[dict[str, Any]]:
    """The JSON span objects the console exporter printed, skipping the app's own lines."""
    decoder = json.JSONDecoder()
    spans, index = [], 0
    while (start := stdout.find("{", index)) != -1:
        try:
            obj, index = decoder.raw_decode(stdout, start)
        except ValueError:
            index = start + 1
            continue
        if isinstance(obj, dict) and "name" in obj and "context" in obj:
            spans.append(obj)
    return spans


def run_instrumented(example: str, stub: StubServer, **env: str) -> list[dict[str, Any]]:
    tool = BIN / "opentelemetry-instrument"
    if not tool.exists():
        found = shutil.which("opentelemetry-instrument")
        if found is None:
            pytest.fail("opentelemetry-instrument is not installed next to this Python")
        tool = pathlib.Path(found)
    environment = {
        **os.environ,
        "OPENAI_BASE_URL": stub.openai_base_url,
        "OPENAI_API_KEY": "test",
        "ANTHROPIC_BASE_URL": stub.anthropic_base_url,
        "ANTHROPIC_API_KEY": "test",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT",
        # The integration venv also holds peers registered as "openai"/"anthropic": switch them
        # off as docs/migration.md tells users to (ours are llmotel_openai, llmotel_anthropic).
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai,anthropic",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        **env,
    }
    done = subprocess.run(
        [
            str(tool),
            "--traces_exporter",
            "console",
            sys.executable,
            str(ROOT / "examples" / example),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return console_spans(done.stdout)


def test_openai_example_prints_semconv_spans(llm_stub: StubServer) -> None:
    llm_stub.enqueue(
        text_reply("OpenTelemetry is an observability framework.", usage=Usage(12, 7)),
        text_reply("1 2 3 4 5", usage=Usage(5, 5)),
    )
    spans = [
        s for s in run_instrumented("openai_chat.py", llm_stub) if s["name"].startswith("chat")
    ]
    assert [s["name"] for s in spans] == ["chat gpt-4o-mini", "chat gpt-4o-mini"]
    plain, streamed = spans
    assert plain["kind"] == "SpanKind.CLIENT"
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
    }
    assert streamed["attributes"]["gen_ai.request.stream"] is True
    assert streamed["attributes"]["gen_ai.usage.output_tokens"] == 5
    assert streamed["events"] == []


def test_anthropic_example_prints_semconv_spans(llm_stub: StubServer) -> None:
    spans = [
        s for s in run_instrumented("anthropic_chat.py", llm_stub) if s["name"].startswith("chat")
    ]
    assert [s["name"] for s in spans] == ["chat claude-opus-4-5", "chat claude-opus-4-5"]
    assert {s["attributes"]["gen_ai.provider.name"] for s in spans} == {"anthropic"}
