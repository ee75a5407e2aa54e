"""Zero code: ``opentelemetry-instrument`` loads the instrumentation by its entry point."""

from __future__ import annotations

import textwrap

from llmotel.testing import (
    AWS_TEST_ENV,
    StubServer,
    check_disabled_by_name,
    check_loads_by_entry_point,
    check_patched_on_import,
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


def env(stub: StubServer) -> dict[str, str]:
    return {**AWS_TEST_ENV, "BEDROCK_ENDPOINT_URL": stub.bedrock_base_url}


def test_loads_by_entry_point(llm_stub: StubServer) -> None:
    check_loads_by_entry_point(
        llm_stub, APP, env(llm_stub), span_name="chat amazon.nova-lite-v1:0", provider="aws.bedrock"
    )


def test_disabled_by_its_own_name(llm_stub: StubServer) -> None:
    check_disabled_by_name(llm_stub, APP, env(llm_stub), entry_point="llmotel_bedrock")


def test_patched_when_the_application_imports_botocore() -> None:
    # Installed but never imported, botocore costs no start-up time under opentelemetry-instrument.
    check_patched_on_import(
        "llmotel.instrumentation.bedrock:BedrockInstrumentor",
        "botocore",
        "botocore.client:BaseClient._make_api_call",
    )
