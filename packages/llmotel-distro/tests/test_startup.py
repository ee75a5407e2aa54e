"""The distro and configurator under a real ``opentelemetry-instrument`` process."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from llmotel.distro import read_settings
from llmotel.sdk.config import ConfigError

Runner = Callable[..., subprocess.CompletedProcess[str]]

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
