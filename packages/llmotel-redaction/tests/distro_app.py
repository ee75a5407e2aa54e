"""One app run under ``opentelemetry-instrument`` with the llmotel distro, exporting to a local receiver."""

from __future__ import annotations

import subprocess
from typing import Any

from llmotel.testing import StubServer, run_instrumented

DISTRO_ENV = {
    "OTEL_PYTHON_DISTRO": "llmotel",
    "OTEL_PYTHON_CONFIGURATOR": "llmotel",
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
    "LLMOTEL_REDACTION": "on",
}


def run_under_distro(
    code: str, stub: StubServer, receiver: Any, **env: str
) -> subprocess.CompletedProcess[str]:
    """``code`` under ``opentelemetry-instrument``: the openai SDK on ``stub``, OTLP/HTTP to
    ``receiver``, redaction on, content on spans; ``env`` adds to or overrides that."""
    return run_instrumented(
        code,
        {
            **DISTRO_ENV,
            "OPENAI_BASE_URL": stub.openai_base_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            **env,
        },
    )
