"""Per-call overhead of the LiteLLM instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_litellm.py --out results.json
    python benchmarks/bench_litellm.py --peers openinference --scale 0.3   # one peer, fewer pairs

Peers: OpenLLMetry (``opentelemetry-instrumentation-litellm``) and OpenInference
(``openinference-instrumentation-litellm``); both wrap the same ``litellm`` functions. Timed calls:
``completion`` (OpenAI route), ``completion(stream=True)`` of a ~50-chunk reply, ``acompletion``
and ``embedding``, all over HTTP to the stub, plus ``mock``: ``completion(mock_response=...)``,
LiteLLM's whole pipeline without the HTTP round trip, whose jitter on a shared machine is larger
than any instrumentation. How it measures: ``benchmarks/_genai_bench.py``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from _genai_bench import Spec, main, usual_peers

# LiteLLM fetches its model cost map at import otherwise (the workers inherit this).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MESSAGES: Any = [{"role": "user", "content": "Say something short about telemetry."}]
STREAM_TEXT = " ".join(f"w{i}" for i in range(49))  # ~50 content chunks
STREAM_MESSAGES: Any = [{"role": "user", "content": f"Repeat: {STREAM_TEXT}"}]


def calls(base_url: str) -> Mapping[str, Callable[[], Any]]:
    import litellm

    route = {"model": "openai/gpt-4o-mini", "api_base": f"{base_url}/v1", "api_key": "bench"}
    embed_route = {**route, "model": "openai/text-embedding-3-small"}

    def sync() -> None:
        litellm.completion(**route, messages=MESSAGES)

    def stream() -> None:
        for _ in litellm.completion(**route, messages=STREAM_MESSAGES, stream=True):
            pass

    async def async_() -> None:
        await litellm.acompletion(**route, messages=MESSAGES)

    def embed() -> None:
        litellm.embedding(**embed_route, input=["a short text"])

    def mock() -> None:
        litellm.completion(model="gpt-4o-mini", messages=MESSAGES, mock_response="Telemetry!")

    return {"sync": sync, "stream": stream, "async": async_, "embed": embed, "mock": mock}


SPEC = Spec(
    sdk="litellm==1.110.2",
    ours=("llmotel.instrumentation.litellm", "LiteLLMInstrumentor"),
    peers=usual_peers("litellm", "LiteLLMInstrumentor"),
    calls=calls,
    local=(
        "packages/llmotel-semconv[instrumentation]",
        "packages/llmotel-instrumentation-litellm",
    ),
    pairs={"sync": 150, "stream": 60, "async": 150, "embed": 150, "mock": 300},
)

if __name__ == "__main__":
    code = main(SPEC, __file__)
    # A worker's interpreter can crash while shutting down after thousands of LiteLLM calls
    # (SIGSEGV once the results are printed, whichever contender ran): leave without finalizing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
