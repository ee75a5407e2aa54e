"""Per-call overhead of the Bedrock Runtime instrumentation: llmotel side by side with its peers.

    python benchmarks/bench_bedrock.py --out results.json
    python benchmarks/bench_bedrock.py --peers openllmetry --scale 0.3   # one peer, fewer pairs
    python benchmarks/bench_bedrock.py --modes in-situ   # only the wrappers: botocore's work faked

Peers: OpenLLMetry (``opentelemetry-instrumentation-bedrock``) and OpenInference
(``openinference-instrumentation-bedrock``); both wrap the methods of clients made after
``instrument()``, so every timed call uses a client made on first use. Timed calls, with the real
boto3 over HTTP to the stub: ``converse``, ``converse_stream`` of a ~50-chunk reply,
``invoke_model`` (an Anthropic body, read by the caller) and ``invoke_model_with_response_stream``
(~50 chunks). How it measures: ``benchmarks/_genai_bench.py``.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from _genai_bench import Spec, main, usual_peers

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES: Any = [{"role": "user", "content": [{"text": "Say something short about telemetry."}]}]
STREAM_TEXT = " ".join(f"w{i}" for i in range(49))  # ~50 content chunks
STREAM_MESSAGES: Any = [{"role": "user", "content": [{"text": f"Repeat: {STREAM_TEXT}"}]}]
BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Say something short about telemetry."}],
    }
)
STREAM_BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": f"Repeat: {STREAM_TEXT}"}],
    }
)


def _client(base_url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "bedrock-runtime",
        endpoint_url=base_url,
        region_name="us-east-1",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench",
        config=Config(retries={"total_max_attempts": 1}),
    )


# OpenLLMetry's call wrappers skip on their own key, not OpenTelemetry's suppression.
_OPENLLMETRY_SUPPRESS = "suppress_language_model_instrumentation"


class _Lazy:
    """A client made on first use (after ``instrument()``: the peers patch clients as they are
    made), never under suppression (it would stay unpatched)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client: Any = None

    def __call__(self) -> Any:
        if self.client is None:
            from opentelemetry import context

            key = context._SUPPRESS_INSTRUMENTATION_KEY
            token = context.attach(context.set_value(key, False))
            try:
                self.client = _client(self.base_url)
            finally:
                context.detach(token)
        return self.client


def _suppress_peers_too(call: Callable[[], None]) -> Callable[[], None]:
    """``call``, which under OpenTelemetry's suppression also sets OpenLLMetry's own key: so the
    harness can pair suppressed and instrumented single calls for every contender (the check
    runs in both, the same few ns for each)."""
    from opentelemetry import context

    key = context._SUPPRESS_INSTRUMENTATION_KEY

    def run() -> None:
        if not context.get_value(key):
            call()
            return
        token = context.attach(context.set_value(_OPENLLMETRY_SUPPRESS, True))
        try:
            call()
        finally:
            context.detach(token)

    return run


def calls(base_url: str) -> Mapping[str, Callable[[], Any]]:
    client = _Lazy(base_url)

    def converse() -> None:
        client().converse(modelId=MODEL, messages=MESSAGES)

    def stream() -> None:
        for _ in client().converse_stream(modelId=MODEL, messages=STREAM_MESSAGES)["stream"]:
            pass

    def invoke() -> None:
        client().invoke_model(modelId=MODEL, body=BODY)["body"].read()

    def invoke_stream() -> None:
        response = client().invoke_model_with_response_stream(modelId=MODEL, body=STREAM_BODY)
        for _ in response["body"]:
            pass

    timed = {
        "converse": converse,
        "stream": stream,
        "invoke": invoke,
        "invoke_stream": invoke_stream,
    }
    return {kind: _suppress_peers_too(call) for kind, call in timed.items()}


class _RawStream:
    """The recorded bytes of an event-stream reply, as botocore's raw stream gives them."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self) -> Any:
        yield self.data

    def close(self) -> None:
        pass


def in_situ(base_url: str) -> list[tuple[Any, str, Callable[..., Any]]]:
    """One real answer per operation, and a fake ``_make_api_call`` that returns it (a fresh
    body or event stream each time, parsed by botocore's own event-stream parser)."""
    import urllib.request

    from botocore.client import BaseClient
    from botocore.eventstream import EventStream
    from botocore.parsers import EventStreamJSONParser
    from botocore.response import StreamingBody

    client = _client(base_url)
    model = client.meta.service_model
    answers = {
        "Converse": client.converse(modelId=MODEL, messages=MESSAGES),
        "InvokeModel": client.invoke_model(modelId=MODEL, body=BODY),
    }
    body = answers["InvokeModel"]["body"].read()
    raw = {}
    for operation, path, payload in (
        ("ConverseStream", "converse-stream", json.dumps({"messages": STREAM_MESSAGES})),
        ("InvokeModelWithResponseStream", "invoke-with-response-stream", STREAM_BODY),
    ):
        request = urllib.request.Request(f"{base_url}/model/{MODEL}/{path}", payload.encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            raw[operation] = response.read()
    parser = EventStreamJSONParser()
    shapes = {
        op: model.operation_model(op).output_shape.members[key]
        for op, key in (("ConverseStream", "stream"), ("InvokeModelWithResponseStream", "body"))
    }

    def fake(self: Any, operation: str, params: Any) -> Any:
        if operation == "InvokeModel":
            return {**answers["InvokeModel"], "body": StreamingBody(io.BytesIO(body), len(body))}
        if operation in raw:
            stream = EventStream(_RawStream(raw[operation]), shapes[operation], parser, operation)
            return {"stream" if operation == "ConverseStream" else "body": stream}
        return answers[operation]

    return [(BaseClient, "_make_api_call", fake)]


SPEC = Spec(
    sdk="boto3==1.43.11",
    ours=("llmotel.instrumentation.bedrock", "BedrockInstrumentor"),
    peers=usual_peers("bedrock", "BedrockInstrumentor"),
    calls=calls,
    local=(
        "packages/llmotel-semconv[instrumentation]",
        "packages/llmotel-instrumentation-bedrock",
    ),
    url_suffix="/bedrock",
    pairs={"converse": 300, "stream": 120, "invoke": 300, "invoke_stream": 120},
    in_situ=in_situ,
)

if __name__ == "__main__":
    sys.exit(main(SPEC, __file__))
