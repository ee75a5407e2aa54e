"""The table of every ``LLMOTEL_*`` environment variable: one source for the docs, the flags and ``doctor``."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass

__all__ = ["VARIABLES", "Variable", "apply_flag_overrides", "flag_attribute", "render_markdown"]

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
    """One environment variable: name, default (empty: unset/off), meaning, the distribution reading it."""

    name: str
    default: str
    description: str
    distribution: str
    accepted: str = ""


_DISTRO = "llmotel-distro"

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "LLMOTEL_ENRICH_CONTEXT",
        "true",
        "Copy `session.id`, `user.id` and `gen_ai.conversation.id` from context (`using_session` & co.) onto "
        "every span.",
        _DISTRO,
        "true, false",
    ),
    Variable(
        "LLMOTEL_NORMALIZE",
        "off",
        "Rewrite spans of other conventions (OpenInference, OpenLLMetry, deprecated semconv) to GenAI semconv "
        "before export: `add` the semconv attributes alongside, or `replace` the foreign ones. Off, "
        "mcp 2.x's own `MCP send ...` CLIENT spans are still renamed to the MCP conventions when mcp 2.x "
        "and llmotel-instrumentation-mcp are installed and `llmotel_mcp` is not disabled.",
        _DISTRO,
        "off, add, replace",
    ),
    Variable(
        "LLMOTEL_VALIDATE",
        "false",
        "Check exported spans against the GenAI semconv registry; violations become the "
        "`llmotel.semconv.violations` metric and debug logs.",
        _DISTRO,
        "true, false",
    ),
    Variable(
        "LLMOTEL_REDACTION",
        "auto",
        "Redact PII and secrets from spans and logs before export. `auto` = on whenever message content is "
        "captured (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is not `NO_CONTENT`); then "
        "llmotel-redaction must be installed or start-up stops.",
        _DISTRO,
        "auto, on, off",
    ),
    Variable(
        "LLMOTEL_METRICS",
        "on",
        "Token and USD cost metrics from every finished GenAI span, sampled or not (needs llmotel-metrics; "
        "quietly off when it is not installed and the variable is unset).",
        _DISTRO,
        "on, off",
    ),
    Variable(
        "LLMOTEL_INSTRUMENTATION_CONFLICT",
        "llmotel",
        "When another instrumentation of the openai, anthropic, mcp or litellm library or of "
        "Bedrock Runtime is installed too (upstream, OpenLLMetry, OpenInference): `llmotel` "
        "instruments the library and switches the other off, `peer` leaves the library to it. One "
        "call, one span either way; logged once.",
        "llmotel-instrumentation-openai, llmotel-instrumentation-anthropic, "
        "llmotel-instrumentation-bedrock, llmotel-instrumentation-litellm, "
        "llmotel-instrumentation-mcp",
        "llmotel, peer",
    ),
    Variable(
        "LLMOTEL_SHUTDOWN_TIMEOUT",
        "5s",
        "The most the process waits at exit (or in `Providers.shutdown()`) for telemetry: traces are exported "
        "first, in at most 60 % of it, then metrics, which leave the logs 20 %, then logs with what is left; "
        "an exporter still busy then is stopped and what it held is counted dropped (`llmotel.pipeline.shed`).",
        _DISTRO,
        "a duration from 0s to 600s (`500ms`, `5s`, `1m`)",
    ),
    Variable(
        "LLMOTEL_PHOENIX_VENV",
        "~/.cache/llmotel/phoenix",
        "Where `llmotel demo --ui` installs Arize Phoenix (its own virtual environment).",
        _DISTRO,
    ),
    Variable(
        "LLMOTEL_REDACTION_ENTITIES",
        "the default set (below)",
        "comma-separated entity types from `KNOWN_ENTITIES` (+ `PERSON`, `LOCATION` with a NER model)",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_OPERATOR",
        "replace",
        "`replace` (`<EMAIL_ADDRESS>`), `mask`, `hmac`, `drop`, `keep`",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_OPERATORS",
        "",
        "per type, e.g. `EMAIL_ADDRESS=hmac,CREDIT_CARD=mask,SECRET_KEY=drop`",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_HMAC_KEY",
        "",
        "the key for `hmac` (required when `hmac` is used)",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_MASK_KEEP",
        "4",
        "integer 0 to 64: characters left visible by `mask`",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_SCORE_THRESHOLD",
        "0.4",
        "number 0.0 to 1.0: minimum score kept",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_PHONE_REGIONS",
        "US,GB,DE,FR,IN,CA,BR,AU",
        "ISO region codes for numbers written without `+`",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_DENY_KEYS",
        "",
        "extra attribute keys always redacted whole",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_ALLOW_KEYS",
        "",
        "extra attribute keys only screened for the high-risk types",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_MAX_TEXT_LENGTH",
        "100000",
        "integer ≥ 1000: characters analyzed per text; the rest is cut",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_MAX_DEPTH",
        "32",
        "integer 1 to 500: JSON nesting analyzed",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_DROP_BINARY",
        "false",
        "boolean: empty the `content` of base64 `blob` parts",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_TIME_BUDGET",
        "500ms",
        "duration (`250ms`, `1s`): per record, then fail closed",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_NAMES",
        "true",
        "boolean: analyse span, event and log event names (a name seen clean once is skipped)",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_REDACTION_NER_MODEL",
        "",
        "name or path of an installed spaCy pipeline: adds `PERSON`, `LOCATION`",
        "llmotel-redaction",
    ),
    Variable(
        "LLMOTEL_SAMPLING_KEEP",
        "",
        "`key=value,…`: always keep (head rule *and* tail `AttributePolicy`), e.g. `user.id=alice,gen_ai.request.model=o3`",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_RECORD_DROPPED",
        "false",
        "head: `RECORD_ONLY` instead of `DROP`",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_TAIL",
        "false",
        "wrap the exporting processor in a `TailSamplingProcessor`",
        "llmotel-sampling",
    ),
    Variable("LLMOTEL_SAMPLING_KEEP_ERRORS", "true", "tail: `ErrorPolicy`", "llmotel-sampling"),
    Variable(
        "LLMOTEL_SAMPLING_LATENCY_THRESHOLD",
        "",
        "tail: `LatencyPolicy`, a duration (`10s`, `500ms`, `2m`)",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_TOKENS_THRESHOLD",
        "",
        "tail: `TokenPolicy`, total input+output tokens",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_COST_THRESHOLD_USD",
        "",
        "tail: `CostPolicy`, total USD",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_BASELINE_RATIO",
        "0.1",
        "tail: `ProbabilisticPolicy`, asked last",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_DECISION_WAIT",
        "30s",
        "tail: decide a trace whose root has not ended after this long",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_MAX_TRACES", "10000", "tail: traces buffered at most", "llmotel-sampling"
    ),
    Variable(
        "LLMOTEL_SAMPLING_MAX_SPANS", "100000", "tail: spans buffered at most", "llmotel-sampling"
    ),
    Variable(
        "LLMOTEL_SAMPLING_MAX_BYTES",
        "67108864",
        "tail: memory ceiling (estimated): buffered spans + decision cache + 1/8 headroom",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_OVERFLOW",
        "evaluate",
        "tail: a trace decided early by a bound is `evaluate`d, `keep`t or `drop`ped",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_MAX_TRACES_PER_SECOND",
        "",
        "`RateLimitingSpanProcessor` in front of the exporting processor",
        "llmotel-sampling",
    ),
    Variable(
        "LLMOTEL_SAMPLING_MAX_SPANS_PER_SECOND", "", "same, spans per second", "llmotel-sampling"
    ),
    Variable(
        "LLMOTEL_METRICS_CONTEXT_ATTRIBUTES",
        "",
        "comma-separated span attributes added to every measurement, e.g. `user.id,session.id` (each value is a new series: mind the cardinality)",
        "llmotel-metrics",
    ),
    Variable(
        "LLMOTEL_METRICS_PRICE_FILE",
        "",
        'JSON or YAML price overrides, USD per million tokens: `{"model": {"input_mtok": 1, "output_mtok": 2, "cache_read_mtok": 0.1, "cache_write_mtok": 1.25, "provider": "openai"}}`',
        "llmotel-metrics",
    ),
    Variable(
        "LLMOTEL_METRICS_CARDINALITY_LIMIT",
        "SDK's (2000)",
        "attribute sets per metric; further sets go to one `otel.metric.overflow=true` series",
        "llmotel-metrics",
    ),
    Variable(
        "LLMOTEL_METRICS_SKIP_SCOPES",
        "",
        "comma-separated further instrumentation scopes whose token/duration histograms are already "
        "recorded without their declaring it, added to upstream's openai_v2 (llmotel's instrumentations "
        "declare theirs)",
        "llmotel-metrics",
    ),
    Variable(
        "LLMOTEL_METRICS_PRICE_UPDATE",
        "false",
        "`true` downloads fresh prices from the genai-prices repository in a background thread — **uses the network**",
        "llmotel-metrics",
    ),
    Variable(
        "LLMOTEL_METRICS_PRICE_UPDATE_INTERVAL",
        "1h",
        "how often (at least `60s`)",
        "llmotel-metrics",
    ),
)


def render_markdown() -> str:
    """The table of every variable, as ``docs/configuration.md`` shows it (a test keeps the two equal)."""
    lines = ["| variable | default | read by | meaning |", "|---|---|---|---|"]
    for v in VARIABLES:
        default = f"`{v.default}`" if v.default and " " not in v.default else (v.default or "—")
        meaning = v.description + (f" Accepted: {v.accepted}." if v.accepted else "")
        lines.append(f"| `{v.name}` | {default} | {v.distribution} | {meaning} |")
    return "\n".join(lines) + "\n"


def apply_flag_overrides(environ: MutableMapping[str, str] | None = None) -> None:
    """Copy what an ``opentelemetry-instrument --llmotel_x`` flag set onto ``LLMOTEL_X`` (the flag wins)."""
    env = os.environ if environ is None else environ
    prefix = flag_attribute("LLMOTEL_")
    for key in [k for k in env if k.startswith(prefix)]:
        env["LLMOTEL_" + key.removeprefix(prefix)] = env[key]


_BEGIN = (
    "<!-- variables:begin (generated by `nox -s generate` from llmotel.distro._variables) -->\n"
)
_END = "<!-- variables:end -->\n"


def update_document(text: str) -> str:
    """``text`` with the generated table between the ``variables`` markers replaced by :func:`render_markdown`."""
    head, rest = text.split(_BEGIN, 1)
    _, tail = rest.split(_END, 1)
    return head + _BEGIN + render_markdown() + _END + tail


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(sys.argv[1])
    target.write_text(update_document(target.read_text()))
