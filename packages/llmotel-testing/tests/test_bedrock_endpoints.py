"""The real boto3 ``bedrock-runtime`` client against the stub: Converse and InvokeModel (plain and
streamed, each model family), tool use, cache tokens, errors; the event-stream framing parsed by
botocore's own decoder."""

from __future__ import annotations

import binascii
import json
import struct
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError

from llmotel.testing import (
    AWS_TEST_ENV,
    StubServer,
    Usage,
    count_tokens,
    error_reply,
    event_stream,
    raw_reply,
    stream_error_reply,
    text_reply,
    tool_call_reply,
)
from llmotel.testing._bedrock import encode_event, encode_message

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
MESSAGES: Any = [{"role": "user", "content": [{"text": "What is the weather in Paris?"}]}]
PROMPT_TOKENS = count_tokens("What is the weather in Paris?")


@pytest.fixture
def client(llm_stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    return boto3.client("bedrock-runtime", endpoint_url=llm_stub.bedrock_base_url)


def _invoke(client: Any, model: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.invoke_model(modelId=model, body=json.dumps(body))
    return json.loads(response["body"].read())  # type: ignore[no-any-return]


def _chunks(client: Any, model: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


# --- framing --------------------------------------------------------------------------------------
def test_event_stream_framing_is_what_botocore_parses() -> None:
    data = encode_event(("messageStop", {"stopReason": "end_turn"}))
    total, headers_length, prelude_crc = struct.unpack("!III", data[:12])
    assert total == len(data)
    assert prelude_crc == binascii.crc32(data[:8])
    assert struct.unpack("!I", data[-4:])[0] == binascii.crc32(data[:-4])
    buffer = EventStreamBuffer()
    buffer.add_data(data + encode_event(("throttlingException", {"message": "slow down"})))
    first, second = list(buffer)
    assert first.headers == {
        ":event-type": "messageStop",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(first.payload) == {"stopReason": "end_turn"}
    assert len(first.payload) == total - 12 - headers_length - 4
    assert second.headers[":message-type"] == "exception"
    assert second.headers[":exception-type"] == "throttlingException"


def test_a_corrupt_message_fails_botocore_crc_check() -> None:
    data = bytearray(encode_message({":event-type": "chunk"}, b"{}"))
    data[-6] ^= 0xFF
    buffer = EventStreamBuffer()
    buffer.add_data(bytes(data))
    with pytest.raises(Exception, match=r"(?i)checksum|crc"):
        list(buffer)


# --- Converse -------------------------------------------------------------------------------------
def test_converse_default_reply(client: Any, llm_stub: StubServer) -> None:
    response = client.converse(modelId=CLAUDE, messages=MESSAGES)
    text = f"Stub reply from {CLAUDE}: What is the weather in Paris?"
    assert response["output"]["message"] == {"role": "assistant", "content": [{"text": text}]}
    assert response["stopReason"] == "end_turn"
    assert response["usage"] == {
        "inputTokens": PROMPT_TOKENS,
        "outputTokens": count_tokens(text),
        "totalTokens": PROMPT_TOKENS + count_tokens(text),
    }
    assert response["ResponseMetadata"]["RequestId"] == "req_stub_000001"
    request = llm_stub.requests[-1]
    assert request.path == "/bedrock/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDSTUB")


def test_converse_max_tokens_and_cache(client: Any, llm_stub: StubServer) -> None:
    response = client.converse(modelId=CLAUDE, messages=MESSAGES, inferenceConfig={"maxTokens": 2})
    assert response["stopReason"] == "max_tokens"
    assert response["output"]["message"]["content"] == [{"text": "Stub reply"}]
    llm_stub.enqueue(
        text_reply(
            "Hi",
            usage=Usage(input_tokens=5, cache_read_input_tokens=40, cache_creation_input_tokens=7),
        )
    )
    usage = client.converse(modelId=CLAUDE, messages=MESSAGES)["usage"]
    assert usage == {
        "inputTokens": 5,
        "outputTokens": 1,
        "totalTokens": 53,
        "cacheReadInputTokens": 40,
        "cacheWriteInputTokens": 7,
    }


def test_converse_tool_use(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    response = client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert response["stopReason"] == "tool_use"
    assert response["output"]["message"]["content"] == [
        {
            "toolUse": {
                "toolUseId": "tooluse_stub000001_0",
                "name": "get_weather",
                "input": {"city": "Paris"},
            }
        }
    ]


def test_converse_stream(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(text_reply("Hello there", usage=Usage(input_tokens=3)))
    response = client.converse_stream(modelId=CLAUDE, messages=MESSAGES)
    events = list(response["stream"])
    assert [next(iter(e)) for e in events] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events[1:3]) == "Hello there"
    assert events[4]["messageStop"]["stopReason"] == "end_turn"
    assert events[5]["metadata"]["usage"] == {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/vnd.amazon.eventstream"


def test_converse_stream_tool_use(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(tool_call_reply("get_weather", {"city": "Paris"}))
    events = list(client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"])
    start = events[1]["contentBlockStart"]
    assert start["start"]["toolUse"] == {"toolUseId": "tooluse_stub000001_0", "name": "get_weather"}
    assert events[2]["contentBlockDelta"]["delta"]["toolUse"]["input"] == '{"city":"Paris"}'
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_converse_stream_error_event(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(stream_error_reply(2, "Too many tokens", status=429))
    stream = client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"]
    events = iter(stream)
    seen = [next(events), next(events)]
    with pytest.raises(EventStreamError) as caught:
        next(events)
    assert [next(iter(e)) for e in seen] == ["messageStart", "contentBlockDelta"]
    assert caught.value.response["Error"] == {
        "Code": "throttlingException",
        "Message": "Too many tokens",
    }


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ValidationException"),
        (429, "ThrottlingException"),
        (503, "ServiceUnavailableException"),
    ],
)
def test_errors_are_client_errors(
    client: Any, llm_stub: StubServer, status: int, code: str
) -> None:
    llm_stub.enqueue(error_reply(status, "Nope"))
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=CLAUDE, messages=MESSAGES)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["Error"]["Message"] == "Nope"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_unknown_operation_is_404(llm_stub: StubServer) -> None:
    request = urllib.request.Request(llm_stub.bedrock_base_url + "/model/m/chat", b"{}")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 404
    assert caught.value.headers["x-amzn-errortype"].startswith("ResourceNotFoundException:")


# --- InvokeModel ----------------------------------------------------------------------------------
def test_invoke_anthropic(client: Any, llm_stub: StubServer) -> None:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    response = client.invoke_model(modelId=CLAUDE, body=json.dumps(body))
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    reply = json.loads(response["body"].read())
    assert reply["type"] == "message"
    assert reply["content"] == [{"type": "text", "text": f"Stub reply from {CLAUDE}: Hi"}]
    assert reply["stop_reason"] == "end_turn"
    assert reply["usage"]["input_tokens"] == 1
    assert reply["model"] == "claude-3-5-sonnet-20240620-v1:0"
    assert headers["x-amzn-bedrock-input-token-count"] == "1"
    assert headers["x-amzn-bedrock-output-token-count"] == str(reply["usage"]["output_tokens"])


def test_invoke_families(client: Any) -> None:
    llama = _invoke(client, "meta.llama3-8b-instruct-v1:0", {"prompt": "Hi", "max_gen_len": 3})
    assert llama == {
        "generation": "Stub reply from",
        "prompt_token_count": 1,
        "generation_token_count": 3,
        "stop_reason": "length",
    }
    titan = _invoke(client, "amazon.titan-text-express-v1", {"inputText": "Hi"})
    assert titan["results"][0]["completionReason"] == "FINISH"
    assert titan["inputTextTokenCount"] == 1
    nova = _invoke(
        client,
        "us.amazon.nova-lite-v1:0",
        {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]},
    )
    assert nova["stopReason"] == "end_turn"
    assert nova["usage"]["inputTokens"] == 1
    mistral = _invoke(
        client, "mistral.mistral-7b-instruct-v0:2", {"prompt": "<s>[INST] Hi [/INST]"}
    )
    assert mistral["outputs"][0]["stop_reason"] == "stop"
    chat = _invoke(
        client, "mistral.mistral-large-2407-v1:0", {"messages": [{"role": "user", "content": "Hi"}]}
    )
    assert chat["choices"][0]["message"]["content"].endswith(": Hi")
    embedding = _invoke(
        client, "amazon.titan-embed-text-v2:0", {"inputText": "Hi", "dimensions": 256}
    )
    assert len(embedding["embedding"]) == 256
    assert embedding["inputTextTokenCount"] == 1


def test_invoke_streams(client: Any) -> None:
    claude = _chunks(
        client,
        CLAUDE,
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 9,
            "messages": [{"role": "user", "content": "Hi"}],
        },
    )
    assert [c["type"] for c in claude][:2] == ["message_start", "content_block_start"]
    assert claude[-1]["type"] == "message_stop"
    assert claude[-1]["amazon-bedrock-invocationMetrics"]["inputTokenCount"] == 1
    llama = _chunks(client, "meta.llama3-8b-instruct-v1:0", {"prompt": "Hi"})
    assert "".join(c["generation"] for c in llama).endswith(": Hi")
    assert llama[-1]["stop_reason"] == "stop"
    titan = _chunks(client, "amazon.titan-text-express-v1", {"inputText": "Hi"})
    assert titan[-1]["completionReason"] == "FINISH"
    nova = _chunks(
        client,
        "amazon.nova-micro-v1:0",
        {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]},
    )
    assert nova[-1]["metadata"]["usage"]["inputTokens"] == 1


def test_invoke_stream_error_event(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(stream_error_reply(1, "Bad model output", status=424))
    response = client.invoke_model_with_response_stream(
        modelId="meta.llama3-8b-instruct-v1:0", body=json.dumps({"prompt": "Hi there you"})
    )
    with pytest.raises(EventStreamError) as caught:
        list(response["body"])
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_invoke_error(client: Any, llm_stub: StubServer) -> None:
    llm_stub.enqueue(error_reply(400, "Malformed input", type="ValidationException"))
    with pytest.raises(ClientError) as caught:
        client.invoke_model(modelId=CLAUDE, body=b"{}")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_event_stream_body_as_a_raw_reply(client: Any, llm_stub: StubServer) -> None:
    body = event_stream(
        [("messageStart", {"role": "assistant"}), ("messageStop", {"stopReason": "x"})]
    )
    llm_stub.enqueue(raw_reply(body, content_type="application/vnd.amazon.eventstream"))
    events = list(client.converse_stream(modelId=CLAUDE, messages=MESSAGES)["stream"])
    assert events == [{"messageStart": {"role": "assistant"}}, {"messageStop": {"stopReason": "x"}}]
