"""Run Python code under ``opentelemetry-instrument``, the way a user's app runs (zero code)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping


def run_instrumented(
    code: str, env: Mapping[str, str], *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``opentelemetry-instrument python -c CODE`` with this interpreter, in an environment cleaned
    of every ``OTEL_*`` / ``LLMOTEL_*`` variable and then given ``env``. Read the spans of a
    console exporter (``OTEL_TRACES_EXPORTER=console``) with :func:`console_spans`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    clean.update(env)
    instrument = pathlib.Path(sys.executable).parent / "opentelemetry-instrument"
    return subprocess.run(
        [str(instrument), sys.executable, "-c", code],
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
