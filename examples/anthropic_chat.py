"""A tiny app that calls the Anthropic API: one message and one streamed reply.

Run it against the local stub server, no API key needed::

    python -m llmotel.testing.stub &            # prints its URL; export ANTHROPIC_BASE_URL=<url>
    ANTHROPIC_API_KEY=test opentelemetry-instrument --traces_exporter console \
        python examples/anthropic_chat.py

``opentelemetry-instrument`` loads ``llmotel_anthropic`` (llmotel-instrumentation-anthropic), so
each call prints one ``chat <model>`` span; the app itself has no telemetry code.
"""

from __future__ import annotations

import os

from anthropic import Anthropic


def main() -> None:
    client = Anthropic(api_key=os.environ.get("ANTHROPIC_API_KEY", "test"))
    model = os.environ.get("ANTHROPIC_MODEL", "claude-opus-4-5")
    message = client.messages.create(
        model=model,
        max_tokens=200,
        system="You answer in one sentence.",
        messages=[{"role": "user", "content": "What is OpenTelemetry?"}],
    )
    print("".join(block.text for block in message.content if block.type == "text"))
    with client.messages.stream(
        model=model, max_tokens=200, messages=[{"role": "user", "content": "Count to five."}]
    ) as stream:
        print("".join(stream.text_stream))


if __name__ == "__main__":
    main()
