"""``llmotel demo``: run the demo apps under ``opentelemetry-instrument`` against a local stub LLM server and show
what arrived at a local OTLP receiver: a trace tree per conversation (with the tail-sampling policy that kept each
trace and the entities redacted from each span), a per-model token/cost table from the metrics, the traces the tail
sampler dropped (from its ``llmotel.sampling.decisions`` counter, per service) and one user message as exported.

Nothing here is faked: the apps are separate processes using the real ``openai``/``anthropic`` SDKs over HTTP, the
telemetry goes through the llmotel configurator (redaction, sampling, cost on) and real OTLP/HTTP exporters.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from opentelemetry.sdk.resources import SERVICE_NAME

from llmotel.distro._cli import Style
from llmotel.metrics import COST_METRIC
from llmotel.metrics import COST_USD as _COST_ATTR
from llmotel.redaction import COUNT_ATTRIBUTE as _REDACTION_COUNT_ATTR
from llmotel.redaction import entity_count_attribute
from llmotel.semconv import attributes as A
from llmotel.semconv import extensions as ext
from llmotel.semconv import metrics as M
from llmotel.semconv.messages import decode_input_messages

if TYPE_CHECKING:
    from llmotel.testing import Reply, StubServer
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


def _anthropic_replies() -> Sequence[Reply]:
    from llmotel.testing import error_reply

    # The app's first call meets an overloaded API (HTTP 529); the rest get the stub's default answers.
    return (error_reply(529),)


def _apps() -> list[DemoApp]:
    return [
        DemoApp("openai", "llmotel.distro.demo.openai_app", "openai", _openai_replies),
        DemoApp("anthropic", "llmotel.distro.demo.anthropic_app", "anthropic", _anthropic_replies),
        DemoApp(
            "llmgine", "llmotel.distro.demo.llmgine_app", "llmgine.bus.bus", min_python=(3, 12)
        ),
        # mcp 1.x: llmotel's instrumentation (2.x traces itself, and llmotel stands aside there).
        DemoApp("mcp", "llmotel.distro.demo.mcp_app", "mcp.server.fastmcp"),
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
            # Tail sampling with policies that keep some traces and drop others, so the demo can show
            # each decision: errors, traces over 500 tokens or $0.0002, every trace of user-1001;
            # nothing else (baseline 0).
            "LLMOTEL_SAMPLING_TAIL": "true",
            "LLMOTEL_SAMPLING_KEEP_ERRORS": "true",
            "LLMOTEL_SAMPLING_TOKENS_THRESHOLD": "500",
            "LLMOTEL_SAMPLING_COST_THRESHOLD_USD": "0.0002",
            "LLMOTEL_SAMPLING_KEEP": "user.id=user-1001",
            "LLMOTEL_SAMPLING_BASELINE_RATIO": "0",
            "LLMOTEL_SAMPLING_DECISION_WAIT": "5s",
            # Peers' instrumentors (entry points "openai", "anthropic", "mcp"), if installed, would double
            # every span.
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai,anthropic,mcp",
        }
    )
    return env


SAMPLING_POLICIES = "errors, traces of 500+ tokens or $0.0002+, user.id=user-1001; baseline 0"


def run_demo(*, ui: bool = False, as_json: bool = False, out: TextIO | None = None) -> int:
    """Run every demo app whose SDK is installed; print the telemetry received. Returns the exit code.

    SIGTERM ends it like Ctrl-C does (``SystemExit``/``KeyboardInterrupt`` unwind the ``with`` blocks): the
    app being run, Phoenix and Phoenix's working folder never outlive the demo.
    """
    out = out or sys.stdout
    try:
        from llmotel.testing import StubServer
        from llmotel.testing.otlp import OtlpReceiver
    except ImportError:
        sys.stderr.write("llmotel demo needs llmotel-testing: pip install 'llmotel-distro[demo]'\n")
        return 2
    from llmotel.distro._phoenix import exit_on_sigterm

    try:
        with exit_on_sigterm():
            return _run(StubServer, OtlpReceiver, ui=ui, as_json=as_json, out=out)
    except KeyboardInterrupt:
        return 130


def _run(
    stub_server: type[StubServer],
    otlp_receiver: type[OtlpReceiver],
    *,
    ui: bool,
    as_json: bool,
    out: TextIO,
) -> int:
    from llmotel.distro._phoenix import Phoenix

    s = Style(out)
    failures = 0
    ran: list[str] = []
    with contextlib.ExitStack() as stack:
        phoenix = None
        if ui:
            phoenix = Phoenix()
            stack.callback(phoenix.stop)
            phoenix.start(out)
        stub = stack.enter_context(stub_server())
        receiver = stack.enter_context(
            otlp_receiver(forward_to=phoenix.otlp_url if phoenix else None)
        )
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
            out.flush()
            proc = subprocess.run(
                [_instrument_command(), sys.executable, "-m", app.module],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            stub.reset()
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
            out.flush()
            phoenix.wait()
    return 1 if failures else 0


def _model(attributes: Mapping[str, Any]) -> str:
    return str(attributes.get(A.GEN_AI_RESPONSE_MODEL) or attributes.get(A.GEN_AI_REQUEST_MODEL))


_ENTITY_PREFIX, _ENTITY_SUFFIX = entity_count_attribute("ENTITY").split("entity")


def redacted_entities(attributes: Mapping[str, Any]) -> dict[str, int]:
    """Entity type -> how many the redaction stage replaced on a span (from its count attributes)."""
    found: dict[str, int] = {}
    for key, value in attributes.items():
        if (
            key.startswith(_ENTITY_PREFIX)
            and key.endswith(_ENTITY_SUFFIX)
            and key != _REDACTION_COUNT_ATTR
            and isinstance(value, int)
        ):
            found[key.removeprefix(_ENTITY_PREFIX).removesuffix(_ENTITY_SUFFIX).upper()] = value
    return found


def _redacted_message(spans: Sequence[ReceivedSpan]) -> dict[str, str] | None:
    """The first user message, as exported, of the first span whose input was redacted."""
    for span in sorted(spans, key=lambda sp: sp.start_time):
        value = span.attributes.get(A.GEN_AI_INPUT_MESSAGES)
        if not value or not redacted_entities(span.attributes):
            continue
        try:
            messages = decode_input_messages(value)
        except ValueError:
            continue
        for message in messages:
            text = " ".join(
                str(getattr(part, "content", ""))
                for part in message.parts
                if hasattr(part, "content")
            )
            if message.role == "user" and "<" in text:
                return {
                    "span": span.name,
                    "service": str(span.resource.get(SERVICE_NAME)),
                    "text": text,
                }
    return None


def _sampling(receiver: OtlpReceiver, spans: Sequence[ReceivedSpan]) -> dict[str, Any]:
    """What the tail sampler decided: the policy that kept each exported trace, and the drops per service."""
    kept: dict[str, str] = {}
    for span in spans:
        policy = span.attributes.get(ext.LLMOTEL_SAMPLING_POLICY)
        if policy is not None:
            kept[span.trace_id] = str(policy)
    dropped: dict[str, int] = defaultdict(int)
    decided = 0
    for p in receiver.metric_points(ext.LLMOTEL_SAMPLING_DECISIONS):
        decided += int(p.value or 0)
        if p.attributes.get(ext.LLMOTEL_SAMPLING_DECISION) == "drop":
            dropped[str(p.resource.get(SERVICE_NAME))] += int(p.value or 0)
    return {
        "policies": SAMPLING_POLICIES,
        "decided": decided,
        "kept": kept,
        "kept_by_policy": dict(Counter(kept.values())),
        "dropped_by_service": dict(dropped),
    }


def summarize(receiver: OtlpReceiver) -> dict[str, Any]:
    """Per-model calls, tokens and cost from the metric points received (what a dashboard would show),
    what the tail sampler kept and dropped, and what was redacted."""
    models: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for p in receiver.metric_points(M.GEN_AI_CLIENT_TOKEN_USAGE):
        models[_model(p.attributes)][f"tokens_{p.attributes.get(A.GEN_AI_TOKEN_TYPE)}"] += (
            p.sum or 0
        )
    for p in receiver.metric_points(M.GEN_AI_CLIENT_OPERATION_DURATION):
        models[_model(p.attributes)]["calls"] += p.count or 0
    for p in receiver.metric_points(COST_METRIC):
        models[_model(p.attributes)]["cost_usd"] += p.value or 0
    spans = receiver.spans()
    redacted: dict[str, int] = defaultdict(int)
    for span in spans:
        for entity, count in redacted_entities(span.attributes).items():
            redacted[entity] += count
    return {
        "spans": len(spans),
        "traces": len({sp.trace_id for sp in spans}),
        "models": {m: dict(v) for m, v in sorted(models.items())},
        "redacted_entities": dict(redacted),
        "redacted_message": _redacted_message(spans),
        "sampling": _sampling(receiver, spans),
        "log_records": len(receiver.logs()),
    }


def _span_line(span: ReceivedSpan, s: Style, service: object = None) -> str:
    """One span of a tree; ``service`` is the tree's: a span of another process says its own."""
    a = span.attributes
    parts = [s.bold(span.name), s.dim(f"{span.duration_s * 1000:.1f} ms")]
    own = span.resource.get(SERVICE_NAME)
    if service is not None and own != service:
        parts.append(s.cyan(f"in {own}"))
    if A.GEN_AI_USAGE_INPUT_TOKENS in a or A.GEN_AI_USAGE_OUTPUT_TOKENS in a:
        tokens = f"{a.get(A.GEN_AI_USAGE_INPUT_TOKENS, 0)} in / {a.get(A.GEN_AI_USAGE_OUTPUT_TOKENS, 0)} out tok"
        if a.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS):
            tokens += f" ({a[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]} cached)"
        parts.append(tokens)
    if _COST_ATTR in a:
        parts.append(s.green(f"${float(a[_COST_ATTR]):.6f}"))
    entities = redacted_entities(a)
    if entities:
        found = ", ".join(f"{count} {entity}" for entity, count in sorted(entities.items()))
        parts.append(s.yellow(f"redacted {found}"))
    if span.status_code == 2:
        parts.append(s.red(f"ERROR {a.get(A.ERROR_TYPE, '')}"))
    return "  ".join(parts)


def _walk(
    span: ReceivedSpan,
    children: dict[str, list[ReceivedSpan]],
    prefix: str,
    last: bool,
    out: TextIO,
    s: Style,
    service: object,
) -> None:
    out.write(prefix + ("└─ " if last else "├─ ") + _span_line(span, s, service) + "\n")
    kids = children.get(span.span_id, [])
    for i, kid in enumerate(kids):
        _walk(
            kid, children, prefix + ("   " if last else "│  "), i == len(kids) - 1, out, s, service
        )


def render(summary: dict[str, Any], spans: Sequence[ReceivedSpan], out: TextIO) -> None:
    """The trace tree per conversation (each trace with the policy that kept it), the per-model table, what the
    tail sampler dropped, what was redacted and one redacted message as it was exported."""
    s = Style(out)
    sampling = summary["sampling"]
    by_trace: dict[str, list[ReceivedSpan]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    by_session: dict[str, list[str]] = defaultdict(list)
    for trace_id, members in sorted(
        by_trace.items(), key=lambda kv: min(sp.start_time for sp in kv[1])
    ):
        session = next(
            (str(sp.attributes[A.SESSION_ID]) for sp in members if A.SESSION_ID in sp.attributes),
            "-",
        )
        by_session[session].append(trace_id)
    out.write(
        s.bold(f"\n{summary['spans']} spans in {summary['traces']} traces received over OTLP\n")
    )
    for session, trace_ids in by_session.items():
        first = min(by_trace[trace_ids[0]], key=lambda sp: sp.start_time)  # a root's: its app's
        service = first.resource.get(SERVICE_NAME, "?")
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
            policy = sampling["kept"].get(trace_id)
            kept = s.green(f"  kept by tail sampling: {policy}") if policy else ""
            out.write(s.dim(f"  trace {trace_id[:16]}") + kept + "\n")
            for i, root in enumerate(roots):
                _walk(root, children, "  ", i == len(roots) - 1, out, s, service)
    out.write(s.bold("\nper model (from the metrics received: every call, kept or dropped)\n"))
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

    out.write(s.bold("\ntail sampling") + s.dim(f" (keeps {sampling['policies']})\n"))
    kept_by = ", ".join(f"{n} by {p}" for p, n in sorted(sampling["kept_by_policy"].items()))
    out.write(
        f"  kept {len(sampling['kept'])} of {sampling['decided']} traces: {kept_by or 'none'}\n"
    )
    for service, count in sorted(sampling["dropped_by_service"].items()):
        out.write(
            s.yellow(f"  dropped {count} trace{'s' if count != 1 else ''} of {service}")
            + ": no policy kept it (its calls still count in the metrics above)\n"
        )
    if summary["redacted_entities"]:
        found = ", ".join(f"{v} {k}" for k, v in sorted(summary["redacted_entities"].items()))
        out.write(s.bold("\nredacted before export: ") + found + "\n")
    example = summary.get("redacted_message")
    if example:
        out.write(
            s.dim(f"  a user message as exported ({example['span']}, {example['service']}):\n")
            + f"    {example['text']}\n"
        )
