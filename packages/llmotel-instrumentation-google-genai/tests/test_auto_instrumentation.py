"""Zero code: ``opentelemetry-instrument`` loads the instrumentation by its entry point."""

from __future__ import annotations

import textwrap

from llmotel.testing import (
    StubServer,
    check_disabled_by_name,
    check_loads_by_entry_point,
    check_patched_on_import,
)

APP = textwrap.dedent(
    """
    import os
    from google import genai
    client = genai.Client(api_key="test", http_options={"base_url": os.environ["STUB_URL"]})
    client.models.generate_content(model="gemini-2.5-flash", contents="Hi")
    """
)


def env(stub: StubServer) -> dict[str, str]:
    return {"STUB_URL": stub.google_genai_base_url}


def test_loads_by_entry_point(llm_stub: StubServer) -> None:
    check_loads_by_entry_point(
        llm_stub,
        APP,
        env(llm_stub),
        span_name="generate_content gemini-2.5-flash",
        provider="gcp.gemini",
    )


def test_disabled_by_its_own_name(llm_stub: StubServer) -> None:
    check_disabled_by_name(llm_stub, APP, env(llm_stub), entry_point="llmotel_google_genai")


def test_patched_when_the_application_imports_google_genai() -> None:
    # Installed but never imported, google.genai costs no start-up time under opentelemetry-instrument.
    check_patched_on_import(
        "llmotel.instrumentation.google_genai:GoogleGenAIInstrumentor",
        "google.genai",
        "google.genai.models:Models._generate_content",
    )
