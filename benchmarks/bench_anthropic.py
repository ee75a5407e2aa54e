"""Per-call overhead of the anthropic instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_anthropic.py --out results.json
    python benchmarks/bench_anthropic.py --peers openllmetry --scale 0.3   # one peer, fewer pairs
    python benchmarks/bench_anthropic.py --modes in-situ   # only the wrappers: the SDK's work faked

Peers: OpenLLMetry (``opentelemetry-instrumentation-anthropic``), OpenInference
(``openinference-instrumentation-anthropic``) and upstream contrib
(``opentelemetry-instrumentation-genai-anthropic``). Timed calls, the real SDK over HTTP to the
stub: ``messages.create``, ``messages.create(stream=True)`` of a ~50-event reply read to the end,
``AsyncAnthropic().messages.create`` and the ``messages.stream(...)`` helper (entered, read to the
end). In situ, the three ``create`` calls and the client's ``post`` (which the helper's stream
manager calls) return a recorded answer under every wrapper: the helper still builds its
``MessageStream`` from the recorded events in both halves of a pair. How it measures:
``benchmarks/_genai_bench.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from _genai_bench import Spec, main, usual_peers

MODEL = "claude-sonnet-4-5"
MESSAGES: Any = [{"role": "user", "content": "Say something short about telemetry."}]
STREAM_TEXT = " ".join(f"w{i}" for i in range(49))  # ~50 content events
STREAM_MESSAGES: Any = [{"role": "user", "content": f"Repeat: {STREAM_TEXT}"}]


def _clients(base_url: str) -> tuple[Any, Any]:
    import anthropic

    return (
        anthropic.Anthropic(base_url=base_url, api_key="bench", max_retries=0),
        anthropic.AsyncAnthropic(base_url=base_url, api_key="bench", max_retries=0),
    )


def in_situ(base_url: str) -> list[tuple[Any, str, Callable[..., Any]]]:
    """One real answer per kind of ``create`` call, and fakes that return it (a fresh stream of
    the recorded events each time, with the recorded response's headers)."""
    from anthropic._base_client import SyncAPIClient
    from anthropic.resources.messages import AsyncMessages, Messages

    client, _ = _clients(base_url)
    answer = client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)
    stream = client.messages.create(
        model=MODEL, max_tokens=256, messages=STREAM_MESSAGES, stream=True
    )
    events = list(stream)

    class Replay:
        """What ``create(stream=True)`` returns, replayed: iterable, closable, with a response."""

        response = stream.response

        def __init__(self) -> None:
            self._events = iter(events)

        def __iter__(self) -> Any:
            return self

        def __next__(self) -> Any:
            return next(self._events)

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *exc_info: Any) -> None:
            self.close()

        def close(self) -> None:
            self._events = iter(())

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        return Replay() if kwargs.get("stream") else answer

    async def create_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        return answer

    def post(self: Any, *args: Any, stream: bool = False, **kwargs: Any) -> Any:
        # The helper's manager makes its request with the client's post (bound when the
        # client's messages resource is made, on its first use: after the fakes are in place).
        return Replay() if stream else answer

    return [
        (Messages, "create", create),
        (AsyncMessages, "create", create_async),
        (SyncAPIClient, "post", post),
    ]


def calls(base_url: str) -> Mapping[str, Callable[[], Any]]:
    client, aclient = _clients(base_url)

    def sync() -> None:
        client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)

    def stream() -> None:
        for _ in client.messages.create(
            model=MODEL, max_tokens=256, messages=STREAM_MESSAGES, stream=True
        ):
            pass

    async def async_() -> None:
        await aclient.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)

    def helper() -> None:
        with client.messages.stream(model=MODEL, max_tokens=256, messages=STREAM_MESSAGES) as s:
            for _ in s:
                pass

    return {"sync": sync, "stream": stream, "async": async_, "helper": helper}


SPEC = Spec(
    sdk="anthropic==2.17.0",
    ours=("llmotel.instrumentation.anthropic", "AnthropicInstrumentor"),
    peers={
        **usual_peers("anthropic", "AnthropicInstrumentor"),
        "upstream": (
            ["opentelemetry-instrumentation-genai-anthropic"],
            "opentelemetry.instrumentation.genai.anthropic",
            "AnthropicInstrumentor",
        ),
    },
    calls=calls,
    local=(
        "packages/llmotel-semconv[instrumentation]",
        "packages/llmotel-instrumentation-anthropic",
    ),
    pairs={"sync": 300, "stream": 120, "async": 300, "helper": 120},
    in_situ=in_situ,
)

if __name__ == "__main__":
    sys.exit(main(SPEC, __file__))
