"""What the configurator wires, observed through a real ``opentelemetry-instrument`` run and the console exporter."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from llmotel.distro._settings import check_environment, shutdown_timeout_from_env
from llmotel.distro._setup import _ApplicationLogHandler
from llmotel.sdk.config import ConfigError
from llmotel.testing import StubServer, Usage, console_spans, text_reply
from llmotel.testing.otlp import OtlpReceiver

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


def test_tail_sampling_decides_once_for_two_exporters() -> None:
    with StubServer() as stub, OtlpReceiver() as receiver:
        result = _run(
            stub,
            OTEL_TRACES_EXPORTER="console,otlp",
            OTEL_METRICS_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            LLMOTEL_SAMPLING_TAIL="true",
            LLMOTEL_SAMPLING_BASELINE_RATIO="1",
        )
        receiver.wait_for(lambda r: bool(r.metric_points("llmotel.sampling.decisions")), timeout=5)
        decisions = receiver.metric_points("llmotel.sampling.decisions")
        otlp_names = sorted(s.name for s in receiver.spans())
    assert result.returncode == 0, result.stderr
    assert sum(p.value or 0 for p in decisions) == 2  # two traces, one decision each
    console_names = sorted(s["name"] for s in console_spans(result.stdout))
    assert console_names == ["chat gpt-4o", "chat gpt-4o-mini"]
    assert otlp_names == console_names


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DEAD_APP = """
import logging, sys, time
from opentelemetry import trace
with trace.get_tracer("app").start_as_current_span("work"):
    logging.getLogger("app").warning("the app logs through OTLP")
time.sleep(2)  # the span processor tries to export meanwhile
print("the app is done", file=sys.stderr, flush=True)
print(time.time(), flush=True)
"""


def test_dead_exporter_exit_is_bounded_and_its_failure_reaches_stderr() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    env.update(
        {
            "OTEL_PYTHON_DISTRO": "llmotel",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
            "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED": "true",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "30",  # each export alone would retry for 30 s
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "LLMOTEL_SHUTDOWN_TIMEOUT": "1s",
        }
    )
    result = subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, "-c", DEAD_APP],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    exit_after_app = time.time() - float(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, result.stderr
    # 1 s of export attempts, then the interpreter's own exit (slow on a busy machine); unbounded, the three
    # exporters' retries alone would take 30 s each.
    assert exit_after_app < 12.0
    # The OTLP exporter's own failure, while the app runs, reaches stderr instead of the dead log pipeline ...
    while_running = result.stderr.split("the app is done", 1)[0]
    assert "Transient error" in while_running
    assert "exporting spans batch" in while_running
    assert "did not finish before the shutdown timeout" in result.stderr
    # The traces used their share of the budget, not the metrics' one too.
    assert "metrics shutdown failed" not in result.stderr
    # ... while the application's record went to the log pipeline, not to stderr.
    assert "the app logs through OTLP" not in result.stderr


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_log_handler_keeps_telemetry_loggers_out_of_the_log_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    handler = _ApplicationLogHandler(logger_provider=provider)
    last_resort = _Collect()
    monkeypatch.setattr(logging, "lastResort", last_resort)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    logging.getLogger("opentelemetry.exporter.otlp.common.http").warning("endpoint down")
    logging.getLogger("llmotel.sdk.pipeline").warning("queue full")
    logging.getLogger("myapp").warning("hello")
    assert [r.log_record.body for r in exporter.get_finished_logs()] == ["hello"]
    assert last_resort.messages == ["endpoint down", "queue full"]

    # With a handler of the application's own (basicConfig, say), the record goes there only, not twice.
    own = _Collect()
    monkeypatch.setattr(root, "handlers", [handler, own])
    logging.getLogger("opentelemetry.sdk._shared_internal").warning("export raised")
    assert own.messages == ["export raised"]
    assert last_resort.messages == ["endpoint down", "queue full"]
    provider.shutdown()


def test_shutdown_timeout_is_read_and_checked() -> None:
    assert shutdown_timeout_from_env({}) == 5.0
    assert shutdown_timeout_from_env({"LLMOTEL_SHUTDOWN_TIMEOUT": "750ms"}) == 0.75
    with pytest.raises(ConfigError) as info:
        shutdown_timeout_from_env({"LLMOTEL_SHUTDOWN_TIMEOUT": "forever"})
    assert info.value.variable == "LLMOTEL_SHUTDOWN_TIMEOUT"
    # The one check start-up and llmotel doctor run refuses it too.
    errors = check_environment({"LLMOTEL_SHUTDOWN_TIMEOUT": "forever"}).errors
    assert [e.variable for e in errors] == ["LLMOTEL_SHUTDOWN_TIMEOUT"]
