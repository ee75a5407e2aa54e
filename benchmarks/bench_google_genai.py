"""Per-call overhead of the google-genai instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_google_genai.py --out results.json
    python benchmarks/bench_google_genai.py --peers upstream --scale 0.3   # one peer, fewer pairs

Peers: upstream contrib (``opentelemetry-instrumentation-google-genai``, which supports
google-genai < 3: llmotel is measured on that SDK too) and OpenInference
(``openinference-instrumentation-google-genai``). Timed calls, Gemini API client over HTTP to the
stub: ``models.generate_content``, ``models.generate_content_stream`` of a ~50-chunk reply,
``aio.models.generate_content`` and ``models.embed_content``. How it measures:
``benchmarks/_genai_bench.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from _genai_bench import Spec, main

PROMPT = "Say something short about telemetry."
STREAM_TEXT = " ".join(f"w{i}" for i in range(49))  # ~50 content chunks
MODEL = "gemini-2.5-flash"


def calls(base_url: str) -> Mapping[str, Callable[[], Any]]:
    from google import genai

    client = genai.Client(api_key="bench", http_options={"base_url": base_url})

    def sync() -> None:
        client.models.generate_content(model=MODEL, contents=PROMPT)

    def stream() -> None:
        for _ in client.models.generate_content_stream(
            model=MODEL, contents=f"Repeat: {STREAM_TEXT}"
        ):
            pass

    async def async_() -> None:
        await client.aio.models.generate_content(model=MODEL, contents=PROMPT)

    def embed() -> None:
        client.models.embed_content(model="text-embedding-004", contents=["a short text"])

    return {"sync": sync, "stream": stream, "async": async_, "embed": embed}


SPEC = Spec(
    sdk="google-genai==3.6.1",
    ours=("llmotel.instrumentation.google_genai", "GoogleGenAIInstrumentor"),
    peers={
        "upstream": (
            ["opentelemetry-instrumentation-google-genai"],
            "opentelemetry.instrumentation.google_genai",
            "GoogleGenAiSdkInstrumentor",
        ),
        "openinference": (
            ["openinference-instrumentation-google-genai"],
            "openinference.instrumentation.google_genai",
            "GoogleGenAIInstrumentor",
        ),
    },
    calls=calls,
    local=(
        "packages/llmotel-semconv[instrumentation]",
        "packages/llmotel-instrumentation-google-genai",
    ),
    pairs={"sync": 300, "stream": 120, "async": 300, "embed": 300},
    peer_sdk={"upstream": "google-genai==2.34.0"},
)

if __name__ == "__main__":
    sys.exit(main(SPEC, __file__))
