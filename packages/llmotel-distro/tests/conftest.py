from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def clean_env(**overrides: str) -> dict[str, str]:
    """The current environment without any OTEL_/LLMOTEL_ variable, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    env.update(overrides)
    return env


Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def instrumented_python(tmp_path: Path) -> Runner:
    """Run ``opentelemetry-instrument [flags] python -c CODE`` in a clean environment."""

    def run(
        code: str, *, flags: tuple[str, ...] = (), env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "opentelemetry-instrument"), *flags, sys.executable, "-c", code],
            env=clean_env(**(env or {})),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )

    return run
