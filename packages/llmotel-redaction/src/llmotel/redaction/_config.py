"""``LLMOTEL_REDACTION_*`` environment variables → a configured :class:`Redactor` and stage."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from llmotel.redaction._analyzer import DEFAULT_THRESHOLDS
from llmotel.redaction._entities import (
    DEFAULT_ENTITIES,
    DEFAULT_NER_ENTITIES,
    DEFAULT_PHONE_REGIONS,
    KNOWN_ENTITIES,
    NER_ENTITIES,
)
from llmotel.redaction._operators import Drop, Keep, Mask, Operator, Pseudonymize, Replace
from llmotel.redaction._redactor import DEFAULT_ALLOW_KEYS, DEFAULT_DENY_KEYS, Redactor
from llmotel.sdk.config import (
    ConfigError,
    env_bool,
    env_choice,
    env_duration,
    env_float,
    env_int,
    env_list,
    env_str,
)

__all__ = ["ENV_VARIABLES", "redactor_from_env", "stage_options_from_env"]

ENTITIES = "LLMOTEL_REDACTION_ENTITIES"
OPERATOR = "LLMOTEL_REDACTION_OPERATOR"
OPERATORS = "LLMOTEL_REDACTION_OPERATORS"
HMAC_KEY = "LLMOTEL_REDACTION_HMAC_KEY"
MASK_KEEP = "LLMOTEL_REDACTION_MASK_KEEP"
SCORE_THRESHOLD = "LLMOTEL_REDACTION_SCORE_THRESHOLD"
PHONE_REGIONS = "LLMOTEL_REDACTION_PHONE_REGIONS"
DENY_KEYS = "LLMOTEL_REDACTION_DENY_KEYS"
ALLOW_KEYS = "LLMOTEL_REDACTION_ALLOW_KEYS"
MAX_TEXT_LENGTH = "LLMOTEL_REDACTION_MAX_TEXT_LENGTH"
MAX_DEPTH = "LLMOTEL_REDACTION_MAX_DEPTH"
DROP_BINARY = "LLMOTEL_REDACTION_DROP_BINARY"
TIME_BUDGET = "LLMOTEL_REDACTION_TIME_BUDGET"
NAMES = "LLMOTEL_REDACTION_NAMES"
NER_MODEL = "LLMOTEL_REDACTION_NER_MODEL"

ENV_VARIABLES: tuple[str, ...] = (
    ENTITIES,
    OPERATOR,
    OPERATORS,
    HMAC_KEY,
    MASK_KEEP,
    SCORE_THRESHOLD,
    PHONE_REGIONS,
    DENY_KEYS,
    ALLOW_KEYS,
    MAX_TEXT_LENGTH,
    MAX_DEPTH,
    DROP_BINARY,
    TIME_BUDGET,
    NAMES,
    NER_MODEL,
)
"""Every variable this package reads (documented in its README)."""

_OPERATOR_NAMES = ("replace", "mask", "hmac", "drop", "keep")


def _operator(name: str, variable: str, value: str, env: Mapping[str, str] | None) -> Operator:
    if name == "replace":
        return Replace()
    if name == "mask":
        return Mask(keep_last=_mask_keep(env))
    if name == "hmac":
        key = env_str(HMAC_KEY, None, environ=env)
        if key is None:
            raise ConfigError(HMAC_KEY, "", f"a secret key, because {variable}={value!r} uses hmac")
        return Pseudonymize(key.encode("utf-8"))
    if name == "drop":
        return Drop()
    return Keep()


def _mask_keep(env: Mapping[str, str] | None) -> int:
    return env_int(MASK_KEEP, 4, min=0, max=64, environ=env)


# Redactors by their settings: building one compiles every recognizer and may load a spaCy
# model, and one is safe to share between export threads.
_SHARED: dict[tuple[str | None, ...], Redactor] = {}
_SHARED_LOCK = threading.Lock()


def redactor_from_env(environ: Mapping[str, str] | None = None) -> Redactor:
    """A :class:`Redactor` configured from ``LLMOTEL_REDACTION_*`` (see :data:`ENV_VARIABLES`).

    The same settings give the same (thread-safe) instance, so the span, log and metric wiring of
    one process share one redactor and load a NER model once. Raises
    :class:`llmotel.sdk.config.ConfigError` naming the variable and the accepted values.
    """
    env = os.environ if environ is None else environ
    key = tuple(env.get(name) for name in ENV_VARIABLES)
    with _SHARED_LOCK:
        shared = _SHARED.get(key)
    if shared is not None:
        return shared
    redactor = _redactor_from_env(env)
    with _SHARED_LOCK:
        return _SHARED.setdefault(key, redactor)


def _redactor_from_env(env: Mapping[str, str]) -> Redactor:
    _mask_keep(env)  # checked even when no operator masks: a typo fails at start-up, not later
    ner_model = env_str(NER_MODEL, None, environ=env)
    known = (*KNOWN_ENTITIES, *NER_ENTITIES) if ner_model else KNOWN_ENTITIES
    default_entities = (*DEFAULT_ENTITIES, *DEFAULT_NER_ENTITIES) if ner_model else DEFAULT_ENTITIES
    entities = env_list(ENTITIES, default_entities, choices=known, environ=env)

    default_name = env_choice(OPERATOR, "replace", _OPERATOR_NAMES, environ=env)
    default_operator = _operator(default_name, OPERATOR, default_name, env)
    operators: dict[str, Operator] = {}
    raw_operators = env_str(OPERATORS, None, environ=env)
    for item in env_list(OPERATORS, (), environ=env):
        entity, sep, name = (part.strip() for part in item.partition("="))
        accepted = (
            "a comma-separated list of ENTITY=operator with ENTITY one of "
            + ", ".join([*known, "SECRET_KEY"])
            + " and operator one of "
            + ", ".join(_OPERATOR_NAMES)
        )
        if not sep or entity not in (*known, "SECRET_KEY") or name.lower() not in _OPERATOR_NAMES:
            raise ConfigError(OPERATORS, raw_operators or "", accepted)
        operators[entity] = _operator(name.lower(), OPERATORS, raw_operators or "", env)

    threshold = env_float(
        SCORE_THRESHOLD, DEFAULT_THRESHOLDS["default"], min=0.0, max=1.0, environ=env
    )
    import phonenumbers  # the region names; loaded with the redactor, not on package import

    regions = env_list(
        PHONE_REGIONS,
        DEFAULT_PHONE_REGIONS,
        choices=sorted(phonenumbers.SUPPORTED_REGIONS),
        environ=env,
    )
    deny = env_list(DENY_KEYS, (), environ=env)
    allow = env_list(ALLOW_KEYS, (), environ=env)

    extra: list[Any] = []
    ner_entities = [e for e in entities if e in NER_ENTITIES]
    if ner_model and ner_entities:
        from llmotel.redaction._ner import ner_recognizer

        extra.append(ner_recognizer(ner_model, ner_entities, variable=NER_MODEL))
    entities = [e for e in entities if e not in NER_ENTITIES]

    return Redactor(
        entities=entities,
        operators=operators,
        default_operator=default_operator,
        thresholds={"default": threshold},
        phone_regions=regions,
        recognizers=extra,
        deny_keys=DEFAULT_DENY_KEYS | set(deny),
        allow_keys=DEFAULT_ALLOW_KEYS | set(allow),
        max_text_length=env_int(MAX_TEXT_LENGTH, 100_000, min=1_000, environ=env),
        max_depth=env_int(MAX_DEPTH, 32, min=1, max=500, environ=env),
        drop_binary=env_bool(DROP_BINARY, False, environ=env),
    )


def stage_options_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The stage's own settings: ``time_budget`` (seconds) and ``redact_names``."""
    return {
        "time_budget": env_duration(TIME_BUDGET, 0.5, min=0.001, max=60.0, environ=environ),
        "redact_names": env_bool(NAMES, True, environ=environ),
    }
