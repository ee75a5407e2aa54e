"""One validation path: start-up (``configure``) and ``llmotel doctor`` refuse exactly the same values."""

from __future__ import annotations

import os

import pytest

from llmotel.distro import VARIABLES, configure, read_settings
from llmotel.distro._distro import apply_distro_defaults
from llmotel.distro._doctor import diagnose
from llmotel.distro._settings import check_environment, unset_empty_variables
from llmotel.distro._standard import STANDARD_VARIABLES
from llmotel.sdk.config import ConfigError

BAD = "x"
# Variables whose value is free text (paths to create, keys, attribute or scope names): "x" is a fine value.
FREE_TEXT = {
    "LLMOTEL_PHOENIX_VENV",
    "LLMOTEL_REDACTION_HMAC_KEY",
    "LLMOTEL_REDACTION_DENY_KEYS",
    "LLMOTEL_REDACTION_ALLOW_KEYS",
    "LLMOTEL_METRICS_CONTEXT_ATTRIBUTES",
    "LLMOTEL_METRICS_SKIP_SCOPES",
}
CONSOLE_TRACES = {
    "OTEL_TRACES_EXPORTER": "console",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


def _enablers(name: str) -> dict[str, str]:
    """What must be set too for ``name`` to be read at all."""
    distribution = {v.name: v.distribution for v in VARIABLES}.get(name)
    if distribution == "llmotel-redaction":
        return {"LLMOTEL_REDACTION": "on"}
    if name == "OTEL_TRACES_SAMPLER_ARG":
        return {"OTEL_TRACES_SAMPLER": "traceidratio"}
    return {}


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in [k for k in os.environ if k.startswith(("OTEL_", "LLMOTEL_"))]:
        monkeypatch.delenv(key)
    return monkeypatch


def _start_up() -> ConfigError | None:
    """What start-up does with ``os.environ``: the configurator calls ``configure``."""
    try:
        providers = configure()
    except ConfigError as exc:
        return exc
    providers.shutdown()
    return None


def _doctor_errors() -> list[str]:
    report = diagnose(check_network=False)
    return [f.message for f in report.findings if f.level == "error" and f.topic == "config"]


ALL_NAMES = [v.name for v in VARIABLES] + [v.name for v in STANDARD_VARIABLES]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_start_up_and_doctor_agree_on_a_bad_value(environ: pytest.MonkeyPatch, name: str) -> None:
    for key, value in {**CONSOLE_TRACES, **_enablers(name), name: BAD}.items():
        environ.setenv(key, value)
    refused = _start_up()
    doctor = _doctor_errors()
    if name in FREE_TEXT:
        assert refused is None
        assert doctor == []
        return
    assert refused is not None, f"start-up accepted {name}={BAD!r}"
    assert refused.variable == name
    assert doctor == [str(refused)]


def test_every_free_text_variable_is_in_the_table() -> None:
    assert {v.name for v in VARIABLES} >= FREE_TEXT


def test_doctor_reports_every_error_start_up_reports_the_first(environ: pytest.MonkeyPatch) -> None:
    for key, value in {
        **CONSOLE_TRACES,
        "LLMOTEL_NORMALIZE": "sideways",
        "OTEL_BSP_MAX_QUEUE_SIZE": "-1",
        "LLMOTEL_SAMPLING_DECISION_WAIT": "soon",
    }.items():
        environ.setenv(key, value)
    refused = _start_up()
    assert (
        str(refused) == "LLMOTEL_NORMALIZE='sideways' is invalid: expected one of off, add, replace"
    )
    assert _doctor_errors() == [
        "LLMOTEL_NORMALIZE='sideways' is invalid: expected one of off, add, replace",
        "OTEL_BSP_MAX_QUEUE_SIZE='-1' is invalid: expected an integer >= 1",
        "LLMOTEL_SAMPLING_DECISION_WAIT='soon' is invalid: expected a duration such as 250ms, 1.5s, 2m or 1h "
        "(bare numbers are seconds) >= 0.001",
    ]


@pytest.mark.parametrize(
    "variable",
    [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_ATTRIBUTE_COUNT_LIMIT",
        "LLMOTEL_NORMALIZE",
    ],
)
def test_empty_means_unset(variable: str) -> None:
    env = {**CONSOLE_TRACES, "OTEL_TRACES_EXPORTER": "otlp", variable: "  "}
    assert check_environment({**env, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}).errors == ()
    unset_empty_variables(env)
    assert variable not in env


def test_the_distro_default_replaces_an_empty_protocol() -> None:
    # setdefault alone kept "", and the SDK took "" for "no protocol given": gRPC, not installed, no export.
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "", "OTEL_TRACES_EXPORTER": "otlp"}
    apply_distro_defaults(env)
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert check_environment(env).errors == ()


def test_batch_larger_than_the_queue_is_refused() -> None:
    env = {"OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512"}
    assert [str(e) for e in check_environment(env).errors] == [
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE='512' is invalid: expected an integer from 1 to 100 "
        "(at most OTEL_BSP_MAX_QUEUE_SIZE)"
    ]


def test_unset_protocol_means_grpc_which_is_not_installed() -> None:
    errors = check_environment({"OTEL_TRACES_EXPORTER": "otlp"}).errors
    assert [e.variable for e in errors] == ["OTEL_EXPORTER_OTLP_PROTOCOL"]
    assert "opentelemetry-exporter-otlp-proto-grpc" in errors[0].accepted


def test_per_signal_protocol_wins_like_in_the_sdk() -> None:
    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
    }
    assert [e.variable for e in check_environment(env).errors] == [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    ]


@pytest.mark.parametrize("redaction", ["auto", "on", "off"])
def test_content_capture_is_checked_in_every_redaction_mode(redaction: str) -> None:
    env = {
        "LLMOTEL_REDACTION": redaction,
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "maybe",
    }
    with pytest.raises(ConfigError) as info:
        read_settings(env)
    assert info.value.variable == "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def test_mask_keep_is_checked_when_nothing_masks() -> None:
    env = {
        "LLMOTEL_REDACTION": "on",
        "LLMOTEL_REDACTION_OPERATOR": "replace",
        "LLMOTEL_REDACTION_MASK_KEEP": "99",
    }
    assert [str(e) for e in check_environment(env).errors] == [
        "LLMOTEL_REDACTION_MASK_KEEP='99' is invalid: expected an integer from 0 to 64"
    ]


def test_a_misspelt_variable_gets_a_suggestion() -> None:
    checked = check_environment({"LLMOTEL_REDACTON": "off", "LLMOTEL_NOTHING_LIKE_IT": "1"})
    assert checked.errors == ()
    assert checked.warnings == (
        "LLMOTEL_NOTHING_LIKE_IT is not an llmotel variable and is ignored; see docs/configuration.md for the variables",
        "LLMOTEL_REDACTON is not an llmotel variable and is ignored; did you mean LLMOTEL_REDACTION?",
    )


def test_one_error_per_variable() -> None:
    env = dict.fromkeys(
        ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"), "otlp"
    )
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json"
    assert [e.variable for e in check_environment(env).errors] == ["OTEL_EXPORTER_OTLP_PROTOCOL"]


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_metric_export_interval_must_be_a_positive_number(value: str) -> None:
    errors = check_environment({"OTEL_METRIC_EXPORT_INTERVAL": value}).errors
    assert [str(e) for e in errors] == [
        f"OTEL_METRIC_EXPORT_INTERVAL={value!r} is invalid: expected a number > 0 (milliseconds)"
    ]
