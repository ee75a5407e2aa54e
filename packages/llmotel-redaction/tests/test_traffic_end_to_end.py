"""Secret shapes, secret-named keys and nested structure, end to end: the real openai SDK over
real HTTP to the stub, under ``opentelemetry-instrument`` with the llmotel distro, exported over
OTLP to a real receiver. No planted value may appear anywhere in what was exported."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest
from distro_app import run_under_distro

from llmotel.semconv import attributes as sc
from llmotel.testing import StubServer, ToolCall, text_reply, tool_call_reply

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJqYW5lIiwic2NvcGUiOiJhZG1pbiJ9.c2lnbmF0dXJlLXZhbHVl"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SHAPES = (
    f"The token was {JWT}. Also export AWS_SECRET_ACCESS_KEY={AWS_SECRET} and "
    "https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q "
    "with ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ, redis://:Hunter2Cache@cache:6379/0, "
    "card 4111.1111.1111.1111 and AUTHORIZATION: BEARER AbCdEf0123456789xyz; mein Passwort ist Sommer2024"
)
NESTED = json.dumps(json.dumps({"ssn": "536-90-4399", "note": "call\n536-90-4399"}))
TOOL_RESULT = json.dumps(
    {"Credentials": {"AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "SecretAccessKey": AWS_SECRET}}
)
PLANTED = [
    JWT,
    AWS_SECRET,
    "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
    "Hunter2Cache",
    "4111.1111.1111.1111",
    "AbCdEf0123456789xyz",
    "Sommer2024",
    "536-90-4399",
    "ASIAIOSFODNN7EXAMPLE",
    "plain words",
    "correct horse",
    "Tr0ub4dor",
    "jane@example.com",
]

APP = textwrap.dedent(
    """
    import openai
    client = openai.OpenAI(max_retries=0, api_key="test")
    messages = [{"role": "user", "content": %r}, {"role": "user", "content": %r}]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    message = first.choices[0].message
    call = message.tool_calls[0]
    messages += [
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": %r},
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    """
)


@pytest.mark.slow
def test_secrets_and_structure_under_the_distro(llm_stub: StubServer, tmp_path: Any) -> None:
    otlp = pytest.importorskip("llmotel.testing.otlp")
    pytest.importorskip("llmotel.distro")
    arguments = {"token": "plain words", "userPassword": "correct horse", "Password": "Tr0ub4dor"}
    llm_stub.enqueue(
        tool_call_reply(calls=[ToolCall("login", arguments, id="jane@example.com")]),
        text_reply("Logged in."),
    )
    with otlp.OtlpReceiver() as receiver:
        done = run_under_distro(APP % (SHAPES, NESTED, TOOL_RESULT), llm_stub, receiver)
        assert done.returncode == 0, done.stderr
        assert receiver.wait_for(
            lambda r: len([s for s in r.spans() if s.name == "chat gpt-4o-mini"]) == 2
        )
        first, second = sorted(
            (s for s in receiver.spans() if s.name == "chat gpt-4o-mini"),
            key=lambda s: s.start_time,
        )
    exported = json.dumps(
        [[s.name, dict(s.attributes), s.events] for s in receiver.spans()],
        default=str,
        ensure_ascii=False,
    )
    leaked = [
        value for value in PLANTED if value in exported or json.dumps(value)[1:-1] in exported
    ]
    assert not leaked

    user, nested = json.loads(str(first.attributes[sc.GEN_AI_INPUT_MESSAGES]))
    assert user["parts"][0]["content"] == (
        "The token was <JWT>. Also export AWS_SECRET_ACCESS_KEY=<API_KEY> and "
        "https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key=<API_KEY> "
        "with <API_KEY>, <CONNECTION_STRING> card <CREDIT_CARD> and "
        "AUTHORIZATION: BEARER <BEARER_TOKEN>; mein Passwort ist <PASSWORD>"
    )
    assert json.loads(json.loads(nested["parts"][0]["content"])) == {
        "ssn": "<US_SSN>",
        "note": "call\n<US_SSN>",
    }
    (call,) = json.loads(str(first.attributes[sc.GEN_AI_OUTPUT_MESSAGES]))[0]["parts"]
    assert call["id"] == "<EMAIL_ADDRESS>"
    args = (
        call["arguments"] if isinstance(call["arguments"], dict) else json.loads(call["arguments"])
    )
    assert args == {"token": "<API_KEY>", "userPassword": "<PASSWORD>", "Password": "<PASSWORD>"}
    tool = json.loads(str(second.attributes[sc.GEN_AI_INPUT_MESSAGES]))[-1]["parts"][0]
    response = (
        tool["response"] if isinstance(tool["response"], dict) else json.loads(tool["response"])
    )
    assert response == {"Credentials": {"AccessKeyId": "<API_KEY>", "SecretAccessKey": "<API_KEY>"}}
