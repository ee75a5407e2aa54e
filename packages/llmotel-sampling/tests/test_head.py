"""SessionRatioSampler: whole sessions, OTEP 235 thresholds, parents, rules, RECORD_ONLY."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from llmotel.sampling import SessionRatioSampler, session_sampler_factory, session_sampler_from_env
from llmotel.sdk.config import ConfigError
from llmotel.semconv.attributes import GEN_AI_CONVERSATION_ID, GEN_AI_REQUEST_MODEL, USER_ID
from llmotel.semconv.context import using_session, using_user


def _provider(sampler: SessionRatioSampler, exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _rv(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=7).digest(), "big")


def test_whole_sessions_are_kept_or_dropped_together(span_exporter: InMemorySpanExporter) -> None:
    tracer = _provider(SessionRatioSampler(0.3), span_exporter).get_tracer("t")
    sessions = [f"session-{i}" for i in range(300)]
    for turn in range(4):
        for session in sessions:
            with (
                using_session(session),
                tracer.start_as_current_span(f"turn {turn}"),
                tracer.start_as_current_span("chat"),
            ):
                pass

    spans_by_session: dict[str, list[ReadableSpan]] = defaultdict(list)
    for span in span_exporter.get_finished_spans():
        with_session = [
            s
            for s in sessions
            if span.context.trace_state.get("ot", "").endswith(f"rv:{_rv(s):014x}")
        ]
        assert len(with_session) == 1
        spans_by_session[with_session[0]].append(span)
    # Every kept session has all 4 traces x 2 spans; dropped ones have none.
    assert {len(spans) for spans in spans_by_session.values()} == {8}
    threshold = (1 << 56) - round(0.3 * (1 << 56))
    expected = {s for s in sessions if _rv(s) >= threshold}
    assert set(spans_by_session) == expected
    assert 0.2 < len(expected) / len(sessions) < 0.4


def test_kept_roots_carry_the_otep_235_threshold_and_randomness(
    span_exporter: InMemorySpanExporter,
) -> None:
    tracer = _provider(SessionRatioSampler(0.5), span_exporter).get_tracer("t")
    session = next(f"s{i}" for i in range(100) if _rv(f"s{i}") >= 1 << 55)
    with using_session(session), tracer.start_as_current_span("root"):
        pass
    (span,) = span_exporter.get_finished_spans()
    assert span.context.trace_state.get("ot") == f"th:8;rv:{_rv(session):014x}"


def test_conversation_id_in_start_attributes_is_the_key(
    span_exporter: InMemorySpanExporter,
) -> None:
    tracer = _provider(SessionRatioSampler(0.5), span_exporter).get_tracer("t")
    kept = [c for c in (f"conv-{i}" for i in range(200)) if _rv(c) >= 1 << 55]
    for conversation in (f"conv-{i}" for i in range(200)):
        for _ in range(3):
            tracer.start_span("chat", attributes={GEN_AI_CONVERSATION_ID: conversation}).end()
    exported = [s.attributes[GEN_AI_CONVERSATION_ID] for s in span_exporter.get_finished_spans()]
    assert sorted(exported) == sorted(kept * 3)


def test_without_a_session_it_matches_the_sdk_composite_traceid_ratio_sampler() -> None:
    from opentelemetry.sdk.trace._sampling_experimental import (
        composable_traceid_ratio_based,
        composite_sampler,
    )

    ours = SessionRatioSampler(0.25)
    sdk = composite_sampler(composable_traceid_ratio_based(0.25))
    for i in range(2000):
        trace_id = int.from_bytes(hashlib.sha256(str(i).encode()).digest()[:16], "big")
        mine = ours.should_sample(None, trace_id, "root")
        theirs = sdk.should_sample(None, trace_id, "root")
        assert mine.decision == theirs.decision
        assert mine.trace_state == theirs.trace_state


def test_children_follow_the_parent_including_remote_parents() -> None:
    sampler = SessionRatioSampler(0.0)
    for sampled, remote in [(True, True), (True, False), (False, True), (False, False)]:
        parent = SpanContext(
            trace_id=1,
            span_id=2,
            is_remote=remote,
            trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT),
            trace_state=TraceState([("ot", "th:c")]),
        )
        context = trace.set_span_in_context(NonRecordingSpan(parent))
        result = SessionRatioSampler(0.0 if sampled else 1.0).should_sample(context, 1, "child")
        assert result.decision is (Decision.RECORD_AND_SAMPLE if sampled else Decision.DROP)
        assert result.trace_state == parent.trace_state
    assert sampler.should_sample(None, 1, "root").decision is Decision.DROP


def test_keep_rules_override_the_ratio(span_exporter: InMemorySpanExporter) -> None:
    sampler = SessionRatioSampler(0.0, keep={USER_ID: {"alice"}, GEN_AI_REQUEST_MODEL: {"gpt-4o"}})
    tracer = _provider(sampler, span_exporter).get_tracer("t")
    with (
        using_user("alice"),
        tracer.start_as_current_span("alice's request"),
        tracer.start_as_current_span("alice's child"),
    ):
        pass
    with using_user("bob"), tracer.start_as_current_span("bob's request"):
        tracer.start_span("chat", attributes={GEN_AI_REQUEST_MODEL: "gpt-4o"}).end()
        tracer.start_span("chat mini", attributes={GEN_AI_REQUEST_MODEL: "gpt-4o-mini"}).end()
    names = sorted(s.name for s in span_exporter.get_finished_spans())
    assert names == ["alice's child", "alice's request", "chat"]
    alice = next(s for s in span_exporter.get_finished_spans() if s.name == "alice's request")
    assert alice.context.trace_state.get("ot") == "th:0"


class _Recorder(SpanProcessor):
    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


def test_record_dropped_lets_processors_see_every_span(span_exporter: InMemorySpanExporter) -> None:
    recorder = _Recorder()
    provider = _provider(SessionRatioSampler(0.0, record_dropped=True), span_exporter)
    provider.add_span_processor(recorder)
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("root") as root:
        assert root.is_recording()
        with tracer.start_as_current_span("child"):
            pass
    assert [s.name for s in recorder.ended] == ["child", "root"]
    assert not any(s.context.trace_flags.sampled for s in recorder.ended)
    assert span_exporter.get_finished_spans() == ()


def test_invalid_ratio_is_rejected() -> None:
    with pytest.raises(ValueError, match="ratio"):
        SessionRatioSampler(1.5)


def test_description_names_the_settings() -> None:
    sampler = SessionRatioSampler(0.1, keep={USER_ID: {"a"}}, record_dropped=True)
    assert sampler.get_description() == (
        "SessionRatioSampler{ratio=0.1, keep=[user.id=['a']], record_dropped=True}"
    )


def test_factory_reads_the_arg_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOTEL_SAMPLING_KEEP", "user.id=alice, gen_ai.request.model=gpt-4o")
    monkeypatch.setenv("LLMOTEL_SAMPLING_RECORD_DROPPED", "true")
    sampler = session_sampler_factory("0.25")
    assert sampler.ratio == 0.25
    assert "record_dropped=True" in sampler.get_description()
    assert "user.id=['alice']" in sampler.get_description()
    assert session_sampler_factory(None).ratio == 1.0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ("OTEL_TRACES_SAMPLER_ARG", "half"),
        ("LLMOTEL_SAMPLING_KEEP", "user.id"),
        ("LLMOTEL_SAMPLING_RECORD_DROPPED", "perhaps"),
    ],
)
def test_nonsense_configuration_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as error:
        session_sampler_from_env(environ={variable: value})
    assert error.value.variable == variable
    assert str(error.value).startswith(f"{variable}={value!r} is invalid")


def test_entry_point_loads_through_the_sdk_configuration() -> None:
    code = textwrap.dedent(
        """
        from opentelemetry.sdk._configuration import _get_sampler, _import_sampler
        sampler = _import_sampler(_get_sampler())
        print(sampler.get_description())
        """
    )
    env = {
        **os.environ,
        "OTEL_TRACES_SAMPLER": "llmotel_session",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "SessionRatioSampler{ratio=0.25, keep=[], record_dropped=False}"

    env["OTEL_TRACES_SAMPLER_ARG"] = "1.5"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert "OTEL_TRACES_SAMPLER_ARG='1.5' is invalid" in done.stderr


_APP = """
from opentelemetry import trace
from llmotel.semconv.context import using_session

tracer = trace.get_tracer("app")
for i in range(40):
    with using_session(f"s{i}"), tracer.start_as_current_span(f"s{i}"):
        pass
"""


def test_opentelemetry_instrument_runs_the_app_with_the_session_sampler(tmp_path: Path) -> None:
    instrument = shutil.which("opentelemetry-instrument", path=os.path.dirname(sys.executable))
    assert instrument is not None
    app = tmp_path / "app.py"
    app.write_text(_APP)
    env = {
        **os.environ,
        "OTEL_PYTHON_CONFIGURATOR": "configurator",  # opentelemetry-distro's SDK configurator
        "OTEL_TRACES_SAMPLER": "llmotel_session",
        "OTEL_TRACES_SAMPLER_ARG": "0.5",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    done = subprocess.run(
        [instrument, sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    exported = set(re.findall(r'"name": "(s\d+)"', done.stdout))
    expected = {f"s{i}" for i in range(40) if _rv(f"s{i}") >= 1 << 55}
    assert exported == expected
