"""Stress: many app threads against the distro's default export side (redaction on, content on spans).

Loopback only: a stub LLM server and an OTLP/HTTP receiver in this process, the app in a subprocess under
``opentelemetry-instrument``. Bounded: ``--seconds`` of load per mode, then the app's own shutdown.
Prints, per mode, calls made, LLM spans exported, spans lost, raw PII found in the export, and exit time.

    python stress/stress_export.py [--threads 16] [--seconds 20] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from llmotel.testing.otlp import OtlpReceiver
from llmotel.testing.stub import StubServer

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
PII = "stress.user@example.com"


def run_mode(
    name: str, extra_env: dict[str, str], threads: int, seconds: float
) -> dict[str, object]:
    with StubServer() as stub, OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
        env.update(
            {
                "OTEL_PYTHON_DISTRO": "llmotel",
                "OTEL_PYTHON_CONFIGURATOR": "llmotel",
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
                "STUB_OPENAI_URL": stub.openai_base_url,
                **extra_env,
            }
        )
        started = time.monotonic()
        proc = subprocess.run(
            [
                str(BIN / "opentelemetry-instrument"),
                sys.executable,
                str(HERE / "load_app.py"),
                str(threads),
                str(seconds),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 300,
            check=False,
        )
        wall = time.monotonic() - started
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
        result = {
            "mode": name,
            "threads": threads,
            "calls": calls,
            "errors": app["errors"],
            "spans_exported": len(spans),
            "spans_lost": calls - len(spans),
            "exported_pct": round(100.0 * len(spans) / calls, 2) if calls else 0.0,
            "content_removed": shed,
            "raw_pii_spans": leaked,
            "calls_per_s": round(calls / float(app["run_s"]), 1),
            "exit_after_load_s": round(wall - float(app["run_s"]), 2),
            "exit_code": proc.returncode,
            "queue_full_lines": proc.stderr.count("Queue is full")
            + proc.stderr.count("queue is full"),
        }
        print(json.dumps(result), flush=True)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = [
        run_mode("redaction off", {"LLMOTEL_REDACTION": "off"}, args.threads, args.seconds),
        run_mode("redaction on", {"LLMOTEL_REDACTION": "on"}, args.threads, args.seconds),
    ]
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
