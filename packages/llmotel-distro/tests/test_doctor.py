"""``llmotel doctor`` as a user runs it: a subprocess, real entry points, real peer instrumentors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent


def _clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    env.update(overrides)
    return env


def _doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "llmotel"), "doctor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two peers' openai instrumentors (upstream and OpenInference) installed into a directory of their own."""
    target = tmp_path_factory.mktemp("peers")
    uv = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
    assert uv, "uv is in the distro's test dependencies"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            "opentelemetry-instrumentation-openai-v2",
            "openinference-instrumentation-openai",
        ],
        check=True,
        timeout=300,
    )
    return target


def _findings(report: dict[str, Any]) -> list[str]:
    return [f["message"] for f in report["findings"]]


def test_clean_environment_has_no_errors() -> None:
    result = _doctor(
        _clean_env(
            OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none"
        ),
        "--json",
    )
    report = json.loads(result.stdout)
    assert report["configurator"]["winner"] == "llmotel"
    assert report["distro"]["winner"] == "llmotel"
    assert [f for f in report["findings"] if f["level"] == "error"] == []
    assert result.returncode == 0
    names = {i["name"] for i in report["instrumentors"]}
    assert "llmotel_openai" in names
    assert report["distributions"]["llmotel-distro"]


def test_reports_planted_clash_and_bad_variable(peers: Path) -> None:
    env = _clean_env(PYTHONPATH=str(peers), LLMOTEL_NORMALIZE="sideways")
    result = _doctor(env, "--json", "--offline")
    assert result.returncode == 1
    messages = _findings(json.loads(result.stdout))
    assert any(
        m.startswith("entry-point name clash: 2 instrumentors are named 'openai'") for m in messages
    )
    assert any(m.startswith("openai is instrumented 3 times") for m in messages), messages
    assert "LLMOTEL_NORMALIZE='sideways' is invalid: expected one of off, add, replace" in messages


def _openai_finding(report: dict[str, Any]) -> dict[str, Any]:
    [finding] = [
        f for f in report["findings"] if f["message"].startswith("openai is instrumented 3 times")
    ]
    return finding


def test_peers_switched_off_by_the_conflict_rule_are_a_warning(peers: Path) -> None:
    # Both peers are in llmotel-instrumentation-openai's PEERS: the default rule keeps llmotel's.
    report = json.loads(_doctor(_clean_env(PYTHONPATH=str(peers)), "--json", "--offline").stdout)
    finding = _openai_finding(report)
    assert finding["level"] == "warning"
    assert finding["message"].endswith(
        "LLMOTEL_INSTRUMENTATION_CONFLICT=llmotel keeps llmotel_openai and switches the others off "
        "at start-up"
    )
    # "peer" leaves openai to the peers, and two of them would both record: an error.
    env = _clean_env(PYTHONPATH=str(peers), LLMOTEL_INSTRUMENTATION_CONFLICT="peer")
    report = json.loads(_doctor(env, "--json", "--offline").stdout)
    assert _openai_finding(report)["level"] == "error"


def test_reports_what_stops_start_up() -> None:
    env = _clean_env(
        LLMOTEL_SAMPLING_MAX_TRACES="0",
        OTEL_BSP_SCHEDULE_DELAY="soon",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
    )
    result = _doctor(env, "--offline")
    assert result.returncode == 1
    findings = result.stdout.split("\nfindings\n", 1)[1].splitlines()
    assert findings == [
        "  ERROR   [config] OTEL_BSP_SCHEDULE_DELAY='soon' is invalid: expected an integer >= 1 (milliseconds)",
        "  ERROR   [config] LLMOTEL_SAMPLING_MAX_TRACES='0' is invalid: expected an integer >= 1",
    ]


def test_disabling_the_peers_clears_the_double_instrumentation(peers: Path) -> None:
    env = _clean_env(PYTHONPATH=str(peers), OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai")
    report = json.loads(_doctor(env, "--json", "--offline").stdout)
    assert not any(m.startswith("openai is instrumented") for m in _findings(report))


def test_unreachable_exporter_is_an_error() -> None:
    env = _clean_env(
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
    )
    result = _doctor(env, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["exporters"][0]["reachable"] is False
    # The endpoint is the one the SDK's OTLP/HTTP exporter resolves: base URL + signal path.
    assert any(
        m.startswith("traces exporter otlp_proto_http cannot reach http://127.0.0.1:9/v1/traces: ")
        for m in _findings(report)
    )


def test_plain_output_when_piped() -> None:
    result = _doctor(
        _clean_env(
            OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none"
        )
    )
    assert "\033[" not in result.stdout
    assert "configurator: llmotel" in result.stdout
    assert "no problems found" in result.stdout


@pytest.fixture
def uninstalled_library_instrumentor(tmp_path: Path) -> Path:
    """A distribution whose instrumentor targets a library that is not installed (as a real dist-info)."""
    info = tmp_path / "instrumentation_nolib-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: instrumentation-nolib\nVersion: 1.0\n"
        "Provides-Extra: instruments\n"
        "Requires-Dist: llmotel-no-such-library >= 2.0 ; extra == 'instruments'\n"
    )
    (info / "entry_points.txt").write_text(
        "[opentelemetry_instrumentor]\nnolib = instrumentation_nolib:NolibInstrumentor\n"
    )
    return tmp_path


def test_instrumentor_of_a_missing_library_is_not_installed(
    uninstalled_library_instrumentor: Path,
) -> None:
    env = _clean_env(
        PYTHONPATH=str(uninstalled_library_instrumentor),
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="llmotel_anthropic",
    )
    report = json.loads(_doctor(env, "--json", "--offline").stdout)
    states = {i["name"]: (i["state"], i["detail"]) for i in report["instrumentors"]}
    assert states["nolib"] == (
        "not installed",
        "needs llmotel-no-such-library>=2.0 (not installed)",
    )
    assert states["llmotel_openai"] == ("on", "")
    plain = _doctor(env, "--offline").stdout
    line = next(x for x in plain.splitlines() if " nolib " in x)
    assert line.split()[:3] == ["not", "installed", "nolib"]


def test_configuration_shows_only_the_values_set() -> None:
    env = _clean_env(
        LLMOTEL_NORMALIZE="add",
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer secret",
    )
    report = json.loads(_doctor(env, "--json", "--offline").stdout)
    shown = report["config"]["set"]
    assert shown["LLMOTEL_NORMALIZE"] == "add"
    assert shown["OTEL_EXPORTER_OTLP_HEADERS"] == "<hidden>"
    # The distro's own defaults are what the application sees, so they are shown too.
    assert shown["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert report["config"]["distro_defaults"] == [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_PYTHON_CONFIGURATOR",
    ]
    assert "LLMOTEL_REDACTION" not in shown
    plain = _doctor(env, "--offline").stdout
    section = plain.split("configuration", 1)[1].split("\nexporters", 1)[0]
    values = {
        line.split()[0]: line.split()[1:] for line in section.splitlines()[1:] if line.strip()
    }
    assert values["LLMOTEL_NORMALIZE"] == ["add"]
    assert "secret" not in plain
    assert "(default)" not in plain


def test_version_lists_llmotel_and_opentelemetry() -> None:
    result = subprocess.run(
        [str(BIN / "llmotel"), "--version"],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    lines = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    for name in (
        "llmotel-distro",
        "llmotel-sdk",
        "llmotel-semconv",
        "opentelemetry-sdk",
        "opentelemetry-api",
    ):
        assert lines[name] == version(name)
