"""Zero code: ``opentelemetry-instrument`` loads the instrumentation by its entry point."""

from __future__ import annotations

import subprocess
import textwrap

from llmotel.testing import (
    AWS_TEST_ENV,
    StubServer,
    Usage,
    console_spans,
    run_instrumented,
    text_reply,
)

APP = textwrap.dedent(
    """
    import os
    import boto3
    client = boto3.client("bedrock-runtime", endpoint_url=os.environ["BEDROCK_ENDPOINT_URL"])
    client.converse(
        modelId="us.amazon.nova-lite-v1:0",
        messages=[{"role": "user", "content": [{"text": "Hi"}]}],
    )
    """
)


def run(stub: StubServer, **env: str) -> subprocess.CompletedProcess[str]:
    return run_instrumented(
        APP,
        {
            **AWS_TEST_ENV,
            "BEDROCK_ENDPOINT_URL": stub.bedrock_base_url,
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
    assert span["name"] == "chat amazon.nova-lite-v1:0"
    assert span["kind"] == "SpanKind.CLIENT"
    assert span["attributes"]["gen_ai.provider.name"] == "aws.bedrock"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == 3


def test_disabled_by_its_own_name(llm_stub: StubServer) -> None:
    done = run(llm_stub, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="llmotel_bedrock")
    assert done.returncode == 0, done.stderr
    assert len(llm_stub.requests) == 1  # the app made its call, uninstrumented
    assert console_spans(done.stdout) == []
