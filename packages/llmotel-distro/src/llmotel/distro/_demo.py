"""``llmotel demo``: run the demo apps under ``opentelemetry-instrument`` against a local stub LLM server and show
what arrived at a local OTLP receiver — a trace tree per conversation and a per-model token/cost table.

Nothing here is faked: the apps are separate processes using the real ``openai``/``anthropic`` SDKs over HTTP, the
telemetry goes through the llmotel configurator (redaction, sampling, cost on) and real OTLP/HTTP exporters.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from llmotel.distro._cli import Style
from llmotel.metrics import COST_METRIC
from llmotel.metrics import COST_USD as _COST_ATTR
from llmotel.redaction import COUNT_ATTRIBUTE as _REDACTION_COUNT_ATTR

if TYPE_CHECKING:
    from llmotel.testing import Reply
    from llmotel.testing.otlp import OtlpReceiver, ReceivedSpan

__all__ = ["run_demo"]


@dataclass
class DemoApp:
    name: str
    module: str
    requires: str
    replies: Callable[[], Sequence[Reply]] = lambda: ()
    min_python: tuple[int, int] = (3, 11)
    env: dict[str, str] = field(default_factory=dict)

    def missing(self) -> str | None:
        if sys.version_info < self.min_python:
            return f"needs Python {self.min_python[0]}.{self.min_python[1]}+"
        try:
            importlib.import_module(self.requires)
        except Exception as exc:  # noqa: BLE001 - a half-installed SDK is "missing" too, whatever it raises
            return f"{self.requires} cannot be imported ({exc.__class__.__name__}: {exc})"
        return None


def _openai_replies() -> Sequence[Reply]:
    from llmotel.testing import text_reply, tool_call_reply

    return (
        text_reply(
            "Sorry about that, Jane. I have noted jane.doe@example.com and will look into the double charge."
        ),
        tool_call_reply("lookup_order", {"order_id": "A-1042"}),
        text_reply(
            "The refund for order A-1042 was issued; it reaches card ending 1111 in 3-5 days."
        ),
    )


def _apps() -> list[DemoApp]:
    return [
        DemoApp("openai", "llmotel.distro.demo.openai_app", "openai", _openai_replies),
        DemoApp("anthropic", "llmotel.distro.demo.anthropic_app", "anthropic"),
        DemoApp(
            "llmgine", "llmotel.distro.demo.llmgine_app", "llmgine.bus.bus", min_python=(3, 12)
        ),
    ]


def _instrument_command() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    return here if os.path.exists(here) else (shutil.which("opentelemetry-instrument") or here)


def demo_environment(
    stub_openai: str, stub_anthropic: str, otlp_url: str, service: str
) -> dict[str, str]:
    """The environment the demo apps run in: everything the distro offers switched on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    env.update(
        {
            "OPENAI_BASE_URL": stub_openai,
            "OPENAI_API_KEY": "sk-demo-not-a-real-key",
            "ANTHROPIC_BASE_URL": stub_anthropic,
            "ANTHROPIC_API_KEY": "sk-ant-demo-not-a-real-key",
            "OTEL_SERVICE_NAME": service,
            "OTEL_PYTHON_DISTRO": "llmotel",
            "OTEL_PYTHON_CONFIGURATOR": "llmotel",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url,
            "OTEL_METRIC_EXPORT_INTERVAL": "60000",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
            "OTEL_TRACES_SAMPLER": "llmotel_session",
            "OTEL_TRACES_SAMPLER_ARG": "1.0",
            "LLMOTEL_REDACTION": "on",
            "LLMOTEL_METRICS": "on",
            "LLMOTEL_SAMPLING_TAIL": "true",
            "LLMOTEL_SAMPLING_BASELINE_RATIO": "1.0",
            "LLMOTEL_SAMPLING_DECISION_WAIT": "5s",
        }
    )
    return env


def run_demo(*, ui: bool = False, as_json: bool = False, out: TextIO | None = None) -> int:
    """Run every demo app whose SDK is installed; print the telemetry received. Returns the exit code."""
    out = out or sys.stdout
    try:
        from llmotel.testing import StubServer
        from llmotel.testing.otlp import OtlpReceiver
    except ImportError:
        sys.stderr.write("llmotel demo needs llmotel-testing: pip install 'llmotel-distro[demo]'\n")
        return 2
    s = Style(out)
    failures = 0
    ran: list[str] = []
    phoenix = None
    if ui:
        from llmotel.distro._phoenix import Phoenix

        phoenix = Phoenix()
        phoenix.start(out)
    with (
        StubServer() as stub,
        OtlpReceiver(forward_to=phoenix.otlp_url if phoenix else None) as receiver,
    ):
        for app in _apps():
            reason = app.missing()
            if reason:
                out.write(s.dim(f"skipping the {app.name} app: {reason}\n"))
                continue
            stub.enqueue(*app.replies())
            env = demo_environment(
                stub.openai_base_url, stub.anthropic_base_url, receiver.url, f"demo-{app.name}"
            )
            env.update(app.env)
            out.write(s.bold(f"running the {app.name} app under opentelemetry-instrument …\n"))
            proc = subprocess.run(
                [_instrument_command(), sys.executable, "-m", app.module],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if proc.returncode != 0:
                failures += 1
                out.write(s.red(f"  the {app.name} app failed (exit {proc.returncode}):\n"))
                out.write(proc.stdout[-4000:] + proc.stderr[-4000:])
                continue
            ran.append(app.name)
        if not ran:
            out.write(s.red("no demo app could run\n"))
            return 1
        receiver.wait_for(lambda r: len(r.spans()) > 0, timeout=10)
        summary = summarize(receiver)
        if as_json:
            json.dump(summary, out, indent=2, default=str)
            out.write("\n")
        else:
            render(summary, receiver.spans(), out)
        if phoenix:
            out.write(
                s.bold(
                    f"\nPhoenix is showing these traces at {phoenix.ui_url} — press Ctrl-C to stop.\n"
                )
            )
            phoenix.wait()
    return 1 if failures else 0


def summarize(receiver: OtlpReceiver) -> dict[str, Any]:
    """Per-model calls, tokens and cost from the metric points received (what a dashboard would show)."""
    models: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for p in receiver.metric_points("gen_ai.client.token.usage"):
        model = str(
            p.attributes.get("gen_ai.response.model") or p.attributes.get("gen_ai.request.model")
        )
        models[model][f"tokens_{p.attributes.get('gen_ai.token.type')}"] += p.sum or 0
    for p in receiver.metric_points("gen_ai.client.operation.duration"):
        model = str(
            p.attributes.get("gen_ai.response.model") or p.attributes.get("gen_ai.request.model")
        )
        models[model]["calls"] += p.count or 0
    for p in receiver.metric_points(COST_METRIC):
        model = str(
            p.attributes.get("gen_ai.response.model") or p.attributes.get("gen_ai.request.model")
        )
        models[model]["cost_usd"] += p.value or 0
    spans = receiver.spans()
    redacted: dict[str, int] = defaultdict(int)
    for span in spans:
        for key, value in span.attributes.items():
            if (
                key.startswith("llmotel.redaction.")
                and key.endswith(".count")
                and key != _REDACTION_COUNT_ATTR
                and isinstance(value, int)
            ):
                entity = key.removeprefix("llmotel.redaction.").removesuffix(".count")
                redacted[entity.upper()] += value
    return {
        "spans": len(spans),
        "traces": len({sp.trace_id for sp in spans}),
        "models": {m: dict(v) for m, v in sorted(models.items())},
        "redacted_entities": dict(redacted),
        "log_records": len(receiver.logs()),
    }


def _span_line(span: ReceivedSpan, s: Style) -> str:
    a = span.attributes
    parts = [s.bold(span.name), s.dim(f"{span.duration_s * 1000:.1f} ms")]
    if "gen_ai.usage.input_tokens" in a or "gen_ai.usage.output_tokens" in a:
        tokens = f"{a.get('gen_ai.usage.input_tokens', 0)} in / {a.get('gen_ai.usage.output_tokens', 0)} out tok"
        if a.get("gen_ai.usage.cache_read.input_tokens"):
            tokens += f" ({a['gen_ai.usage.cache_read.input_tokens']} cached)"
        parts.append(tokens)
    if _COST_ATTR in a:
        parts.append(s.green(f"${float(a[_COST_ATTR]):.6f}"))
    if a.get(_REDACTION_COUNT_ATTR):
        parts.append(s.yellow(f"{a[_REDACTION_COUNT_ATTR]} redacted"))
    if span.status_code == 2:
        parts.append(s.red(f"ERROR {a.get('error.type', '')}"))
    return "  ".join(parts)


def _walk(
    span: ReceivedSpan,
    children: dict[str, list[ReceivedSpan]],
    prefix: str,
    last: bool,
    out: TextIO,
    s: Style,
) -> None:
    out.write(prefix + ("└─ " if last else "├─ ") + _span_line(span, s) + "\n")
    kids = children.get(span.span_id, [])
    for i, kid in enumerate(kids):
        _walk(kid, children, prefix + ("   " if last else "│  "), i == len(kids) - 1, out, s)


def render(summary: dict[str, Any], spans: Sequence[ReceivedSpan], out: TextIO) -> None:
    """The trace tree per conversation, then the per-model table."""
    s = Style(out)
    by_trace: dict[str, list[ReceivedSpan]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    by_session: dict[str, list[str]] = defaultdict(list)
    for trace_id, members in sorted(
        by_trace.items(), key=lambda kv: min(sp.start_time for sp in kv[1])
    ):
        session = next(
            (str(sp.attributes["session.id"]) for sp in members if "session.id" in sp.attributes),
            "-",
        )
        by_session[session].append(trace_id)
    out.write(
        s.bold(f"\n{summary['spans']} spans in {summary['traces']} traces received over OTLP\n")
    )
    for session, trace_ids in by_session.items():
        service = by_trace[trace_ids[0]][0].resource.get("service.name", "?")
        out.write(s.cyan(f"\nconversation {session}") + s.dim(f"  ({service})\n"))
        for trace_id in trace_ids:
            members = sorted(by_trace[trace_id], key=lambda sp: sp.start_time)
            ids = {sp.span_id for sp in members}
            children: dict[str, list[ReceivedSpan]] = defaultdict(list)
            roots = []
            for sp in members:
                if sp.parent_span_id and sp.parent_span_id in ids:
                    children[sp.parent_span_id].append(sp)
                else:
                    roots.append(sp)
            out.write(s.dim(f"  trace {trace_id[:16]}\n"))
            for i, root in enumerate(roots):
                _walk(root, children, "  ", i == len(roots) - 1, out, s)
    out.write(s.bold("\nper model (from the metrics received)\n"))
    header = f"  {'model':<28} {'calls':>5} {'input tok':>10} {'output tok':>10} {'cached':>8} {'cost USD':>12}\n"
    out.write(s.dim(header))
    total = 0.0
    for model, v in summary["models"].items():
        cost = v.get("cost_usd", 0.0)
        total += cost
        out.write(
            f"  {model:<28} {int(v.get('calls', 0)):>5} {int(v.get('tokens_input', 0)):>10} "
            f"{int(v.get('tokens_output', 0)):>10} {int(v.get('tokens_cache_read', 0)):>8} {cost:>12.6f}\n"
        )
    out.write(f"  {'total':<28} {'':>5} {'':>10} {'':>10} {'':>8} {total:>12.6f}\n")
    if summary["redacted_entities"]:
        found = ", ".join(f"{k} x {v}" for k, v in sorted(summary["redacted_entities"].items()))
        out.write(s.bold("\nredacted before export: ") + found + "\n")
