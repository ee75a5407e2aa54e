"""Structure-aware redaction of message attributes, key rules and bad input."""

from __future__ import annotations

import base64
import json
import time

from llmotel.redaction import FAILED_MARKER, Redaction, Redactor
from llmotel.semconv import attributes as sc


def _redact(redactor: Redactor, attributes: dict[str, object]) -> Redaction:
    redaction = Redaction()
    redactor.redact_attributes(attributes, redaction)  # type: ignore[arg-type]
    return redaction


MESSAGES = [
    {"role": "system", "parts": [{"type": "text", "content": "Escalate to ops@example.com."}]},
    {
        "role": "user",
        "parts": [
            {"type": "text", "content": "My card is 4111 1111 1111 1111, call +1 415 867 5309"},
            {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "QUJD"},
        ],
    },
    {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": "call_1",
                "name": "lookup_customer",
                "arguments": json.dumps({"email": "jane@example.com", "password": "hunter2"}),
            }
        ],
        "finish_reason": "tool_call",
    },
    {
        "role": "tool",
        "parts": [
            {"type": "tool_call_response", "id": "call_1", "response": {"ip": "203.0.113.9"}}
        ],
    },
]

EXPECTED = [
    {"role": "system", "parts": [{"type": "text", "content": "Escalate to <EMAIL_ADDRESS>."}]},
    {
        "role": "user",
        "parts": [
            {"type": "text", "content": "My card is <CREDIT_CARD>, call <PHONE_NUMBER>"},
            {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "QUJD"},
        ],
    },
    {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": "call_1",
                "name": "lookup_customer",
                "arguments": json.dumps({"email": "<EMAIL_ADDRESS>", "password": "<PASSWORD>"}),
            }
        ],
        "finish_reason": "tool_call",
    },
    {
        "role": "tool",
        "parts": [
            {"type": "tool_call_response", "id": "call_1", "response": {"ip": "<IP_ADDRESS>"}}
        ],
    },
]


def test_message_json_string_keeps_its_shape(redactor: Redactor) -> None:
    attributes: dict[str, object] = {sc.GEN_AI_INPUT_MESSAGES: json.dumps(MESSAGES)}
    redaction = _redact(redactor, attributes)
    assert json.loads(str(attributes[sc.GEN_AI_INPUT_MESSAGES])) == EXPECTED
    assert dict(redaction.counts) == {
        "EMAIL_ADDRESS": 2,
        "CREDIT_CARD": 1,
        "PHONE_NUMBER": 1,
        "PASSWORD": 1,
        "IP_ADDRESS": 1,
    }


def test_structured_message_value_keeps_its_shape(redactor: Redactor) -> None:
    attributes: dict[str, object] = {sc.GEN_AI_OUTPUT_MESSAGES: MESSAGES}
    _redact(redactor, attributes)
    assert attributes[sc.GEN_AI_OUTPUT_MESSAGES] == EXPECTED
    assert MESSAGES[0]["parts"][0]["content"] == "Escalate to ops@example.com."  # type: ignore[index]


def test_unchanged_json_is_left_byte_for_byte(redactor: Redactor) -> None:
    raw = '[{"role":"user","parts":[{"type":"text","content":"hello"}]}]'
    attributes: dict[str, object] = {sc.GEN_AI_INPUT_MESSAGES: raw}
    _redact(redactor, attributes)
    assert attributes[sc.GEN_AI_INPUT_MESSAGES] is raw


def test_key_rules_and_plain_attributes(redactor: Redactor) -> None:
    attributes: dict[str, object] = {
        "http.request.header.authorization": ["Bearer abc123"],
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o 415-555-0134",  # allow-listed: screened, no phone
        sc.SERVER_ADDRESS: "203.0.113.9",  # allow-listed: an IP stays
        sc.GEN_AI_RESPONSE_ID: "resp jane@example.com",  # allow-listed, yet an e-mail goes
        "app.note": "from 203.0.113.9",
        "app.tags": ["ok", "a@example.com"],
        "app.count": 3,
    }
    redaction = _redact(redactor, attributes)
    assert attributes == {
        "http.request.header.authorization": ["<SECRET_KEY>"],
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o 415-555-0134",
        sc.SERVER_ADDRESS: "203.0.113.9",
        sc.GEN_AI_RESPONSE_ID: "resp <EMAIL_ADDRESS>",
        "app.note": "from <IP_ADDRESS>",
        "app.tags": ["ok", "<EMAIL_ADDRESS>"],
        "app.count": 3,
    }
    assert redaction.total == 4


def test_attribute_keys_that_name_a_secret(redactor: Redactor) -> None:
    attributes: dict[str, object] = {"app.db.password": "plain words", "app.api_key": "abc"}
    redaction = _redact(redactor, attributes)
    assert attributes == {"app.db.password": "<PASSWORD>", "app.api_key": "<API_KEY>"}
    assert redaction.total == 2


def test_configurable_deny_and_allow_keys() -> None:
    r = Redactor(
        entities=["EMAIL_ADDRESS", "IP_ADDRESS"], deny_keys=["app.secret"], allow_keys=["app.owner"]
    )
    attributes: dict[str, object] = {
        "app.secret": "plain words",
        "app.owner": "10.1.2.3",
        "http.request.header.cookie": "session=1",  # not denied: the deny list was replaced
    }
    _redact(r, attributes)
    assert attributes == {
        "app.secret": "<SECRET_KEY>",
        "app.owner": "10.1.2.3",
        "http.request.header.cookie": "session=1",
    }


def test_invalid_json_is_analyzed_as_text(redactor: Redactor) -> None:
    attributes: dict[str, object] = {sc.GEN_AI_INPUT_MESSAGES: '[{"content": "a@example.com"'}
    _redact(redactor, attributes)
    assert attributes[sc.GEN_AI_INPUT_MESSAGES] == '[{"content": "<EMAIL_ADDRESS>"'


def test_deep_json_is_cut_at_the_depth_limit() -> None:
    r = Redactor(entities=["EMAIL_ADDRESS"], max_depth=5)
    deep: object = "a@example.com"
    for _ in range(50):
        deep = {"x": deep}
    attributes: dict[str, object] = {"tool.args": json.dumps(deep)}
    redaction = _redact(r, attributes)
    out = json.loads(str(attributes["tool.args"]))
    assert out == {"x": {"x": {"x": {"x": {"x": "<REDACTED:DEPTH>"}}}}}
    assert redaction.counts["DEPTH_LIMIT"] == 1


def test_pathologically_deep_json_does_not_raise(redactor: Redactor) -> None:
    text = "[" * 100_000 + '"a@example.com"' + "]" * 100_000
    attributes: dict[str, object] = {"tool.args": text}
    _redact(redactor, attributes)
    assert "a@example.com" not in str(attributes["tool.args"])


def test_binary_blobs_are_skipped_or_dropped() -> None:
    payload = base64.b64encode(b"jane@example.com 4111111111111111" * 10).decode()
    message = [
        {"role": "user", "parts": [{"type": "blob", "modality": "image", "content": payload}]}
    ]
    keep = Redactor(entities=["EMAIL_ADDRESS"])
    drop = Redactor(entities=["EMAIL_ADDRESS"], drop_binary=True)
    a: dict[str, object] = {sc.GEN_AI_INPUT_MESSAGES: json.dumps(message)}
    b: dict[str, object] = {sc.GEN_AI_INPUT_MESSAGES: json.dumps(message)}
    _redact(keep, a)
    _redact(drop, b)
    assert json.loads(str(a[sc.GEN_AI_INPUT_MESSAGES]))[0]["parts"][0]["content"] == payload
    assert json.loads(str(b[sc.GEN_AI_INPUT_MESSAGES]))[0]["parts"][0]["content"] == ""


def test_non_utf8_bytes_do_not_leak(redactor: Redactor) -> None:
    attributes: dict[str, object] = {"raw": b"\xff\xfe mail a@example.com \xc3"}
    _redact(redactor, attributes)
    assert attributes["raw"] == "\ufffd\ufffd mail <EMAIL_ADDRESS> \ufffd".encode()
    clean = b"\xff no pii"
    attributes = {"raw": clean}
    _redact(redactor, attributes)
    assert attributes["raw"] is clean


def test_lone_surrogates_do_not_raise(redactor: Redactor) -> None:
    assert redactor.redact_text("x \udcff a@example.com") == "x \udcff <EMAIL_ADDRESS>"


def test_five_megabyte_attribute_is_truncated_in_bounded_time() -> None:
    r = Redactor(max_text_length=100_000)
    text = ("lorem ipsum 4111 1111 1111 1111 dolor a@example.com " * 100_000)[:5_000_000]
    attributes: dict[str, object] = {"big": text}
    started = time.monotonic()
    redaction = _redact(r, attributes)
    assert time.monotonic() - started < 10
    out = str(attributes["big"])
    assert out.endswith("<TRUNCATED 4900000 chars>")
    assert "a@example.com" not in out
    assert "4111 1111" not in out
    assert redaction.counts["TRUNCATED"] == 1


def test_fail_closed_marks_every_analyzable_value(redactor: Redactor) -> None:
    attributes: dict[str, object] = {
        sc.GEN_AI_INPUT_MESSAGES: "[]",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
        "app.tags": ["a"],
        "app.n": 1,
        "app.ns": [1, 2],
    }
    redactor.fail_closed(attributes)  # type: ignore[arg-type]
    assert attributes == {
        sc.GEN_AI_INPUT_MESSAGES: FAILED_MARKER,
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
        "app.tags": FAILED_MARKER,
        "app.n": 1,
        "app.ns": [1, 2],
    }


def _tool_call_message(arguments: object, call_id: str = "call_1", name: str = "login") -> str:
    part = {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}
    return json.dumps([{"role": "assistant", "parts": [part], "finish_reason": "tool_call"}])


def test_secret_named_keys_in_tool_call_arguments(redactor: Redactor) -> None:
    arguments = {
        "token": "plain words",
        "userPassword": "correct horse",
        "Password": "Tr0ub4dor",
        "apiKey": "abc",
        "client-secret": "xyz",
        "pin_password": 123456,
        "max_tokens": 100,
        "token_type": "bearer",
        "user": "bob",
    }
    attributes: dict[str, object] = {
        sc.GEN_AI_OUTPUT_MESSAGES: _tool_call_message(json.dumps(arguments))
    }
    redaction = _redact(redactor, attributes)
    (message,) = json.loads(str(attributes[sc.GEN_AI_OUTPUT_MESSAGES]))
    assert json.loads(message["parts"][0]["arguments"]) == {
        "token": "<API_KEY>",
        "userPassword": "<PASSWORD>",
        "Password": "<PASSWORD>",
        "apiKey": "<API_KEY>",
        "client-secret": "<API_KEY>",
        "pin_password": "<PASSWORD>",
        "max_tokens": 100,
        "token_type": "bearer",
        "user": "bob",
    }
    assert dict(redaction.counts) == {"API_KEY": 3, "PASSWORD": 3}


def test_secret_named_keys_follow_the_entity_set() -> None:
    only_email = Redactor(entities=["EMAIL_ADDRESS"])
    raw = _tool_call_message({"token": "plain words"})
    attributes: dict[str, object] = {sc.GEN_AI_OUTPUT_MESSAGES: raw}
    _redact(only_email, attributes)
    assert attributes[sc.GEN_AI_OUTPUT_MESSAGES] is raw


def test_name_and_id_of_parts_are_analyzed(redactor: Redactor) -> None:
    raw = _tool_call_message("{}", call_id="jane@example.com", name="notify bob@example.org")
    attributes: dict[str, object] = {sc.GEN_AI_OUTPUT_MESSAGES: raw}
    _redact(redactor, attributes)
    (message,) = json.loads(str(attributes[sc.GEN_AI_OUTPUT_MESSAGES]))
    assert message == {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": "<EMAIL_ADDRESS>",
                "name": "notify <EMAIL_ADDRESS>",
                "arguments": "{}",
            }
        ],
        "finish_reason": "tool_call",
    }


def test_enum_keys_holding_something_else_are_analyzed(redactor: Redactor) -> None:
    raw = json.dumps(
        [{"role": "jane@example.com", "parts": [{"type": "x 203.0.113.9", "content": "hi"}]}]
    )
    attributes: dict[str, object] = {sc.GEN_AI_INPUT_MESSAGES: raw}
    _redact(redactor, attributes)
    assert json.loads(str(attributes[sc.GEN_AI_INPUT_MESSAGES])) == [
        {"role": "<EMAIL_ADDRESS>", "parts": [{"type": "x <IP_ADDRESS>", "content": "hi"}]}
    ]


def test_json_serialized_twice_inside_a_text_part(redactor: Redactor) -> None:
    inner = json.dumps({"ssn": "536-90-4399", "note": "line\nbreak 536-90-4399"})
    content = json.dumps(json.dumps(inner))  # a string holding a string holding JSON
    raw = json.dumps([{"role": "user", "parts": [{"type": "text", "content": content}]}])
    attributes: dict[str, object] = {sc.GEN_AI_INPUT_MESSAGES: raw}
    redaction = _redact(redactor, attributes)
    out = json.loads(str(attributes[sc.GEN_AI_INPUT_MESSAGES]))[0]["parts"][0]["content"]
    assert json.loads(json.loads(json.loads(out))) == {
        "ssn": "<US_SSN>",
        "note": "line\nbreak <US_SSN>",
    }
    assert redaction.counts["US_SSN"] == 2


def test_json_in_a_tool_argument_string_in_the_arguments_string(redactor: Redactor) -> None:
    arguments = json.dumps({"request": json.dumps({"payload": {"email": "a@example.com"}})})
    attributes: dict[str, object] = {sc.GEN_AI_OUTPUT_MESSAGES: _tool_call_message(arguments)}
    _redact(redactor, attributes)
    (message,) = json.loads(str(attributes[sc.GEN_AI_OUTPUT_MESSAGES]))
    request = json.loads(json.loads(message["parts"][0]["arguments"])["request"])
    assert request == {"payload": {"email": "<EMAIL_ADDRESS>"}}


def test_blob_content_that_is_not_base64_is_analyzed(redactor: Redactor) -> None:
    raw = json.dumps(
        [
            {
                "role": "user",
                "parts": [{"type": "blob", "modality": "image", "content": "mail a@example.com"}],
            }
        ]
    )
    attributes: dict[str, object] = {sc.GEN_AI_INPUT_MESSAGES: raw}
    _redact(redactor, attributes)
    part = json.loads(str(attributes[sc.GEN_AI_INPUT_MESSAGES]))[0]["parts"][0]
    assert part == {"type": "blob", "modality": "image", "content": "mail <EMAIL_ADDRESS>"}


def test_name_value_pairs_follow_their_name(redactor: Redactor) -> None:
    response = {
        "env": [
            {"name": "DB_PASSWORD", "value": "hunter2"},
            {"name": "LOG_LEVEL", "value": "debug"},
        ],
        "headers": [{"name": "X-Api-Key", "value": "abcd1234"}, {"name": "Accept", "value": "*/*"}],
    }
    part = {"type": "tool_call_response", "id": "call_1", "response": response}
    attributes: dict[str, object] = {
        sc.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "tool", "parts": [part]}])
    }
    _redact(redactor, attributes)
    out = json.loads(str(attributes[sc.GEN_AI_INPUT_MESSAGES]))[0]["parts"][0]["response"]
    assert out == {
        "env": [
            {"name": "DB_PASSWORD", "value": "<PASSWORD>"},
            {"name": "LOG_LEVEL", "value": "debug"},
        ],
        "headers": [
            {"name": "X-Api-Key", "value": "<API_KEY>"},
            {"name": "Accept", "value": "*/*"},
        ],
    }


def test_card_codes_pins_and_one_time_codes_under_their_keys(redactor: Redactor) -> None:
    arguments = {
        "card_number": "4111111111111111",
        "cvv": 123,
        "card_cvc": "987",
        "pin": "4821",
        "otp": 739204,
        "verification_code": "482913",
        "status_code": 200,
        "error_code": "E1045",
        "pin_count": 3,
        "gpio": {"pin": 17, "state": "high"},
    }
    attributes: dict[str, object] = {"gen_ai.tool.call.arguments": json.dumps(arguments)}
    redaction = _redact(redactor, attributes)
    assert json.loads(str(attributes["gen_ai.tool.call.arguments"])) == {
        "card_number": "<CREDIT_CARD>",
        "cvv": "<CREDIT_CARD>",
        "card_cvc": "<CREDIT_CARD>",
        "pin": "<PASSWORD>",
        "otp": "<PASSWORD>",
        "verification_code": "<PASSWORD>",
        "status_code": 200,
        "error_code": "E1045",
        "pin_count": 3,
        "gpio": {"pin": 17, "state": "high"},
    }
    assert redaction.counts == {"CREDIT_CARD": 3, "PASSWORD": 3}
