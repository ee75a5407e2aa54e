"""Per-call overhead of the google-genai instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_google_genai.py --out results.json
    python benchmarks/bench_google_genai.py --peers upstream --scale 0.3   # one peer, fewer pairs
    python benchmarks/bench_google_genai.py --modes in-situ   # only the wrappers: the SDK's work faked

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
STREAM_PROMPT = f"Repeat: {STREAM_TEXT}"
MODEL = "gemini-2.5-flash"


def _client(base_url: str) -> Any:
    from google import genai

    return genai.Client(api_key="bench", http_options={"base_url": base_url})


def in_situ(base_url: str) -> list[tuple[Any, str, Callable[..., Any]]]:
    """One real answer per model request, and fakes that return it. The fakes replace the SDK's
    per-request methods (``_generate_content`` and ``_generate_content_stream``, what llmotel
    wraps) and ``embed_content``: the public methods the peers wrap still run their own logic
    on top, in both halves of every pair."""
    from google.genai import models

    client = _client(base_url)
    answer = client.models.generate_content(model=MODEL, contents=PROMPT)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents=STREAM_PROMPT))
    vectors = client.models.embed_content(model="text-embedding-004", contents=["a short text"])

    async def generate_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        return answer

    async def stream_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        async def replay() -> Any:
            for chunk in chunks:
                yield chunk

        return replay()

    return [
        (models.Models, "_generate_content", lambda self, *args, **kwargs: answer),
        (models.Models, "_generate_content_stream", lambda self, *a, **k: (c for c in chunks)),
        (models.AsyncModels, "_generate_content", generate_async),
        (models.AsyncModels, "_generate_content_stream", stream_async),
        (models.Models, "embed_content", lambda self, *args, **kwargs: vectors),
    ]


def calls(base_url: str) -> Mapping[str, Callable[[], Any]]:
    client = _client(base_url)

    def sync() -> None:
        client.models.generate_content(model=MODEL, contents=PROMPT)

    def stream() -> None:
        for _ in client.models.generate_content_stream(model=MODEL, contents=STREAM_PROMPT):
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
    in_situ=in_situ,
)

if __name__ == "__main__":
    sys.exit(main(SPEC, __file__))
