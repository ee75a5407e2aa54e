"""The README's first command runs ``llmotel demo``: it must work and show real telemetry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_demo_runs_every_app_and_reports_tokens_cost_and_redaction() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    result = subprocess.run(
        [str(BIN / "llmotel"), "demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert set(summary["models"]) == {
        "gpt-4o-mini",
        "gpt-4o",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
    }
    for model, numbers in summary["models"].items():
        assert numbers["calls"] >= 1, model
        assert numbers["tokens_input"] > 0, model
        assert numbers["cost_usd"] > 0, model
    assert summary["models"]["claude-sonnet-4-5"]["tokens_cache_read"] > 0
    for entity in (
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
    ):
        assert summary["redacted_entities"].get(entity, 0) > 0, entity
    assert summary["traces"] >= 5
