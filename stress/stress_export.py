"""Stress: many app threads against the distro's default export side (redaction on, content on spans).

Loopback only: a stub LLM server and an OTLP/HTTP receiver in this process, the app in a subprocess under
``opentelemetry-instrument`` (and once bare, for the baseline cost of a call). Bounded: ``--seconds`` of load per
mode, then the app's own shutdown. Prints, per mode, calls made, LLM spans exported whole / with content shed /
lost, raw PII found in the export, exit time after the load, and what one call cost its thread (wall and CPU µs).
A mode with metrics exported every 200 ms counts the duration points that reached the receiver against the calls
made (the points wait for each collection: none may be lost to the load or the shutdown). A last mode points the exporters at a closed port: exit time and whether the exporter's failure reached stderr.

    python stress/stress_export.py [--threads 16] [--seconds 20] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from llmotel.testing.otlp import OtlpReceiver
from llmotel.testing.stub import StubServer

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
PII = "stress.user@example.com"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_mode(
    name: str,
    extra_env: dict[str, str],
    threads: int,
    seconds: float,
    *,
    instrumented: bool = True,
    dead_endpoint: bool = False,
) -> dict[str, object]:
    with StubServer() as stub, OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
        endpoint = f"http://127.0.0.1:{_closed_port()}" if dead_endpoint else receiver.url
        env.update(
            {
                "OTEL_PYTHON_DISTRO": "llmotel",
                "OTEL_PYTHON_CONFIGURATOR": "llmotel",
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
                "STUB_OPENAI_URL": stub.openai_base_url,
                **extra_env,
            }
        )
        command = [sys.executable, str(HERE / "load_app.py"), str(threads), str(seconds)]
        if instrumented:
            command.insert(0, str(BIN / "opentelemetry-instrument"))
        proc = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 300, check=False
        )
        ended = time.time()
        try:
            app = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(
                f"{name}: the app printed no result (exit {proc.returncode})"
            ) from None
        receiver.wait_for(lambda r: False, timeout=1.0)
        spans = [s for s in receiver.spans() if s.attributes.get("gen_ai.operation.name") == "chat"]
        leaked = sum(1 for s in spans if PII in json.dumps(dict(s.attributes), default=str))
        shed = sum(1 for s in spans if s.attributes.get("llmotel.pipeline.content_removed"))
        calls = int(app["calls"])
        # Cumulative temporality: the last export of the one series holds every call's point.
        durations = receiver.metric_points("gen_ai.client.operation.duration")
        result = {
            "mode": name,
            "threads": threads,
            "calls": calls,
            "errors": app["errors"],
            "spans_exported": len(spans),
            "spans_whole": len(spans) - shed,
            "spans_content_shed": shed,
            "spans_lost": calls - len(spans),
            "exported_pct": round(100.0 * len(spans) / calls, 2) if calls else 0.0,
            "raw_pii_spans": leaked,
            "duration_points": max((p.count or 0 for p in durations), default=0),
            "metric_exports": len(durations),
            "calls_per_s": round(calls / float(app["run_s"]), 1),
            "call_wall_us": round(float(app["call_wall_us"]), 1),
            "call_cpu_us": round(float(app["call_cpu_us"]), 1),
            "exit_after_load_s": round(ended - float(app["exited_at"]), 2),
            "exit_code": proc.returncode,
            "queue_full_lines": proc.stderr.count("Queue full")
            + proc.stderr.count("queue is full"),
            "shed_log_lines": proc.stderr.count("llmotel.pipeline.shed"),
            "exporter_failure_on_stderr": "Failed to export" in proc.stderr
            or "Transient error" in proc.stderr,
        }
        print(json.dumps(result), flush=True)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="redaction off/on pairs, run alternately (the per-call ratio is the median over rounds)",
    )
    args = parser.parse_args()
    results = [run_mode("uninstrumented", {}, args.threads, args.seconds, instrumented=False)]
    ratios: list[tuple[float, float]] = []
    for _ in range(args.rounds):
        off = run_mode("redaction off", {"LLMOTEL_REDACTION": "off"}, args.threads, args.seconds)
        on = run_mode("redaction on", {"LLMOTEL_REDACTION": "on"}, args.threads, args.seconds)
        results += [off, on]
        ratios.append(
            (
                float(on["call_wall_us"]) / float(off["call_wall_us"]),  # type: ignore[arg-type]
                float(on["call_cpu_us"]) / float(off["call_cpu_us"]),  # type: ignore[arg-type]
            )
        )
        print(
            f"per call, redaction on vs off: wall {on['call_wall_us']} vs {off['call_wall_us']} µs "
            f"({ratios[-1][0]:.3f}x), thread CPU {on['call_cpu_us']} vs {off['call_cpu_us']} µs "
            f"({ratios[-1][1]:.3f}x)",
            flush=True,
        )
    metrics = run_mode(
        "metrics every 200 ms",
        {
            "LLMOTEL_REDACTION": "off",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
        },
        args.threads,
        args.seconds,
    )
    results.append(metrics)
    print(
        f"metrics every 200 ms: {metrics['duration_points']} duration points for {metrics['calls']} calls "
        f"over {metrics['metric_exports']} exports; per call wall {metrics['call_wall_us']} µs, "
        f"CPU {metrics['call_cpu_us']} µs",
        flush=True,
    )
    results.append(
        run_mode(
            "redaction on, exporter down",
            {
                "LLMOTEL_REDACTION": "on",
                "OTEL_METRICS_EXPORTER": "otlp",
                "OTEL_LOGS_EXPORTER": "otlp",
            },
            4,
            min(args.seconds, 3.0),
            dead_endpoint=True,
        )
    )
    wall = statistics.median(r[0] for r in ratios)
    cpu = statistics.median(r[1] for r in ratios)
    print(
        f"median per-call ratio on/off over {args.rounds} round(s): wall {wall:.3f}x, CPU {cpu:.3f}x"
    )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
