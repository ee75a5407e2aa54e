"""The message models and their JSON codec against the conventions' JSON schemas."""

from __future__ import annotations

import base64
import copy
import json
import pathlib
import random
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
import yaml

from llmotel.semconv import messages as m
from llmotel.semconv.messages import (
    BlobPart,
    FilePart,
    FunctionToolDefinition,
    GenericPart,
    GenericToolDefinition,
    InputMessage,
    MessageDecodeError,
    OutputMessage,
    ReasoningPart,
    RetrievalDocument,
    ServerToolCallPart,
    ServerToolCallResponsePart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    UriPart,
)

Decoder = Callable[[Any], list[Any]]
Encoder = Callable[[Any], str]

# attribute -> (schema file stem, decode, encode)
CODECS: dict[str, tuple[str, Decoder, Encoder]] = {
    "gen_ai.input.messages": (
        "gen-ai-input-messages",
        m.decode_input_messages,
        m.encode_input_messages,
    ),
    "gen_ai.output.messages": (
        "gen-ai-output-messages",
        m.decode_output_messages,
        m.encode_output_messages,
    ),
    "gen_ai.system_instructions": (
        "gen-ai-system-instructions",
        m.decode_system_instructions,
        m.encode_system_instructions,
    ),
    "gen_ai.tool.definitions": (
        "gen-ai-tool-definitions",
        m.decode_tool_definitions,
        m.encode_tool_definitions,
    ),
    "gen_ai.retrieval.documents": (
        "gen-ai-retrieval-documents",
        m.decode_retrieval_documents,
        m.encode_retrieval_documents,
    ),
}


@pytest.fixture(scope="module")
def validators(release_dir: pathlib.Path) -> dict[str, jsonschema.protocols.Validator]:
    found = {}
    for path in sorted((release_dir / "docs" / "gen-ai").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        found[path.stem] = cls(schema)
    assert {s for s, _, _ in CODECS.values()} <= set(found)
    return found


def _examples(release_dir: pathlib.Path) -> list[tuple[str, str]]:
    """(attribute, example) for every example of a structured attribute in the registry YAML."""
    found = []
    for path in sorted((release_dir / "model").rglob("*.yaml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for attr in group.get("attributes", []):
                if attr.get("id") in CODECS:
                    found += [(attr["id"], example) for example in attr.get("examples", [])]
    # The pinned docs/ copy holds only the JSON schemas; pick up Markdown examples if any.
    for path in sorted((release_dir / "docs").rglob("*.md")):
        for block in path.read_text(encoding="utf-8").split("```json")[1:]:
            text = block.split("```")[0]
            for attribute in CODECS:
                if attribute in path.read_text(encoding="utf-8") and text.lstrip().startswith("["):
                    found.append((attribute, text))
    return found


def _roundtrip(attribute: str, value: Any, validators: dict[str, Any]) -> list[Any]:
    schema, decode, encode = CODECS[attribute]
    decoded = decode(value)
    encoded = encode(decoded)
    validators[schema].validate(json.loads(encoded))
    again = decode(encoded)
    assert again == decoded
    assert encode(again) == encoded
    return decoded


# --------------------------------------------------------------------------------------------------
# The conventions' own examples


def test_registry_examples_validate_and_roundtrip(
    release_dir: pathlib.Path, validators: dict[str, Any]
) -> None:
    examples = _examples(release_dir)
    assert {a for a, _ in examples} == set(CODECS)
    for attribute, example in examples:
        schema, decode, encode = CODECS[attribute]
        data = json.loads(example)
        validators[schema].validate(data)
        decoded = _roundtrip(attribute, example, validators)
        assert decode(data) == decoded  # the structured form decodes the same
        assert json.loads(encode(decoded)) == data


def test_registry_example_models(release_dir: pathlib.Path) -> None:
    examples = dict(_examples(release_dir))
    history = m.decode_input_messages(examples["gen_ai.input.messages"])
    assert [msg.role for msg in history] == ["user", "assistant", "tool"]
    assert history[0].parts == [TextPart("Weather in Paris?")]
    call = history[1].parts[0]
    assert isinstance(call, ToolCallRequestPart)
    assert call.arguments == {"location": "Paris"}
    # The example's tool_call_response has "result", not the schema's "response": the schema
    # still accepts it as a GenericPart, and so does the codec, keeping every field.
    assert history[2].parts[0] == GenericPart(
        "tool_call_response", {"id": " call_VSPygqKTWdrhaFErNvMV18Yl", "result": "rainy, 57°F"}
    )
    (choice,) = m.decode_output_messages(examples["gen_ai.output.messages"])
    assert choice.finish_reason == m.FinishReason.STOP
    (tool,) = m.decode_tool_definitions(examples["gen_ai.tool.definitions"])
    assert isinstance(tool, FunctionToolDefinition)
    assert isinstance(tool.parameters, dict)
    assert tool.parameters["required"] == ["location", "unit"]
    documents = m.decode_retrieval_documents(examples["gen_ai.retrieval.documents"])
    assert documents[0] == RetrievalDocument("doc_123", 0.95)


# --------------------------------------------------------------------------------------------------
# Hand-made cases

ALL_PARTS: list[m.Part] = [
    TextPart("Describe these."),
    ToolCallRequestPart(
        "search",
        "call_1",
        {"query": {"all": ["a", "b"], "nested": {"deep": [1, 2.5, True, None, {"x": []}]}}},
    ),
    ToolCallResponsePart({"hits": [{"id": 1}], "next": None}, "call_1"),
    ToolCallResponsePart(None),
    ServerToolCallPart(
        "code_interpreter", {"type": "code_interpreter", "code": "print(1)"}, "st_1"
    ),
    ServerToolCallResponsePart({"type": "code_interpreter", "output": "1\n"}, "st_1"),
    BlobPart("image", b"\x89PNG\r\n\x1a\n\x00", "image/png"),
    FilePart("video", "file-abc", "video/mp4"),
    UriPart("audio", "gs://bucket/clip.wav"),
    ReasoningPart("First, look at the picture."),
    GenericPart("image_generation_call", {"id": "ig_1", "status": "completed", "size": [1, 2]}),
]


def test_every_part_type_roundtrips(validators: dict[str, Any]) -> None:
    history = [InputMessage("user", list(ALL_PARTS), name="ann", extra={"x-trace": {"a": 1}})]
    (decoded,) = _roundtrip("gen_ai.input.messages", m.encode_input_messages(history), validators)
    assert [type(p) for p in decoded.parts] == [type(p) for p in ALL_PARTS]
    assert decoded.name == "ann"
    assert decoded.extra == {"x-trace": {"a": 1}}
    blob = decoded.parts[6]
    assert isinstance(blob, BlobPart)
    assert blob.content == base64.b64encode(b"\x89PNG\r\n\x1a\n\x00").decode()
    assert blob.data() == b"\x89PNG\r\n\x1a\n\x00"
    # The same parts are valid system instructions and output parts.
    _roundtrip("gen_ai.system_instructions", m.encode_system_instructions(ALL_PARTS), validators)
    choice = OutputMessage("assistant", list(ALL_PARTS), "tool_call")
    _roundtrip("gen_ai.output.messages", m.encode_output_messages([choice]), validators)


def test_encoded_form() -> None:
    value = m.encode_input_messages([InputMessage("user", [TextPart("Weather in Paris?")])])
    assert value == '[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]'
    call = ToolCallRequestPart("f", arguments={"a": 1})
    assert (
        m.encode_system_instructions([call])
        == '[{"type":"tool_call","name":"f","arguments":{"a":1}}]'
    )


def test_unknown_fields_and_part_types_are_kept(validators: dict[str, Any]) -> None:
    raw = [
        {
            "role": "critic",
            "parts": [
                {"type": "text", "content": "hi", "annotations": [{"kind": "cite"}]},
                {"type": "hologram", "payload": {"frames": 3}},
                {"type": "text"},  # a known type whose fields do not fit: GenericPart
                {"type": "blob", "modality": "image", "content": 7},
                {"type": "tool_call", "name": "f", "id": 12},
            ],
            "finish_reason": "safety_stop",
            "model_extra": True,
        }
    ]
    (choice,) = _roundtrip("gen_ai.output.messages", json.dumps(raw), validators)
    assert choice.role == "critic"
    assert choice.finish_reason == "safety_stop"
    assert choice.extra == {"model_extra": True}
    assert choice.parts[0] == TextPart("hi", {"annotations": [{"kind": "cite"}]})
    assert choice.parts[1] == GenericPart("hologram", {"payload": {"frames": 3}})
    assert choice.parts[2:] == [
        GenericPart("text"),
        GenericPart("blob", {"modality": "image", "content": 7}),
        GenericPart("tool_call", {"name": "f", "id": 12}),
    ]
    assert json.loads(m.encode_output_messages([choice])) == raw


def test_unicode_roundtrips(validators: dict[str, Any]) -> None:
    text = 'Grüße, 世界! 🌍🚀 مرحبا "quoted" \\back\\slash \u2028 line\nnew\ttab \x00 end'
    history = [
        InputMessage("user", [TextPart(text)]),
        InputMessage(
            "assistant", [ToolCallRequestPart("überprüfen", "id-ü", {"städte": ["Zürich"]})]
        ),
    ]
    encoded = m.encode_input_messages(history)
    assert "🌍" in encoded  # kept as is, not \u-escaped
    assert "世界" in encoded
    decoded = _roundtrip("gen_ai.input.messages", encoded, validators)
    assert decoded == history
    assert json.loads(encoded)[0]["parts"][0]["content"] == text


def test_nested_tool_arguments(validators: dict[str, Any]) -> None:
    deep: Any = {"leaf": 1.5e-7}
    for level in range(40):
        deep = (
            {"level": level, "child": deep, "list": [deep, [None, False]]}
            if level < 3
            else {
                "level": level,
                "child": deep,
            }
        )
    call = ToolCallRequestPart("plan", "c", deep)
    decoded = _roundtrip(
        "gen_ai.input.messages",
        m.encode_input_messages([InputMessage("assistant", [call])]),
        validators,
    )
    assert decoded[0].parts[0].arguments == deep
    # Arguments given as the provider's JSON string stay a string.
    as_string = ToolCallRequestPart("plan", "c", json.dumps({"a": [1, 2]}))
    (back,) = m.decode_system_instructions(m.encode_system_instructions([as_string]))
    assert back == as_string


def test_explicit_null_optional_fields_are_left_out(validators: dict[str, Any]) -> None:
    raw = [
        {"role": "user", "name": None, "parts": [{"type": "tool_call", "id": None, "name": "f"}]},
        {
            "role": "user",
            "parts": [{"type": "uri", "mime_type": None, "modality": "x", "uri": "u"}],
        },
    ]
    validators["gen-ai-input-messages"].validate(raw)
    decoded = _roundtrip("gen_ai.input.messages", raw, validators)
    assert json.loads(m.encode_input_messages(decoded)) == [
        {"role": "user", "parts": [{"type": "tool_call", "name": "f"}]},
        {"role": "user", "parts": [{"type": "uri", "modality": "x", "uri": "u"}]},
    ]


def test_tool_definitions(validators: dict[str, Any]) -> None:
    tools: list[Any] = [
        FunctionToolDefinition(
            "get_weather",
            "Weather for a city",
            {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        ),
        FunctionToolDefinition("no_params"),
        GenericToolDefinition("web_search", "web_search", {"search_context_size": "low"}),
        {"type": "function", "name": "as_dict", "strict": True},
    ]
    decoded = _roundtrip("gen_ai.tool.definitions", m.encode_tool_definitions(tools), validators)
    assert decoded[:3] == tools[:3]
    assert decoded[3] == FunctionToolDefinition("as_dict", extra={"strict": True})
    # A function whose fields do not fit the function shape is still a generic tool definition.
    odd = [{"type": "function", "name": "f", "parameters": "not a schema"}]
    validators["gen-ai-tool-definitions"].validate(odd)
    assert m.decode_tool_definitions(odd) == [
        GenericToolDefinition("function", "f", {"parameters": "not a schema"})
    ]


def test_retrieval_documents(validators: dict[str, Any]) -> None:
    documents = [
        RetrievalDocument("a", 1),
        RetrievalDocument("b", 0.5, {"source": "wiki", "rank": 2}),
    ]
    decoded = _roundtrip(
        "gen_ai.retrieval.documents", m.encode_retrieval_documents(documents), validators
    )
    assert decoded == documents


def test_decode_accepts_every_form() -> None:
    raw = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
    expected = [InputMessage("user", [TextPart("hi")])]
    text = json.dumps(raw)
    assert m.decode_input_messages(text) == expected
    assert m.decode_input_messages(text.encode()) == expected
    assert m.decode_input_messages(raw) == expected
    assert m.decode_input_messages(tuple(raw)) == expected
    assert m.decode_input_messages([]) == []
    assert m.decode_parts([{"type": "reasoning", "content": "r"}]) == [ReasoningPart("r")]


def test_decoded_models_do_not_share_the_input() -> None:
    raw = [{"role": "user", "parts": [{"type": "text", "content": "hi", "x": 1}], "y": 2}]
    snapshot = copy.deepcopy(raw)
    (message,) = m.decode_input_messages(raw)
    message.extra["y"] = 3
    message.parts[0].extra["x"] = 4
    assert raw == snapshot


def test_encode_mixes_models_and_dicts() -> None:
    plain = {"role": "system", "parts": [{"type": "text", "content": "be brief"}]}
    encoded = m.encode_input_messages([plain, InputMessage("user", [TextPart("hi")])])
    assert json.loads(encoded) == [
        plain,
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
    ]
    assert m.to_dicts([plain, TextPart("x")]) == [plain, {"type": "text", "content": "x"}]


def test_encode_survives_values_json_has_no_type_for() -> None:
    arguments = {"raw": b"\x00\x01", "tags": frozenset({"a"}), "when": pathlib.PurePosixPath("/x")}
    encoded = m.encode_system_instructions([ToolCallRequestPart("f", arguments=arguments)])
    assert json.loads(encoded)[0]["arguments"] == {"raw": "AAE=", "tags": ["a"], "when": "/x"}


def test_blob_data_rejects_non_base64() -> None:
    with pytest.raises(MessageDecodeError):
        BlobPart("image", "not base64!").data()


# --------------------------------------------------------------------------------------------------
# Invalid input: the codec and the schema agree


INVALID: list[tuple[str, Any, str]] = [
    ("gen_ai.input.messages", "{not json", ""),
    ("gen_ai.input.messages", '{"role": "user"}', ""),
    ("gen_ai.input.messages", '"a string"', ""),
    ("gen_ai.input.messages", [1], "[0]"),
    ("gen_ai.input.messages", [{"parts": []}], "[0]"),
    ("gen_ai.input.messages", [{"role": 1, "parts": []}], "[0].role"),
    ("gen_ai.input.messages", [{"role": "user"}], "[0]"),
    ("gen_ai.input.messages", [{"role": "user", "parts": {"type": "text"}}], "[0].parts"),
    ("gen_ai.input.messages", [{"role": "user", "parts": "hi"}], "[0].parts"),
    ("gen_ai.input.messages", [{"role": "user", "parts": ["hi"]}], "[0].parts[0]"),
    ("gen_ai.input.messages", [{"role": "user", "parts": [{"content": "hi"}]}], "[0].parts[0]"),
    ("gen_ai.input.messages", [{"role": "user", "parts": [{"type": 3}]}], "[0].parts[0].type"),
    ("gen_ai.input.messages", [{"role": "user", "parts": [], "name": 5}], "[0].name"),
    ("gen_ai.output.messages", [{"role": "assistant", "parts": []}], "[0]"),
    (
        "gen_ai.output.messages",
        [{"role": "a", "parts": [], "finish_reason": None}],
        "[0].finish_reason",
    ),
    ("gen_ai.system_instructions", [{"type": None}], "[0].type"),
    ("gen_ai.system_instructions", {"type": "text", "content": "x"}, ""),
    ("gen_ai.tool.definitions", [{"type": "function"}], "[0]"),
    ("gen_ai.tool.definitions", [{"name": "f"}], "[0]"),
    ("gen_ai.tool.definitions", [{"type": "function", "name": 1}], "[0].name"),
    ("gen_ai.retrieval.documents", [{"id": "a"}], "[0]"),
    ("gen_ai.retrieval.documents", [{"id": "a", "score": "high"}], "[0].score"),
    ("gen_ai.retrieval.documents", [{"id": "a", "score": True}], "[0].score"),
    ("gen_ai.retrieval.documents", [{"id": 1, "score": 1}], "[0].id"),
    ("gen_ai.retrieval.documents", None, ""),
]


@pytest.mark.parametrize(("attribute", "value", "path"), INVALID)
def test_invalid_input_raises(
    attribute: str, value: Any, path: str, validators: dict[str, Any]
) -> None:
    schema, decode, _ = CODECS[attribute]
    with pytest.raises(MessageDecodeError) as caught:
        decode(value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.path == path
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return
    assert not validators[schema].is_valid(value)


def _mutations(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """``value`` with one random change somewhere: a key dropped or a value of another type."""
    odd: list[Any] = [None, True, 3, 2.5, "s", [], {}, {"type": "x"}, [{"type": "text"}]]
    if isinstance(value, dict) and value and (depth > 3 or rng.random() < 0.3):
        key = rng.choice(sorted(value))
        changed = dict(value)
        if rng.random() < 0.5:
            del changed[key]
        else:
            changed[key] = rng.choice(odd)
        return changed
    if isinstance(value, dict) and value:
        key = rng.choice(sorted(value))
        return {**value, key: _mutations(rng, value[key], depth + 1)}
    if isinstance(value, list) and value:
        i = rng.randrange(len(value))
        return [*value[:i], _mutations(rng, value[i], depth + 1), *value[i + 1 :]]
    return rng.choice(odd)


@pytest.mark.parametrize("attribute", sorted(CODECS))
def test_codec_accepts_exactly_what_the_schema_accepts(
    attribute: str, validators: dict[str, Any]
) -> None:
    schema, decode, encode = CODECS[attribute]
    seeds = {
        "gen_ai.input.messages": m.to_dicts([InputMessage("user", list(ALL_PARTS), "n")]),
        "gen_ai.output.messages": m.to_dicts([OutputMessage("assistant", list(ALL_PARTS), "stop")]),
        "gen_ai.system_instructions": m.to_dicts(ALL_PARTS),
        "gen_ai.tool.definitions": m.to_dicts(
            [FunctionToolDefinition("f", "d", {"type": "object"}), GenericToolDefinition("w", "w")]
        ),
        "gen_ai.retrieval.documents": m.to_dicts([RetrievalDocument("a", 0.5, {"k": 1})]),
    }
    rng = random.Random(attribute)
    accepted = rejected = 0
    for _ in range(200):
        value = _mutations(rng, seeds[attribute])
        valid = validators[schema].is_valid(value)
        try:
            decoded = decode(value)
        except MessageDecodeError:
            assert not valid, value
            rejected += 1
            continue
        assert valid, value
        validators[schema].validate(json.loads(encode(decoded)))
        accepted += 1
    assert accepted > 25
    assert rejected > 10
