"""Per-call cost of the whole distro path, before and after a change, side by side in one run.

    python benchmarks/bench_distro.py --out results.json [--before c981466] [--rounds 5] [--calls 600]

Each variant runs in its own process: real ``openai`` chat calls over HTTP to the llmotel-testing stub server,
llmotel's OpenAI instrumentation, and either the bare SDK (``BatchSpanProcessor`` → OTLP/HTTP) or the distro's
``configure()`` (metrics, tail sampling keeping every trace, the span pipeline → OTLP/HTTP) with redaction off
and on; content is captured on spans (and, in one variant, on log events too, through the log pipeline). The OTLP receiver and the stub run in this process, so what a variant
pays is only its own. Per call it reports the CPU time of the calling thread (``time.thread_time``), of the
export workers (the span and log processors' threads, read through their per-thread CPU clocks, plus the
final flush, which the SDK's batch processor runs on the flushing thread) and of the whole variant process.

``--before REF``: the same variants also run on the llmotel packages as they are at git ``REF``
(``git archive`` into a temporary directory, their ``src`` folders put first on ``PYTHONPATH``), so a change's
before and after are measured in the same run, rounds interleaved; a cost is the median over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_BEFORE = "c981466"
PROMPT = "Summarise the report for jane.doe@example.com, and call +1 212 555 0100 when done."

VARIANTS: dict[str, dict[str, str]] = {
    "bare SDK (BatchSpanProcessor)": {},
    "distro, redaction off": {"LLMOTEL_REDACTION": "off"},
    "distro, redaction on": {"LLMOTEL_REDACTION": "on"},
    "distro, redaction off, content on events": {
        "LLMOTEL_REDACTION": "off",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_AND_EVENT",
        "OTEL_LOGS_EXPORTER": "otlp",
    },
}
_EXPORT_THREADS = ("llmotel-traces-export", "llmotel-logs-export", "OtelBatch")


# -- the variant process -----------------------------------------------------------------------


def _thread_cpu(names: tuple[str, ...]) -> float:
    total = 0.0
    for thread in threading.enumerate():
        if thread.ident is not None and thread.name.startswith(names):
            total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return total


def _variant(name: str, base_url: str, calls: int, warmup: int) -> dict[str, float]:
    from openai import OpenAI
    from opentelemetry import metrics, trace

    from llmotel.instrumentation.openai import OpenAIInstrumentor

    if name.startswith("distro"):
        from llmotel.distro import configure

        providers = configure(set_global=True)
        tracer_provider = providers.tracer_provider
        flush_logs = providers.logger_provider.force_flush
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider())
        flush_logs = tracer_provider.force_flush
    OpenAIInstrumentor().instrument()
    client = OpenAI(base_url=base_url, api_key="test", max_retries=0)
    messages: Any = [{"role": "user", "content": PROMPT}]

    def call() -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    for _ in range(warmup):
        call()
    tracer_provider.force_flush()
    flush_logs()
    export_started = _thread_cpu(_EXPORT_THREADS)
    process_started = time.process_time()
    app_started = time.thread_time()
    for _ in range(calls):
        call()
    app = time.thread_time() - app_started
    flush_started = time.thread_time()
    tracer_provider.force_flush()  # the SDK's batch processor exports on the flushing thread
    flush_logs()
    export = _thread_cpu(_EXPORT_THREADS) - export_started + time.thread_time() - flush_started
    process = time.process_time() - process_started
    return {
        "app_us": app / calls * 1e6,
        "export_us": export / calls * 1e6,
        "process_us": process / calls * 1e6,
    }


# -- the parent ----------------------------------------------------------------------------------


def _checkout(ref: str, into: pathlib.Path) -> list[str]:
    """The ``src`` folders of the llmotel packages at ``ref``, extracted under ``into``."""
    archive = into / "tree.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "packages"],
            stdout=out,
            stderr=subprocess.PIPE,
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return sorted(str(p) for p in (into / "packages").glob("*/src"))


def _run(name: str, paths: list[str] | None, env: dict[str, str], args: argparse.Namespace) -> Any:
    child_env = dict(env, **VARIANTS[name])
    if paths is not None:
        child_env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    command = [sys.executable, __file__, "--variant", name, "--calls", str(args.calls)]
    command += ["--warmup", str(args.warmup), "--base-url", env["BENCH_OPENAI_URL"]]
    proc = subprocess.run(
        command, env=child_env, capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    from llmotel.testing.otlp import OtlpReceiver
    from llmotel.testing.stub import StubServer

    trees: dict[str, list[str] | None] = {"after": None}
    with tempfile.TemporaryDirectory() as tmp, StubServer() as stub, OtlpReceiver() as receiver:
        if args.before:
            try:
                trees = {"before": _checkout(args.before, pathlib.Path(tmp)), **trees}
            except (
                OSError,
                subprocess.CalledProcessError,
            ) as exc:  # no git, or a clone without that commit
                print(f"no 'before' tree ({args.before}): {exc}", file=sys.stderr)
                args.before = ""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
        env.update(
            {
                "BENCH_OPENAI_URL": stub.openai_base_url,
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
                "LLMOTEL_SAMPLING_TAIL": "true",
                "LLMOTEL_SAMPLING_BASELINE_RATIO": "1.0",
            }
        )
        samples: dict[tuple[str, str], list[dict[str, float]]] = {}
        for _ in range(args.rounds):
            for tree, paths in trees.items():
                for name in VARIANTS:
                    if tree == "before" and not name.startswith("distro"):
                        continue  # the bare SDK does not depend on the tree
                    samples.setdefault((name, tree), []).append(_run(name, paths, env, args))
                    receiver.clear()
    rows = {
        f"{name} [{tree}]": {
            key: statistics.median(s[key] for s in runs)
            for key in ("app_us", "export_us", "process_us")
        }
        for (name, tree), runs in samples.items()
    }
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "before": args.before,
        "rounds": args.rounds,
        "calls": args.calls,
        "per_call_cpu_us": rows,
    }


def _table(results: dict[str, Any]) -> str:
    rows = results["per_call_cpu_us"]
    lines = [
        f"distro path, CPU µs per call (median of {results['rounds']} rounds of {results['calls']} calls; "
        f"before = {results['before'] or '-'}, after = this tree)",
        f"  {'variant':52} {'app thread':>10} {'export thread':>13} {'process':>9}",
    ]
    for name in VARIANTS:
        for tree in ("before", "after"):
            row = rows.get(f"{name} [{tree}]")
            if row is not None:
                label = f"{name} [{tree}]"
                lines.append(
                    f"  {label:52} {row['app_us']:10.1f} {row['export_us']:13.1f} {row['process_us']:9.1f}"
                )
    bare = rows.get("bare SDK (BatchSpanProcessor) [after]")
    for name in VARIANTS:
        before, after = rows.get(f"{name} [before]"), rows.get(f"{name} [after]")
        if before and after:
            lines.append(
                f"  {name}: after / before: app {after['app_us'] / before['app_us']:.3f}x, "
                f"export {after['export_us'] / before['export_us']:.3f}x"
            )
        if bare and after and name.startswith("distro"):
            lines.append(
                f"  {name}: added over the bare SDK (after): app {after['app_us'] - bare['app_us']:+.1f} µs, "
                f"export {after['export_us'] - bare['export_us']:+.1f} µs"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, help="where to write JSON")
    parser.add_argument(
        "--before", default=DEFAULT_BEFORE, help="git ref of the 'before' tree ('' for none)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--calls", type=int, default=600, help="measured calls per variant run")
    parser.add_argument("--warmup", type=int, default=150, help="calls before measuring")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        print(json.dumps(_variant(args.variant, args.base_url, args.calls, args.warmup)))
        return 0
    if args.out is None:
        parser.error("--out is required")
    results = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
