"""A tiny app that calls the OpenAI API: one chat completion and one streamed reply.

Run it against the local stub server, no API key needed::

    python -m llmotel.testing.stub &            # prints its URL; export OPENAI_BASE_URL=<url>/v1
    OPENAI_API_KEY=test opentelemetry-instrument --traces_exporter console python examples/openai_chat.py

``opentelemetry-instrument`` loads ``llmotel_openai`` (llmotel-instrumentation-openai), so each call
prints one ``chat <model>`` span; the app itself has no telemetry code.
"""

from __future__ import annotations

import os

from openai import OpenAI


def main() -> None:
    client = OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "test"))
    model = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    reply = client.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": "You answer in one sentence."},
            {"role": "user", "content": "What is OpenTelemetry?"},
        ],
        temperature=0.2,
    )
    print(reply.choices[0].message.content)
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Count to five."}],
        stream=True,
    )
    print("".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices))


if __name__ == "__main__":
    main()
