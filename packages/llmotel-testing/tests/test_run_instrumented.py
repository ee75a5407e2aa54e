"""``run_instrumented``: code runs under ``opentelemetry-instrument`` in a cleaned environment."""

from __future__ import annotations

import pytest

from llmotel.testing import run_instrumented


def test_runs_code_with_only_the_given_otel_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "leaks-from-the-test-process")
    code = (
        "import os, sys; print(os.environ.get('OTEL_SERVICE_NAME'), 'sitecustomize' in sys.modules)"
    )
    done = run_instrumented(code, {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "True"]  # cleaned; loaded by opentelemetry-instrument
