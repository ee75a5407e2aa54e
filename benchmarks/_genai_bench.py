"""What the per-SDK overhead benchmarks share (``bench_anthropic.py``, ``bench_bedrock.py``,
``bench_google_genai.py``, ``bench_litellm.py``, ``bench_mistralai.py``).

A benchmark script describes its SDK (a :class:`Spec`: the SDK pin, our instrumentor, the peers and
the calls to time) and hands it to :func:`main`. Each contender runs in a worker process (this
Python for llmotel; for a peer, a venv created once with ``uv`` under the system temp dir) against
one stub server in a process of its own. For every call kind the worker times single calls in
alternating order, one with instrumentation suppressed (``_SUPPRESS_INSTRUMENTATION_KEY``: a
wrapper returns at its first check) and one instrumented, and reports the median of the paired
differences with their interquartile range — wall time and CPU time of the calling thread — and
the CPU a call costs later, when the metric reader collects (counted in the "incl. collection"
ratio). A contender that ignores suppression is measured with blocks of calls between
``instrument()`` and ``uninstrument()`` instead. It also counts the spans one call makes (a
contender that makes none has nothing to compare). The contenders' workers run in interleaved
rounds (``--rounds``, 3 by default, the pairs split among them; each round starts with the next
contender), and each figure is the median of a contender's rounds: on a shared machine a busy
minute then moves every contender's figures a little instead of one contender's a lot. Every
contender runs with its default settings. ``llmotel-nometrics`` is llmotel given a
``NoOpMeterProvider`` (no metric points recorded), measured in the same run beside the default
``llmotel``: the like-for-like figure against peers that record no metrics.

Only the standard library is imported at the top: the workers import this module in the peers'
venvs, which hold only the SDK, the peer, ``opentelemetry-sdk`` and ``psutil``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Call = Callable[[], None]
# llmotel with a NoOpMeterProvider: spans only, like-for-like with peers that record no metrics
NO_METRICS = "llmotel-nometrics"


@dataclass(frozen=True)
class Spec:
    """One SDK's benchmark.

    ``calls(base_url)`` builds the timed calls (name → a no-argument callable; an async call is
    given as a coroutine function and run on a private loop) against the stub at ``base_url``
    (the stub's root URL plus ``url_suffix``). ``ours`` and each of ``peers`` are
    ``(module, class)`` of an instrumentor; ``peers`` maps a name to its requirements and that;
    ``local`` are our distributions (paths from the repository root) that llmotel's venv installs.
    ``sdk`` pins the SDK; a peer that cannot run on it gets its own pin in ``peer_sdk``, and
    llmotel is then measured on that pin as well, so every ratio compares runs on one SDK.
    ``in_situ(base_url)`` (for ``--in-situ``) records one real answer per SDK method and returns
    ``(class, method, fake)`` triples: each fake returns that answer. The worker puts the fakes
    innermost, under every contender's wrapper, so a timed call costs the instrumentation and
    nothing of the SDK's own work or the HTTP round trip, whose jitter dwarfs it.
    """

    sdk: str
    ours: tuple[str, str]
    peers: Mapping[str, tuple[list[str], str, str]]
    calls: Callable[[str], Mapping[str, Callable[[], Any]]]
    local: tuple[str, ...] = ()
    url_suffix: str = ""
    pairs: Mapping[str, int] = field(default_factory=dict)
    peer_sdk: Mapping[str, str] = field(default_factory=dict)
    in_situ: Callable[[str], list[tuple[Any, str, Callable[..., Any]]]] | None = None


def usual_peers(
    sdk: str, openllmetry: str, openinference: str | None = None
) -> dict[str, tuple[list[str], str, str]]:
    """``Spec.peers`` of OpenLLMetry's and OpenInference's instrumentation of ``sdk`` (its name in
    their distribution and module names, ``-`` / ``_`` as each needs), given their instrumentor
    classes (``openinference`` defaults to OpenLLMetry's class name)."""
    dist, module = sdk.replace("_", "-"), sdk.replace("-", "_")
    return {
        "openllmetry": (
            [f"opentelemetry-instrumentation-{dist}"],
            f"opentelemetry.instrumentation.{module}",
            openllmetry,
        ),
        "openinference": (
            [f"openinference-instrumentation-{dist}"],
            f"openinference.instrumentation.{module}",
            openinference or openllmetry,
        ),
    }


class _Drop:
    """A span exporter that drops everything: export cost is not what we measure."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _spread(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return statistics.median(values), 0.0
    q = statistics.quantiles(values, n=4)
    return statistics.median(values), q[2] - q[0]


def _suppressed(call: Call) -> None:
    from opentelemetry import context

    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        call()
    finally:
        context.detach(token)


def _timed(call: Call) -> tuple[int, int]:
    w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
    call()
    return time.perf_counter_ns() - w0, time.thread_time_ns() - c0


def _summary(on: list[tuple[int, int]], off: list[tuple[int, int]]) -> dict[str, float]:
    wall, wall_iqr = _spread([(a[0] - b[0]) / 1000 for a, b in zip(on, off, strict=True)])
    cpu, cpu_iqr = _spread([(a[1] - b[1]) / 1000 for a, b in zip(on, off, strict=True)])
    return {
        "baseline_wall_us": statistics.median(b[0] / 1000 for b in off),
        "added_wall_us": wall,
        "added_wall_iqr_us": wall_iqr,
        "added_cpu_us": cpu,
        "added_cpu_iqr_us": cpu_iqr,
    }


def _pairs(call: Call, n: int) -> dict[str, float]:
    """``n`` pairs of single calls in alternating order: suppressed, then instrumented. The cyclic
    garbage collector runs between every 20 pairs, not inside a timed call."""
    for _ in range(10):
        call()
        _suppressed(call)
    on: list[tuple[int, int]] = []
    off: list[tuple[int, int]] = []
    gc.disable()
    try:
        for i in range(n):
            if i % 20 == 0:
                gc.collect()
            _pair(call, i, on, off)
    finally:
        gc.enable()
    return _summary(on, off)


def _pair(call: Call, i: int, on: list[tuple[int, int]], off: list[tuple[int, int]]) -> None:
    if i % 2:
        on.append(_timed(call))
        off.append(_timed(lambda: _suppressed(call)))
    else:
        off.append(_timed(lambda: _suppressed(call)))
        on.append(_timed(call))


def _blocks(call: Call, instrument: Call, uninstrument: Call, n: int) -> dict[str, float]:
    """For a contender that ignores suppression: rounds of two blocks of calls, uninstrumented
    and instrumented in ABBA order; the pairs are the blocks' medians."""
    block = 10
    on: list[tuple[int, int]] = []
    off: list[tuple[int, int]] = []
    for r in range(max(4, n // block)):
        for instrumented in (False, True) if r % 2 == 0 else (True, False):
            if instrumented:
                instrument()
            times = [_timed(call) for _ in range(block)]
            if instrumented:
                uninstrument()
            median = (
                int(statistics.median(t[0] for t in times)),
                int(statistics.median(t[1] for t in times)),
            )
            (on if instrumented else off).append(median)
    return _summary(on, off)


def _collect_cost(call: Call, reader: Any, n: int = 20) -> float:
    """CPU µs per call spent later, when the metric reader collects (llmotel records a call's
    metric points then): one collection after ``n`` calls minus one after none."""
    reader.get_metrics_data()

    def collect() -> int:
        c0 = time.thread_time_ns()
        reader.get_metrics_data()
        return time.thread_time_ns() - c0

    idle = statistics.median(collect() for _ in range(5))
    costs = []
    for _ in range(5):
        for _ in range(n):
            call()
        costs.append(collect() - idle)
    return max(0.0, statistics.median(costs) / n / 1000)


def _innermost(owner: Any, name: str, fake: Callable[..., Any]) -> None:
    """Make ``fake`` what the wrappers of ``owner.name`` (if any) finally call."""
    import wrapt

    holder, current = None, vars(owner)[name]
    while isinstance(current, wrapt.FunctionWrapper):
        holder, current = current, current.__wrapped__
    if holder is None:
        setattr(owner, name, fake)
    else:
        holder.__wrapped__ = fake


def worker(spec: Spec, name: str, base_url: str, scale: float, in_situ: bool) -> dict[str, Any]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    class Count(SpanProcessor):
        ended = 0

        def on_end(self, span: Any) -> None:
            Count.ended += 1

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(_Drop()))  # type: ignore[arg-type]
    tracer_provider.add_span_processor(Count())
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider([reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    module, cls = spec.ours if name.startswith("llmotel") else spec.peers[name][1:]
    inst = getattr(__import__(module, fromlist=[cls]), cls)()
    instrumented_meters = metrics.NoOpMeterProvider() if name == NO_METRICS else meter_provider

    def instrument() -> None:
        inst.instrument(tracer_provider=tracer_provider, meter_provider=instrumented_meters)

    loop = asyncio.new_event_loop()
    calls: dict[str, Call] = {}
    for kind, fn in spec.calls(base_url).items():
        if asyncio.iscoroutinefunction(fn):
            make: Callable[[], Coroutine[Any, Any, Any]] = fn
            calls[kind] = lambda make=make: loop.run_until_complete(make())  # type: ignore[misc]
        else:
            calls[kind] = fn

    result: dict[str, Any] = {"contender": name, "spans_per_call": {}}
    fakes = spec.in_situ(base_url) if in_situ and spec.in_situ is not None else []
    instrument()
    for owner, method, fake in fakes:
        _innermost(owner, method, fake)
    first = next(iter(calls.values()))
    before = Count.ended
    _suppressed(first)
    honours = Count.ended == before
    for kind, call in calls.items():
        before = Count.ended
        call()
        result["spans_per_call"][kind] = Count.ended - before
    result["method"] = "per-call pairs" if honours else "blocks"
    if not honours:
        inst.uninstrument()
    for kind, call in calls.items():
        n = max(8, int(spec.pairs.get(kind, 300) * scale))
        result[kind] = (
            _pairs(call, n) if honours else _blocks(call, instrument, inst.uninstrument, n)
        )
    if not honours:
        instrument()
    for kind, call in calls.items():
        result[kind]["collect_cpu_us"] = _collect_cost(call, reader)
    inst.uninstrument()
    loop.close()
    return result


# -- driver -------------------------------------------------------------------------------------


def _venv(spec: Spec, name: str, sdk: str) -> pathlib.Path | None:
    """The Python of ``name``'s venv for SDK pin ``sdk``, created with uv on first use (ours
    installs our distributions editable, so it always runs this checkout); ``None`` when it can't
    be made."""
    uv = shutil.which("uv")
    repo = pathlib.Path(__file__).resolve().parent.parent
    # Ours is an editable install of one checkout: its venv is that checkout's alone.
    ours = name.startswith("llmotel")
    key = f"llmotel-{hashlib.sha1(str(repo).encode()).hexdigest()[:8]}" if ours else name
    root = pathlib.Path(tempfile.gettempdir()) / "llmotel-bench-peers" / f"{sdk}-{key}"
    python = root / "bin" / "python"
    if python.exists():
        return python
    if uv is None:
        print(f"  {name}: skipped (uv not found)", file=sys.stderr)
        return None
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    if ours:
        own = [arg for path in spec.local for arg in ("-e", str(repo / path))]
    else:
        own = spec.peers[name][0]
    reqs = [sdk, "opentelemetry-sdk", "psutil", *own]
    try:
        subprocess.run(
            [uv, "venv", "-q", "--python", sys.executable, str(root)], check=True, env=env
        )
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(python), *reqs], check=True, env=env
        )
    except subprocess.CalledProcessError as exc:
        print(f"  {name}: skipped (venv setup failed: {exc})", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
        return None
    return python


def _kinds(result: Mapping[str, Any]) -> list[str]:
    return [k for k, v in result.items() if isinstance(v, dict) and "added_wall_us" in v]


def _table(results: list[dict[str, Any]]) -> str:
    kinds = _kinds(results[0])
    head = "".join(f"{k + ' wall':>18}{k + ' cpu':>11}" for k in kinds)
    lines = [
        "added per call: median of paired differences (IQR), wall / CPU of the calling thread, µs",
        f"{'contender':<19}{'sdk':<18}{head}  spans/call",
    ]
    for r in results:
        cells = "".join(
            f"{r[k]['added_wall_us']:>10.0f} ({r[k]['added_wall_iqr_us']:>5.0f})"
            f"{r[k]['added_cpu_us']:>11.0f}"
            for k in kinds
        )
        spans = ",".join(str(r["spans_per_call"][k]) for k in kinds)
        lines.append(f"{r['contender']:<19}{r['sdk']:<18}{cells}  {spans}")
    for sdk in dict.fromkeys(r["sdk"] for r in results):
        peers = [r for r in results if not r["contender"].startswith("llmotel") and r["sdk"] == sdk]
        for ours in (
            r for r in results if r["contender"].startswith("llmotel") and r["sdk"] == sdk
        ):
            if peers:
                lines += _ratios(ours, peers, kinds, sdk)
    return "\n".join(lines)


def _ratios(
    ours: Mapping[str, Any], peers: list[dict[str, Any]], kinds: list[str], sdk: str
) -> list[str]:
    """The ratio lines of one llmotel row against the lightest peer of each call kind."""
    name = ours["contender"]
    lines: list[str] = []
    for key, label in (("added_wall_us", "wall"), ("added_cpu_us", "CPU")):
        ratios = []
        for kind in kinds:
            # The lightest peer that makes a span for this call; a negative median is noise.
            values = [p[kind][key] for p in peers if p["spans_per_call"][kind] and p[kind][key] > 0]
            ratio = f"{ours[kind][key] / min(values):.2f}" if values else "n/a"
            ratios.append(f"{kind} {ratio}")
        lines.append(f"{sdk}: {name} / lightest peer ({label}; target ≤ 0.50): {', '.join(ratios)}")
    later = ", ".join(f"{k} {ours[k].get('collect_cpu_us', 0.0):.0f}" for k in kinds)
    lines.append(f"{sdk}: {name} CPU spent later, at metric collection (µs per call): {later}")
    ratios = []
    for kind in kinds:
        values = [
            p[kind]["added_cpu_us"] + p[kind].get("collect_cpu_us", 0.0)
            for p in peers
            if p["spans_per_call"][kind] and p[kind]["added_cpu_us"] > 0
        ]
        total = ours[kind]["added_cpu_us"] + ours[kind].get("collect_cpu_us", 0.0)
        ratios.append(f"{kind} {total / min(values):.2f}" if values else f"{kind} n/a")
    lines.append(
        f"{sdk}: {name} / lightest peer (CPU incl. collection; target ≤ 0.50): " + ", ".join(ratios)
    )
    baseline = ", ".join(f"{k} {ours[k]['baseline_wall_us']:.0f} µs" for k in kinds)
    lines.append(f"{sdk}: uninstrumented call ({name} run): {baseline}")
    return lines


def _combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One contender's result from its rounds: each figure the median of the rounds' figures (a
    round that ran while the machine was busier moves none of them)."""
    combined = dict(rounds[0])
    for kind in _kinds(rounds[0]):
        combined[kind] = {
            key: statistics.median(r[kind][key] for r in rounds) for key in rounds[0][kind]
        }
    combined["rounds"] = len(rounds)
    return combined


def _measure(
    spec: Spec, script: str, url: str, args: argparse.Namespace, in_situ: bool
) -> list[dict[str, Any]]:
    """Every contender's figures: ``args.rounds`` rounds, each running every contender's worker
    once (``1 / rounds`` of the pairs), the order rotated round by round, so that a slow minute of
    the machine falls on all of them rather than on the one that ran then."""
    peers = [p for p in args.peers.split(",") if p]
    contenders: list[tuple[str, str]] = []
    for sdk in dict.fromkeys([spec.sdk, *(spec.peer_sdk.get(p, spec.sdk) for p in peers)]):
        contenders += [("llmotel", sdk), (NO_METRICS, sdk)]
        contenders += [(p, sdk) for p in peers if spec.peer_sdk.get(p, spec.sdk) == sdk]
    pythons = {c: python for c in contenders if (python := _venv(spec, c[0], c[1])) is not None}
    contenders = [c for c in contenders if c in pythons]
    mode = "in situ" if in_situ else "over HTTP"
    scale = args.scale / args.rounds
    rounds: dict[tuple[str, str], list[dict[str, Any]]] = {c: [] for c in contenders}
    for r in range(args.rounds):
        shift = r % len(contenders) if contenders else 0
        for name, sdk in contenders[shift:] + contenders[:shift]:
            if (name, sdk) not in rounds:  # failed in an earlier round
                continue
            print(
                f"  round {r + 1}/{args.rounds}: {name} on {sdk}, {mode} …",
                file=sys.stderr,
                flush=True,
            )
            cmd = [str(pythons[name, sdk]), script, "--worker", name, "--base-url", url]
            cmd += ["--scale", str(scale), *(["--in-situ"] if in_situ else [])]
            env = {**os.environ, "TRACELOOP_TELEMETRY": "false"}
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                print(f"  {name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
                del rounds[name, sdk]
                continue
            rounds[name, sdk].append(json.loads(done.stdout.strip().splitlines()[-1]))
    return [{**_combine(got), "sdk": sdk} for (name, sdk), got in rounds.items()]


def main(spec: Spec, script: str, argv: list[str] | None = None) -> int:
    """Measure over HTTP, then (when the spec can) in situ; print both tables."""
    parser = argparse.ArgumentParser(description=f"Overhead of the {spec.sdk} instrumentations.")
    parser.add_argument("--out", type=pathlib.Path, help="write the results as JSON here")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the pairs per call")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds of every contender; the pairs are split among them (default 3)",
    )
    parser.add_argument(
        "--modes",
        default="http,in-situ" if spec.in_situ is not None else "http",
        help="comma-separated: http (real SDK calls to the stub), in-situ (the SDK's work faked)",
    )
    parser.add_argument("--peers", default=",".join(spec.peers), help="comma-separated ('' none)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--in-situ", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(spec, args.worker, args.base_url, args.scale, args.in_situ)))
        return 0

    stub = subprocess.Popen(
        [sys.executable, "-m", "llmotel.testing.stub", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        assert stub.stdout is not None
        url = stub.stdout.readline().strip() + spec.url_suffix
        for mode in [m for m in args.modes.split(",") if m]:
            runs[mode] = _measure(spec, script, url, args, in_situ=mode == "in-situ")
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    if not any(runs.values()):
        print("no contender could be measured", file=sys.stderr)
        return 1
    for mode, results in runs.items():
        if results:
            print(f"\n== {mode} ==")
            print(_table(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(runs, indent=2))
    return 0
