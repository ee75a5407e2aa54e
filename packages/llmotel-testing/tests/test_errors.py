"""Errors the stub sends map to the SDKs' exception classes (max_retries=0: one request each)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable

import anthropic
import openai
import pytest

from llmotel.testing import StubServer, cut_stream_reply, error_reply, stream_error_reply

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {
    "model": "claude-test-1",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "hi"}],
}


def _consume(stream: Iterable[object], sink: list[object]) -> None:
    """Iterate ``stream`` into ``sink`` (so what arrived before an error can be checked)."""
    for item in stream:
        sink.append(item)  # noqa: PERF402 - the point is to keep what came before the error


@pytest.fixture
def oai(llm_stub: StubServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="test-key", max_retries=0)


@pytest.fixture
def claude(llm_stub: StubServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=llm_stub.anthropic_base_url, api_key="test-key", max_retries=0
    )


@pytest.mark.parametrize(
    ("status", "exception", "error_type", "code"),
    [
        (400, openai.BadRequestError, "invalid_request_error", None),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
        (404, openai.NotFoundError, "invalid_request_error", "model_not_found"),
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error", None),
        (503, openai.InternalServerError, "server_error", None),
    ],
)
def test_openai_http_errors(
    oai: openai.OpenAI,
    llm_stub: StubServer,
    status: int,
    exception: type[openai.APIStatusError],
    error_type: str,
    code: str | None,
) -> None:
    llm_stub.enqueue(error_reply(status))
    with pytest.raises(exception) as caught:
        oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    error = caught.value
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert set(error.body) == {"message", "type", "param", "code"}
    assert (error.type, error.code) == (error_type, code)
    assert error.response.headers["x-request-id"] == "req_stub_000001"
    assert len(llm_stub.requests) == 1


def test_openai_rate_limit_has_retry_after(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(error_reply(429, "Slow down", retry_after=7))
    with pytest.raises(openai.RateLimitError) as caught:
        oai.embeddings.create(model="text-embedding-3-small", input="x")
    assert caught.value.response.headers["retry-after"] == "7"
    assert "Slow down" in caught.value.message


def test_openai_custom_error_fields(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(error_reply(400, "Bad temperature", code="invalid_value", param="temperature"))
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert caught.value.body == {
        "message": "Bad temperature",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "invalid_value",
    }


def test_openai_sdk_retries_consume_queued_replies(llm_stub: StubServer) -> None:
    client = openai.OpenAI(base_url=llm_stub.openai_base_url, api_key="k", max_retries=2)
    llm_stub.enqueue(error_reply(503, retry_after=0.01), error_reply(429, retry_after=0.01))
    result = client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    assert result.choices[0].message.content == "Stub reply from gpt-4o: hi"
    assert len(llm_stub.requests) == 3
    assert llm_stub.pending == 0


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (
            529,
            # Exported since anthropic 0.6x; 0.60 raises it without exporting it.
            getattr(anthropic, "OverloadedError", None) or anthropic._exceptions.OverloadedError,
            "overloaded_error",
        ),
    ],
)
def test_anthropic_http_errors(
    claude: anthropic.Anthropic,
    llm_stub: StubServer,
    status: int,
    exception: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    llm_stub.enqueue(error_reply(status))
    with pytest.raises(exception) as caught:
        claude.messages.create(**MESSAGE)  # type: ignore[call-overload]
    error = caught.value
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert error.body["type"] == "error"
    assert error.body["error"]["type"] == error_type
    assert error.response.headers["request-id"] == "req_stub_000001"


def test_anthropic_rate_limit_has_retry_after(
    claude: anthropic.Anthropic, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(error_reply(429))
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude.messages.create(**MESSAGE)  # type: ignore[call-overload]
    assert caught.value.response.headers["retry-after"] == "1"


def test_openai_stream_error_event(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(stream_error_reply(3, "boom"))
    received: list[object] = []
    stream = oai.chat.completions.create(**CHAT, stream=True)  # type: ignore[call-overload]
    with pytest.raises(openai.APIError) as caught:
        _consume(stream, received)
    assert len(received) == 3
    assert caught.value.message == "boom"
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["type"] == "server_error"


def test_stream_error_reply_to_a_plain_request_is_an_http_error(
    oai: openai.OpenAI, llm_stub: StubServer
) -> None:
    llm_stub.enqueue(stream_error_reply(3, status=503))
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]


def test_responses_stream_error_event(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    if not hasattr(oai, "responses"):
        pytest.skip("this openai release has no Responses API")
    llm_stub.enqueue(stream_error_reply(2, "rate limited", status=429))
    events = list(oai.responses.create(model="gpt-4.1", input="x", stream=True))
    assert [e.type for e in events[:2]] == ["response.created", "response.in_progress"]
    last = events[-1]
    # openai 1.66 does not know the "error" event yet: it arrives unparsed, the payload in `.data`.
    error = last.model_dump() if last.type is not None else last.data  # type: ignore[attr-defined]
    assert error["type"] == "error"
    assert error["code"] == "rate_limit_exceeded"
    assert error["message"] == "rate limited"


def test_anthropic_stream_error_event(claude: anthropic.Anthropic, llm_stub: StubServer) -> None:
    llm_stub.enqueue(stream_error_reply(2, status=529))
    received: list[object] = []
    stream = claude.messages.create(**MESSAGE, stream=True)  # type: ignore[call-overload]
    with pytest.raises(anthropic.APIStatusError) as caught:
        _consume(stream, received)
    assert [e.type for e in received] == ["message_start", "content_block_start"]  # type: ignore[attr-defined]
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_openai_cut_stream_is_a_connection_error(oai: openai.OpenAI, llm_stub: StubServer) -> None:
    llm_stub.enqueue(cut_stream_reply(2))
    received: list[object] = []
    stream = oai.chat.completions.create(**CHAT, stream=True)  # type: ignore[call-overload]
    with pytest.raises(Exception) as caught:
        _consume(stream, received)
    assert _is_incomplete_body(caught.value)  # openai 3.x: APIConnectionError
    assert len(received) == 2
    # the server is fine afterwards
    assert oai.chat.completions.create(**CHAT).choices  # type: ignore[call-overload]


def _is_incomplete_body(error: BaseException) -> bool:
    # anthropic 2.x lets the transport's RemoteProtocolError (httpx2) through mid-stream; older
    # releases wrap it in APIConnectionError or let httpx's through.
    names = {type(e).__name__ for e in (error, error.__cause__, error.__context__) if e is not None}
    return bool(names & {"RemoteProtocolError", "APIConnectionError"})


def test_anthropic_cut_stream(claude: anthropic.Anthropic, llm_stub: StubServer) -> None:
    llm_stub.enqueue(cut_stream_reply(3))
    received: list[object] = []
    stream = claude.messages.create(**MESSAGE, stream=True)  # type: ignore[call-overload]
    with pytest.raises(Exception) as caught:
        _consume(stream, received)
    assert _is_incomplete_body(caught.value)
    assert [e.type for e in received] == ["message_start", "content_block_start"]  # type: ignore[attr-defined]  # the third event was the ping


async def test_async_errors(llm_stub: StubServer) -> None:
    aoai = openai.AsyncOpenAI(base_url=llm_stub.openai_base_url, api_key="k", max_retries=0)
    aclaude = anthropic.AsyncAnthropic(
        base_url=llm_stub.anthropic_base_url, api_key="k", max_retries=0
    )
    llm_stub.enqueue(error_reply(429), error_reply(400))
    with pytest.raises(openai.RateLimitError):
        await aoai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    with pytest.raises(anthropic.BadRequestError):
        await aclaude.messages.create(**MESSAGE)  # type: ignore[call-overload]


def test_unknown_route_is_a_404_in_the_provider_format(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        oai.models.list()
    assert caught.value.body == {
        "message": "Invalid URL (GET /v1/models)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_invalid_json_body_is_a_400(llm_stub: StubServer) -> None:
    request = urllib.request.Request(
        llm_stub.openai_base_url + "/chat/completions", data=b"{not json", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["error"]["type"] == "invalid_request_error"
    assert llm_stub.requests[0].json is None
    assert llm_stub.requests[0].body == b"{not json"
