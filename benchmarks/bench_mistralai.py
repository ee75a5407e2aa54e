"""Per-call overhead of the mistralai instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_mistralai.py --out results.json
    python benchmarks/bench_mistralai.py --peers openllmetry --scale 0.3   # one peer, fewer pairs

Peers: OpenLLMetry (``opentelemetry-instrumentation-mistralai``, which needs mistralai 1.x: llmotel is
measured on that SDK too) and OpenInference (``openinference-instrumentation-mistralai``, mistralai
>= 2). Timed calls: ``chat.complete``, ``chat.stream`` of a
~50-chunk reply, ``chat.complete_async`` and ``embeddings.create``, all with the real SDK over HTTP
to the stub. How it measures: ``benchmarks/_genai_bench.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from _genai_bench import Spec, main

MESSAGES: Any = [{"role": "user", "content": "Say something short about telemetry."}]
STREAM_TEXT = " ".join(f"w{i}" for i in range(49))  # ~50 content chunks


def calls(base_url: str) -> Mapping[str, Callable[[], Any]]:
    try:
        from mistralai.client import Mistral
    except ImportError:  # mistralai 1.x
        from mistralai import Mistral  # type: ignore[attr-defined,no-redef,unused-ignore]

    client = Mistral(api_key="bench", server_url=base_url)
    stream_messages: Any = [{"role": "user", "content": f"Repeat: {STREAM_TEXT}"}]

    def sync() -> None:
        client.chat.complete(model="mistral-small-latest", messages=MESSAGES)

    def stream() -> None:
        for _ in client.chat.stream(model="mistral-small-latest", messages=stream_messages):
            pass

    async def async_() -> None:
        await client.chat.complete_async(model="mistral-small-latest", messages=MESSAGES)

    def embed() -> None:
        client.embeddings.create(model="mistral-embed", inputs=["a short text"])

    return {"sync": sync, "stream": stream, "async": async_, "embed": embed}


SPEC = Spec(
    sdk="mistralai==3.7.0",
    ours=("llmotel.instrumentation.mistralai", "MistralAIInstrumentor"),
    peers={
        "openllmetry": (
            ["opentelemetry-instrumentation-mistralai"],
            "opentelemetry.instrumentation.mistralai",
            "MistralAiInstrumentor",
        ),
        "openinference": (
            ["openinference-instrumentation-mistralai"],
            "openinference.instrumentation.mistralai",
            "MistralAIInstrumentor",
        ),
    },
    calls=calls,
    local=(
        "packages/llmotel-semconv[instrumentation]",
        "packages/llmotel-instrumentation-mistralai",
    ),
    url_suffix="/mistral",
    pairs={"sync": 300, "stream": 120, "async": 300, "embed": 300},
    # OpenLLMetry's instrumentation imports mistralai 1.x's module layout.
    peer_sdk={"openllmetry": "mistralai==1.9.11"},
)

if __name__ == "__main__":
    sys.exit(main(SPEC, __file__))
