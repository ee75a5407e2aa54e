"""Per-call overhead of the mistralai instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_mistralai.py --out results.json
    python benchmarks/bench_mistralai.py --peers openllmetry --scale 0.3   # one peer, fewer pairs
    python benchmarks/bench_mistralai.py --modes in-situ   # only the wrappers: the SDK's work faked

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

from _genai_bench import Spec, main, usual_peers

MESSAGES: Any = [{"role": "user", "content": "Say something short about telemetry."}]
STREAM_TEXT = " ".join(f"w{i}" for i in range(49))  # ~50 content chunks


def _client(base_url: str) -> Any:
    try:
        from mistralai.client import Mistral
    except ImportError:  # mistralai 1.x
        from mistralai import Mistral  # type: ignore[attr-defined,no-redef,unused-ignore]
    return Mistral(api_key="bench", server_url=base_url)


STREAM_MESSAGES: Any = [{"role": "user", "content": f"Repeat: {STREAM_TEXT}"}]


def in_situ(base_url: str) -> list[tuple[Any, str, Callable[..., Any]]]:
    """One real answer per method, and fakes that return it (a fresh stream each time)."""
    client = _client(base_url)
    chat, embeddings = type(client.chat), type(client.embeddings)
    answer = client.chat.complete(model="mistral-small-latest", messages=MESSAGES)
    events = list(client.chat.stream(model="mistral-small-latest", messages=STREAM_MESSAGES))
    vectors = client.embeddings.create(model="mistral-embed", inputs=["a short text"])

    async def complete_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        return answer

    return [
        (chat, "complete", lambda self, *args, **kwargs: answer),
        (chat, "stream", lambda self, *args, **kwargs: (e for e in events)),
        (chat, "complete_async", complete_async),
        (embeddings, "create", lambda self, *args, **kwargs: vectors),
    ]


def calls(base_url: str) -> Mapping[str, Callable[[], Any]]:
    client = _client(base_url)
    stream_messages = STREAM_MESSAGES

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
    peers=usual_peers("mistralai", "MistralAiInstrumentor", "MistralAIInstrumentor"),
    calls=calls,
    local=(
        "packages/llmotel-semconv[instrumentation]",
        "packages/llmotel-instrumentation-mistralai",
    ),
    url_suffix="/mistral",
    pairs={"sync": 300, "stream": 120, "async": 300, "embed": 300},
    # OpenLLMetry's instrumentation imports mistralai 1.x's module layout.
    peer_sdk={"openllmetry": "mistralai==1.9.11"},
    in_situ=in_situ,
)

if __name__ == "__main__":
    sys.exit(main(SPEC, __file__))
