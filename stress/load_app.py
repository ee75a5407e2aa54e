"""The app side of stress_export: N threads call one OpenAI client for S seconds, each prompt holding an
e-mail address. Run under ``opentelemetry-instrument`` with the llmotel distro (or bare, for the baseline); prints,
as JSON, the calls made, the load's duration and what one call cost its thread: wall time and CPU time."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from openai import OpenAI

PII = "stress.user@example.com"


def main() -> None:
    threads, seconds = int(sys.argv[1]), float(sys.argv[2])
    client = OpenAI(base_url=os.environ["STUB_OPENAI_URL"], api_key="test", max_retries=0)
    calls = [0] * threads
    errors = [0] * threads
    wall_ns = [0] * threads
    cpu_ns = [0] * threads
    stop = time.monotonic() + seconds

    def hammer(i: int) -> None:
        while time.monotonic() < stop:
            started, cpu_started = time.perf_counter_ns(), time.thread_time_ns()
            try:
                client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": f"Mail {PII} the report, call {i}."}],
                )
                calls[i] += 1
            except Exception:  # noqa: BLE001 - any failed call is counted, the load goes on
                errors[i] += 1
            wall_ns[i] += time.perf_counter_ns() - started
            cpu_ns[i] += time.thread_time_ns() - cpu_started

    workers = [threading.Thread(target=hammer, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(
        json.dumps(
            {
                "calls": sum(calls),
                "errors": sum(errors),
                "run_s": time.monotonic() - started,
                "call_wall_us": sum(wall_ns) / max(sum(calls) + sum(errors), 1) / 1000,
                "call_cpu_us": sum(cpu_ns) / max(sum(calls) + sum(errors), 1) / 1000,
                "exited_at": time.time(),
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
