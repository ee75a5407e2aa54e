"""Zero code: ``opentelemetry-instrument`` loads the instrumentation by its entry point."""

from __future__ import annotations

import importlib.util
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


def test_patched_when_the_application_imports_mistralai() -> None:
    # Installed but never imported, mistralai costs no start-up time under opentelemetry-instrument.
    try:  # mistralai >= 2 keeps the client in mistralai.client, 1.x at the package root
        chat = "mistralai.client.chat" if importlib.util.find_spec("mistralai.client.chat") else ""
    except ModuleNotFoundError:
        chat = ""
    check_patched_on_import(
        "llmotel.instrumentation.mistralai:MistralAIInstrumentor",
        "mistralai",
        f"{chat or 'mistralai.chat'}:Chat.complete",
    )
