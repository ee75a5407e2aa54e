"""Zero code: ``opentelemetry-instrument`` loads the instrumentation by its entry point."""

from __future__ import annotations

import subprocess
import textwrap

from llmotel.testing import StubServer, Usage, console_spans, run_instrumented, text_reply

APP = textwrap.dedent(
    """
    import os
    from google import genai
    client = genai.Client(api_key="test", http_options={"base_url": os.environ["STUB_URL"]})
    client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    """
)


def run(stub: StubServer, **env: str) -> subprocess.CompletedProcess[str]:
    return run_instrumented(
        APP,
        {
            "STUB_URL": stub.google_genai_base_url,
            "OTEL_PYTHON_DISTRO": "llmotel",
            "OTEL_PYTHON_CONFIGURATOR": "llmotel",
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            **env,
        },
    )


def test_loads_by_entry_point(llm_stub: StubServer) -> None:
    llm_stub.enqueue(text_reply("Hello", usage=Usage(input_tokens=3, output_tokens=1)))
    done = run(llm_stub)
    assert done.returncode == 0, done.stderr
    [span] = console_spans(done.stdout)
    assert span["name"] == "generate_content gemini-2.5-flash"
    assert span["kind"] == "SpanKind.CLIENT"
    assert span["attributes"]["gen_ai.provider.name"] == "gcp.gemini"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == 3


def test_disabled_by_its_own_name(llm_stub: StubServer) -> None:
    done = run(llm_stub, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="llmotel_google_genai")
    assert done.returncode == 0, done.stderr
    assert len(llm_stub.requests) == 1  # the app made its call, uninstrumented
    assert console_spans(done.stdout) == []
