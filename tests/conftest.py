"""Shared helpers for the cross-package tests: run a program under ``opentelemetry-instrument`` like a user does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import pytest

BIN = Path(sys.executable).parent
APPS = Path(__file__).parent / "apps"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_instrumented(
    args: list[str], env: Mapping[str, str], *, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``opentelemetry-instrument python ARGS`` with exactly ``env`` on top of a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    # oteltest pulls in opentelemetry-distro: with two distros installed the first found wins, so name ours
    # (as docs/getting-started.md tells users to).
    base["OTEL_PYTHON_DISTRO"] = "llmotel"
    # The integration venv also holds a peer's instrumentor (llmotel-sdk's tests drive OpenInference for real);
    # two instrumentors on one library double every span, so switch the peers off as docs/migration.md says.
    base["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = "openai,anthropic"
    base.update(env)
    return subprocess.run(
        [str(BIN / "opentelemetry-instrument"), sys.executable, *args],
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Instrumented(Protocol):
    def __call__(
        self, args: list[str], env: Mapping[str, str], *, timeout: float = ...
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def instrumented() -> Instrumented:
    """Runs ``opentelemetry-instrument python ARGS`` in a clean environment (see :func:`run_instrumented`)."""
    return run_instrumented


@pytest.fixture
def apps_dir() -> Path:
    """Small apps the cross-package tests run under ``opentelemetry-instrument``."""
    return APPS
