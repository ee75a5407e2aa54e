"""LLMOTEL_REDACTION_* variables, their errors, and the opt-in NER model."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from llmotel.redaction import Redaction, RedactionStage, Redactor, redactor_from_env
from llmotel.sdk.config import ConfigError


def test_defaults_from_an_empty_environment() -> None:
    stage = RedactionStage.from_env({})
    assert stage.redactor.redact_text("a@example.com") == "<EMAIL_ADDRESS>"


def test_every_variable_is_read() -> None:
    env = {
        "LLMOTEL_REDACTION_ENTITIES": "EMAIL_ADDRESS, credit_card,PHONE_NUMBER",
        "LLMOTEL_REDACTION_OPERATOR": "mask",
        "LLMOTEL_REDACTION_MASK_KEEP": "2",
        "LLMOTEL_REDACTION_OPERATORS": "EMAIL_ADDRESS=hmac,SECRET_KEY=drop",
        "LLMOTEL_REDACTION_HMAC_KEY": "k",
        "LLMOTEL_REDACTION_PHONE_REGIONS": "gb",
        "LLMOTEL_REDACTION_SCORE_THRESHOLD": "0.3",
        "LLMOTEL_REDACTION_DENY_KEYS": "app.secret",
        "LLMOTEL_REDACTION_ALLOW_KEYS": "app.owner",
        "LLMOTEL_REDACTION_MAX_TEXT_LENGTH": "5000",
        "LLMOTEL_REDACTION_MAX_DEPTH": "8",
        "LLMOTEL_REDACTION_DROP_BINARY": "true",
        "LLMOTEL_REDACTION_TIME_BUDGET": "250ms",
        "LLMOTEL_REDACTION_NAMES": "off",
    }
    stage = RedactionStage.from_env(env)
    r = stage.redactor
    assert r.entities == ("EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER")
    digest = hmac.new(b"k", b"a@example.com", hashlib.sha256).hexdigest()[:16]
    assert r.redact_text("a@example.com 4111 1111 1111 1111, ring 020 7946 0958") == (
        f"<EMAIL_ADDRESS:{digest}> **** **** **** **11, ring *** **** **58"
    )
    # An allow-listed key is screened for the high-risk types only: the phone stays, the e-mail goes.
    attributes: dict[str, object] = {"app.secret": "x", "app.owner": "020 7946 0958 a@example.com"}
    r.redact_attributes(attributes, Redaction())
    assert attributes == {"app.owner": f"020 7946 0958 <EMAIL_ADDRESS:{digest}>"}
    assert stage._budget == 0.25
    assert stage._names is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"LLMOTEL_REDACTION_ENTITIES": "EMAIL,PHONE_NUMBER"},
            "LLMOTEL_REDACTION_ENTITIES='EMAIL,PHONE_NUMBER' is invalid: expected a ','-separated "
            "list of EMAIL_ADDRESS, PHONE_NUMBER",
        ),
        (
            {"LLMOTEL_REDACTION_OPERATOR": "blur"},
            "LLMOTEL_REDACTION_OPERATOR='blur' is invalid: expected one of replace, mask, hmac, "
            "drop, keep",
        ),
        (
            {"LLMOTEL_REDACTION_OPERATOR": "hmac"},
            "LLMOTEL_REDACTION_HMAC_KEY='' is invalid: expected a secret key, because "
            "LLMOTEL_REDACTION_OPERATOR='hmac' uses hmac",
        ),
        (
            {"LLMOTEL_REDACTION_OPERATORS": "EMAIL_ADDRESS:mask"},
            "LLMOTEL_REDACTION_OPERATORS='EMAIL_ADDRESS:mask' is invalid: expected a "
            "comma-separated list of ENTITY=operator",
        ),
        (
            {"LLMOTEL_REDACTION_PHONE_REGIONS": "US,XX"},
            "LLMOTEL_REDACTION_PHONE_REGIONS='US,XX' is invalid",
        ),
        (
            {"LLMOTEL_REDACTION_SCORE_THRESHOLD": "2"},
            "LLMOTEL_REDACTION_SCORE_THRESHOLD='2' is invalid: expected a number from 0.0 to 1.0",
        ),
        (
            {"LLMOTEL_REDACTION_TIME_BUDGET": "soon"},
            "LLMOTEL_REDACTION_TIME_BUDGET='soon' is invalid: expected a duration",
        ),
        (
            {"LLMOTEL_REDACTION_DROP_BINARY": "maybe"},
            "LLMOTEL_REDACTION_DROP_BINARY='maybe' is invalid: expected one of true, false",
        ),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        RedactionStage.from_env(env)
    assert str(info.value).startswith(message)


def test_missing_ner_model_is_named() -> None:
    env = {"LLMOTEL_REDACTION_NER_MODEL": "en_core_web_missing"}
    with pytest.raises(ConfigError) as info:
        redactor_from_env(env)
    assert info.value.variable == "LLMOTEL_REDACTION_NER_MODEL"
    assert str(info.value) == (
        "LLMOTEL_REDACTION_NER_MODEL='en_core_web_missing' is invalid: expected an installed spaCy "
        "pipeline; 'en_core_web_missing' is not installed (llmotel never downloads models: install "
        "it yourself, e.g. `python -m spacy download en_core_web_missing`)"
    )


def test_ner_recognizer_runs_a_provisioned_pipeline() -> None:
    # A blank pipeline with an entity ruler stands in for a user's model: real spaCy, no download.
    spacy = pytest.importorskip("spacy")
    from llmotel.redaction._ner import SpacyNerRecognizer

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [{"label": "PERSON", "pattern": "Ada Lovelace"}, {"label": "GPE", "pattern": "London"}]
    )
    r = Redactor(entities=[], recognizers=[SpacyNerRecognizer(nlp, ["PERSON", "LOCATION"])])
    assert r.redact_text("Ada Lovelace lived in London.") == "<PERSON> lived in <LOCATION>."
