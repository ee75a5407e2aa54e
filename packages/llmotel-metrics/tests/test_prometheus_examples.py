"""examples/prometheus: the rules pass promtool, and every metric they and the dashboard query is
one the Prometheus exporter really produces from our metrics."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from metrics_helpers import MakeSpan, genai_attributes
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llmotel.metrics import TokenCostMetricsProcessor, genai_views
from llmotel.semconv import attributes as a

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "prometheus"
RULES = EXAMPLES / "llmotel-alerts.yml"
RULE_TESTS = EXAMPLES / "llmotel-alerts.test.yml"
DASHBOARD = EXAMPLES / "grafana-dashboard.json"
PROMTOOL = shutil.which("promtool") or "promtool"

pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="examples/prometheus is only in the repository checkout"
)
# nox installs promtool (see [tool.llmotel] apt in this package's pyproject); only a hand-run outside nox skips.
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None and not os.environ.get("CI"),
    reason="promtool not found: install the Debian package 'prometheus' (apt-get install)",
)
# Metric names in PromQL: ours and the GenAI semantic-convention ones.
_METRIC = re.compile(r"\b((?:llmotel|gen_ai)_[a-zA-Z0-9_]*)\b")
_LABEL_NAMES = {
    "gen_ai_provider_name",
    "gen_ai_request_model",
    "gen_ai_token_type",
    "llmotel_cost_type",
}


@needs_promtool
def test_promtool_check_rules() -> None:
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


@needs_promtool
def test_alerts_fire_as_their_unit_tests_say() -> None:
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def exposition(tracer_provider: TracerProvider, make_span: MakeSpan) -> Iterator[str]:
    """A Prometheus scrape of our metrics after a priced, an unpriced and a failed call."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import REGISTRY, generate_latest

    reader = PrometheusMetricReader()
    meters = MeterProvider(metric_readers=[reader], views=genai_views())
    tracer_provider.add_span_processor(TokenCostMetricsProcessor(meters, latest_experimental=False))
    make_span(genai_attributes())
    make_span(genai_attributes(model="acme-llm-7", response_model=None))
    make_span(genai_attributes(input_tokens=None, output_tokens=None), error="TimeoutError")
    try:
        yield generate_latest(REGISTRY).decode()
    finally:
        meters.shutdown()


def _queried_metrics(text: str) -> set[str]:
    names = set(_METRIC.findall(text)) - _LABEL_NAMES
    return {n for n in names if not n.startswith(("gen_ai_operation_", "gen_ai_response_"))}


def test_rules_and_dashboard_query_metrics_the_exporter_produces(exposition: str) -> None:
    exposed = {
        line.split("{")[0].split(" ")[0] for line in exposition.splitlines() if line[:1] != "#"
    }
    assert "llmotel_client_cost_USD_total" in exposed
    assert "llmotel_client_cost_unpriced_total" in exposed
    assert "gen_ai_client_operation_duration_seconds_bucket" in exposed
    assert "gen_ai_client_token_usage_sum" in exposed
    assert 'error_type="TimeoutError"' in exposition

    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [r["expr"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    queried = _queried_metrics("\n".join(exprs))
    assert queried, "no metric found in the rules"
    assert queried <= exposed, sorted(queried - exposed)


def test_dashboard_is_importable_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "llmotel-genai-cost"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["targets"] for p in dashboard["panels"])
    assert a.GEN_AI_PROVIDER_NAME.replace(".", "_") in DASHBOARD.read_text()
