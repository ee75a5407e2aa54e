"""The table of every ``LLMOTEL_*`` environment variable: one source for the docs, the flags and ``doctor``."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass

__all__ = ["VARIABLES", "Variable", "apply_flag_overrides", "flag_attribute"]

# opentelemetry-instrument makes a flag of each ``OTEL_*`` attribute of our environment-variables module by deleting
# *every* "OTEL_" in the name (re.sub) — and "LLMOTEL_" contains one. Spelling the inner one as "OTOTEL_EL_" makes the
# deletion leave exactly "LLMOTEL_…", so the flag reads --llmotel_redaction. The tool then sets an environment
# variable named after the attribute; apply_flag_overrides() maps it back.
_FLAG_PREFIX = "OTEL_"
_INNER = "OTOTEL_EL_"


def flag_attribute(variable: str) -> str:
    """The attribute name that makes ``opentelemetry-instrument`` offer ``--<variable in lower case>``."""
    return _FLAG_PREFIX + variable.replace("OTEL_", _INNER, 1)


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, default, accepted values, meaning and the distribution reading it."""

    name: str
    default: str
    accepted: str
    description: str
    distribution: str


_D = "llmotel-distro"

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "LLMOTEL_ENRICH_CONTEXT",
        "true",
        "true | false",
        "Copy session.id, user.id and gen_ai.conversation.id from context (using_session & co.) onto every span.",
        _D,
    ),
    Variable(
        "LLMOTEL_NORMALIZE",
        "off",
        "off | add | replace",
        "Rewrite spans of other conventions (OpenInference, OpenLLMetry, deprecated semconv) to GenAI semconv "
        "before export: add the semconv attributes alongside, or replace the foreign ones.",
        _D,
    ),
    Variable(
        "LLMOTEL_VALIDATE",
        "false",
        "true | false",
        "Check exported spans against the GenAI semconv registry; violations become a metric and debug logs.",
        _D,
    ),
    Variable(
        "LLMOTEL_REDACTION",
        "auto",
        "auto | on | off",
        "Redact PII and secrets from spans and logs before export. auto = on whenever message content is captured "
        "(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT is not NO_CONTENT). Needs llmotel-redaction.",
        _D,
    ),
    Variable(
        "LLMOTEL_METRICS",
        "on",
        "on | off",
        "Token and USD cost metrics from every finished GenAI span (sampled or not). Needs llmotel-metrics.",
        _D,
    ),
)


def apply_flag_overrides(environ: MutableMapping[str, str] | None = None) -> None:
    """Copy what an ``opentelemetry-instrument --llmotel_x`` flag set onto ``LLMOTEL_X`` (the flag wins)."""
    env = os.environ if environ is None else environ
    prefix = flag_attribute("LLMOTEL_")
    for key in [k for k in env if k.startswith(prefix)]:
        env["LLMOTEL_" + key.removeprefix(prefix)] = env[key]
