"""The distro and configurator under a real ``opentelemetry-instrument`` process."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from llmotel.distro import read_settings
from llmotel.sdk.config import ConfigError
from llmotel.testing.otlp import OtlpReceiver

Runner = Callable[..., subprocess.CompletedProcess[str]]
NO_EXPORT = {
    "OTEL_TRACES_EXPORTER": "none",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}

PROBE = """
from opentelemetry import trace, metrics
tp = trace.get_tracer_provider()
procs = [type(p).__name__ for p in tp._active_span_processor._span_processors]
print("tracer:", type(tp).__module__, "processors:", ",".join(procs))
print("sampler:", tp.sampler.get_description())
"""


def test_distro_selects_the_llmotel_configurator(instrumented_python: Runner) -> None:
    result = instrumented_python(
        PROBE,
        env={
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "tracer: opentelemetry.sdk.trace" in result.stdout
    processors = result.stdout.split("processors: ", 1)[1].splitlines()[0].split(",")
    assert processors[0] == "ContextEnricher"
    assert processors[-1] == "PipelineSpanProcessor"


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("LLMOTEL_NORMALIZE", "sideways", "one of off, add, replace"),
        ("LLMOTEL_ENRICH_CONTEXT", "maybe", "one of true, false"),
        ("LLMOTEL_REDACTION", "always", "one of auto, on, off"),
    ],
)
def test_bad_value_stops_start_up_naming_the_variable(
    instrumented_python: Runner, variable: str, value: str, accepted: str
) -> None:
    result = instrumented_python(
        "print('the app ran')", env={variable: value, "OTEL_TRACES_EXPORTER": "console"}
    )
    assert result.returncode == 2
    assert "the app ran" not in result.stdout
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(
        f"llmotel: invalid configuration: {variable}={value!r} is invalid: expected {accepted}"
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"OTEL_TRACES_EXPORTER": "consol"},
            "OTEL_TRACES_EXPORTER='consol' is invalid: expected a comma-separated list of installed exporters "
            "(otlp, console, otlp_proto_http), or none",
        ),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='http/json' is invalid: expected one of http/protobuf "
            "(grpc needs opentelemetry-exporter-otlp-proto-grpc: pip install 'llmotel-distro[grpc]')",
        ),
        (
            {"OTEL_METRIC_EXPORT_INTERVAL": "-1"},
            "OTEL_METRIC_EXPORT_INTERVAL='-1' is invalid: expected a number > 0 (milliseconds)",
        ),
        (
            {"OTEL_BSP_MAX_QUEUE_SIZE": "lots"},
            "OTEL_BSP_MAX_QUEUE_SIZE='lots' is invalid: expected an integer >= 1",
        ),
        (
            {
                "LLMOTEL_REDACTION": "off",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "maybe",
            },
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT='maybe' is invalid: expected one of NO_CONTENT, "
            "SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT, true, false",
        ),
        (
            {"LLMOTEL_SAMPLING_MAX_TRACES": "0"},
            "LLMOTEL_SAMPLING_MAX_TRACES='0' is invalid: expected an integer >= 1",
        ),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else "",
)
def test_bad_standard_value_stops_start_up_with_one_line(
    instrumented_python: Runner, env: dict[str, str], line: str
) -> None:
    result = instrumented_python("print('the app ran')", env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"llmotel: invalid configuration: {line}"]


def test_empty_protocol_means_the_distro_default(instrumented_python: Runner) -> None:
    with OtlpReceiver() as receiver:
        result = instrumented_python(
            "from opentelemetry import trace\ntrace.get_tracer('t').start_span('probe').end()\n",
            env={
                "OTEL_EXPORTER_OTLP_PROTOCOL": "",
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
            },
        )
        assert result.returncode == 0, result.stderr
        assert receiver.wait_for(lambda r: len(r.spans()) == 1)
        assert [s.name for s in receiver.spans()] == ["probe"]


def test_misspelt_variable_warns_and_the_app_runs(instrumented_python: Runner) -> None:
    result = instrumented_python(
        "print('the app ran')", env={"LLMOTEL_REDACTON": "off", **NO_EXPORT}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the app ran\n"
    assert result.stderr.splitlines() == [
        "llmotel: warning: LLMOTEL_REDACTON is not an llmotel variable and is ignored; "
        "did you mean LLMOTEL_REDACTION?"
    ]


OPENAI_CALL = """
import openai
from llmotel.testing import StubServer
with StubServer() as stub:
    client = openai.OpenAI(base_url=stub.openai_base_url, api_key="k")
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
print("called")
"""


def test_skip_scopes_adds_to_the_built_in_ones(instrumented_python: Runner) -> None:
    # Replacing the built-in scopes made the processor record the openai instrumentation's histograms a
    # second time, and the SDK warned "Views ... will cause conflicting metrics identities".
    result = instrumented_python(
        OPENAI_CALL,
        env={
            "LLMOTEL_METRICS_SKIP_SCOPES": "my.instrumentation",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "console",
            "OTEL_LOGS_EXPORTER": "none",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "called" in result.stdout
    assert "conflicting metrics identities" not in result.stderr
    assert result.stdout.count('"name": "gen_ai.client.token.usage"') == 1


def test_flag_sets_the_llmotel_variable(instrumented_python: Runner) -> None:
    result = instrumented_python("print('ran')", flags=("--llmotel_normalize", "sideways"))
    assert result.returncode == 2
    assert "LLMOTEL_NORMALIZE='sideways' is invalid" in result.stderr


def test_flag_wins_over_the_variable(instrumented_python: Runner) -> None:
    result = instrumented_python(
        "import os; print(os.environ['LLMOTEL_NORMALIZE'])",
        flags=("--llmotel_normalize", "replace"),
        env={
            "LLMOTEL_NORMALIZE": "add",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "replace"


def test_read_settings_defaults() -> None:
    settings = read_settings({})
    assert settings.enrich_context is True
    assert settings.normalize == "off"
    assert settings.redaction is False
    assert settings.metrics is True


def test_content_capture_turns_redaction_on_by_default() -> None:
    settings = read_settings({"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"})
    assert settings.redaction is True


def test_redaction_off_is_respected_even_with_content() -> None:
    settings = read_settings(
        {
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
            "LLMOTEL_REDACTION": "off",
        }
    )
    assert settings.redaction is False


def test_bad_metrics_value() -> None:
    with pytest.raises(ConfigError) as info:
        read_settings({"LLMOTEL_METRICS": "yes please"})
    assert info.value.variable == "LLMOTEL_METRICS"
