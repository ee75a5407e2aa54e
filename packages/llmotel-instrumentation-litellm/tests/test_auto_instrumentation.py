"""Zero code: ``opentelemetry-instrument`` loads the instrumentation by its entry point; and LiteLLM,
instrumented, never reaches past the machine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from llmotel.testing import (
    StubServer,
    check_disabled_by_name,
    check_loads_by_entry_point,
    run_instrumented,
    text_reply,
)

APP = textwrap.dedent(
    """
    import os
    import litellm
    litellm.completion(
        model="anthropic/claude-sonnet-4-20250514",
        messages=[{"role": "user", "content": "Hi"}],
        api_base=os.environ["STUB_URL"],
        api_key="test",
    )
    """
)


def env(stub: StubServer) -> dict[str, str]:
    return {"STUB_URL": stub.anthropic_base_url, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def test_loads_by_entry_point(llm_stub: StubServer) -> None:
    check_loads_by_entry_point(
        llm_stub,
        APP,
        env(llm_stub),
        span_name="chat claude-sonnet-4-20250514",
        provider="anthropic",
        prefix="chat ",
    )


def test_disabled_by_its_own_name(llm_stub: StubServer) -> None:
    check_disabled_by_name(
        llm_stub, APP, env(llm_stub), entry_point="llmotel_litellm", prefix="chat "
    )


# Any connection that is not to this machine fails the app: LiteLLM must not fetch its cost map
# (LITELLM_LOCAL_MODEL_COST_MAP) or a tiktoken encoding (it ships its own) from the network.
NO_NETWORK = textwrap.dedent(
    """
    import os, socket, sys

    real_connect = socket.socket.connect

    def local_only(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            sys.exit(f"network access to {address}")
        return real_connect(self, address)

    socket.socket.connect = local_only
    import litellm
    from llmotel.instrumentation.litellm import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument()
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        stream=True,
        api_base=os.environ["STUB_URL"],
        api_key="test",
        messages=[{"role": "user", "content": "Hi"}],
    )
    for _ in stream:
        pass
    print(litellm.token_counter(model="gpt-4o-mini", text="four words of text"))
    """
)


def test_no_network(llm_stub: StubServer) -> None:
    llm_stub.enqueue(text_reply("Hello"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LITELLM_"))}
    env.update(STUB_URL=llm_stub.openai_base_url, LITELLM_LOCAL_MODEL_COST_MAP="True")
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "4"


def test_an_app_without_litellm_does_not_import_it() -> None:
    # litellm takes seconds to import: it is patched when the application imports it, not before.
    done = run_instrumented(
        "import sys; print('litellm' in sys.modules)",
        {"OTEL_PYTHON_DISTRO": "llmotel", "OTEL_PYTHON_CONFIGURATOR": "llmotel"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "False"
