"""Zero code: ``opentelemetry-instrument`` loads the instrumentation by its entry point."""

from __future__ import annotations

import textwrap

from llmotel.testing import StubServer, check_disabled_by_name, check_loads_by_entry_point

APP = textwrap.dedent(
    """
    import os
    try:
        from mistralai.client import Mistral
    except ImportError:
        from mistralai import Mistral
    client = Mistral(api_key="test", server_url=os.environ["MISTRAL_SERVER_URL"])
    client.chat.complete(model="mistral-small-latest", messages=[{"role": "user", "content": "Hi"}])
    """
)


def env(stub: StubServer) -> dict[str, str]:
    return {"MISTRAL_SERVER_URL": stub.mistral_base_url}


def test_loads_by_entry_point(llm_stub: StubServer) -> None:
    check_loads_by_entry_point(
        llm_stub, APP, env(llm_stub), span_name="chat mistral-small-latest", provider="mistral_ai"
    )


def test_disabled_by_its_own_name(llm_stub: StubServer) -> None:
    check_disabled_by_name(llm_stub, APP, env(llm_stub), entry_point="llmotel_mistralai")
