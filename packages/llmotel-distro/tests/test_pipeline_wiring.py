"""What the configurator wires, observed through a real ``opentelemetry-instrument`` run and the console exporter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from llmotel.testing import StubServer, Usage, console_spans, text_reply

BIN = Path(sys.executable).parent

APP = """
from openai import OpenAI
client = OpenAI(max_retries=0)
for model in ("gpt-4o", "gpt-4o-mini"):
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
"""


def _run(stub: StubServer, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    env.update(
        {
            "OPENAI_BASE_URL": stub.openai_base_url,
            "OPENAI_API_KEY": "sk-test",
            "OTEL_PYTHON_DISTRO": "llmotel",
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            **extra,
        }
    )
    return subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "-c", APP],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_tail_sampling_keeps_the_expensive_trace_by_its_price() -> None:
    with StubServer() as stub:
        stub.enqueue(
            text_reply("long answer", usage=Usage(input_tokens=20_000, output_tokens=5_000)),
            text_reply("short"),
        )
        result = _run(
            stub,
            LLMOTEL_SAMPLING_TAIL="true",
            LLMOTEL_SAMPLING_BASELINE_RATIO="0",
            LLMOTEL_SAMPLING_COST_THRESHOLD_USD="0.01",
            LLMOTEL_SAMPLING_DECISION_WAIT="1s",
        )
    assert result.returncode == 0, result.stderr
    spans = console_spans(result.stdout)
    assert [s["name"] for s in spans] == ["chat gpt-4o"]
    attributes = spans[0]["attributes"]
    assert attributes["llmotel.sampling.policy"] == "cost"
    assert attributes["llmotel.cost.usd"] > 0.01


def test_without_tail_sampling_every_span_is_exported_with_its_cost() -> None:
    with StubServer() as stub:
        result = _run(stub)
    assert result.returncode == 0, result.stderr
    spans = console_spans(result.stdout)
    assert sorted(s["name"] for s in spans) == ["chat gpt-4o", "chat gpt-4o-mini"]
    assert all(s["attributes"]["llmotel.cost.usd"] > 0 for s in spans)
