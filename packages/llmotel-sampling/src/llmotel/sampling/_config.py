"""Samplers and processors built from ``OTEL_TRACES_SAMPLER_ARG`` and ``LLMOTEL_SAMPLING_*``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import SpanProcessor

from llmotel.sampling._head import KeepRules, SessionRatioSampler
from llmotel.sampling._policies import (
    AttributePolicy,
    CostFunction,
    CostPolicy,
    ErrorPolicy,
    LatencyPolicy,
    ProbabilisticPolicy,
    TailPolicy,
    TokenPolicy,
)
from llmotel.sampling._rate_limit import RateLimitingSpanProcessor
from llmotel.sampling._tail import OVERFLOW_DECISIONS, TailSamplingProcessor
from llmotel.sdk.config import (
    ConfigError,
    env_bool,
    env_choice,
    env_duration,
    env_float,
    env_int,
    env_list,
    env_str,
)

SAMPLER_ARG = "OTEL_TRACES_SAMPLER_ARG"
KEEP = "LLMOTEL_SAMPLING_KEEP"
RECORD_DROPPED = "LLMOTEL_SAMPLING_RECORD_DROPPED"
TAIL = "LLMOTEL_SAMPLING_TAIL"
KEEP_ERRORS = "LLMOTEL_SAMPLING_KEEP_ERRORS"
LATENCY_THRESHOLD = "LLMOTEL_SAMPLING_LATENCY_THRESHOLD"
TOKENS_THRESHOLD = "LLMOTEL_SAMPLING_TOKENS_THRESHOLD"
COST_THRESHOLD_USD = "LLMOTEL_SAMPLING_COST_THRESHOLD_USD"
BASELINE_RATIO = "LLMOTEL_SAMPLING_BASELINE_RATIO"
DECISION_WAIT = "LLMOTEL_SAMPLING_DECISION_WAIT"
MAX_TRACES = "LLMOTEL_SAMPLING_MAX_TRACES"
MAX_SPANS = "LLMOTEL_SAMPLING_MAX_SPANS"
MAX_BYTES = "LLMOTEL_SAMPLING_MAX_BYTES"
OVERFLOW = "LLMOTEL_SAMPLING_OVERFLOW"
MAX_TRACES_PER_SECOND = "LLMOTEL_SAMPLING_MAX_TRACES_PER_SECOND"
MAX_SPANS_PER_SECOND = "LLMOTEL_SAMPLING_MAX_SPANS_PER_SECOND"


def parse_ratio(value: str | None, variable: str = SAMPLER_ARG) -> float:
    """A keep ratio from its string form (None or blank: 1.0); ConfigError naming ``variable``."""
    if value is None or not value.strip():
        return 1.0
    return env_float(variable, 1.0, min=0.0, max=1.0, environ={variable: value})


def keep_rules_from_env(environ: Mapping[str, str] | None = None) -> dict[str, set[str]]:
    """``LLMOTEL_SAMPLING_KEEP=user.id=alice,user.id=bob`` as ``{"user.id": {"alice", "bob"}}``."""
    rules: dict[str, set[str]] = {}
    for item in env_list(KEEP, environ=environ):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                KEEP, env_str(KEEP, "", environ=environ), "a comma-separated list of key=value"
            )
        rules.setdefault(key.strip(), set()).add(value.strip())
    return rules


def session_sampler_from_env(
    ratio: float | None = None,
    *,
    record_dropped: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> SessionRatioSampler:
    """A ``SessionRatioSampler`` configured from the environment; arguments given here win."""
    if ratio is None:
        ratio = parse_ratio(env_str(SAMPLER_ARG, None, environ=environ))
    if record_dropped is None:
        record_dropped = env_bool(RECORD_DROPPED, False, environ=environ)
    keep: KeepRules = keep_rules_from_env(environ)
    return SessionRatioSampler(ratio, keep=keep, record_dropped=record_dropped)


def session_sampler_factory(arg: str | None) -> SessionRatioSampler:
    """The ``opentelemetry_traces_sampler`` entry point ``llmotel_session``.

    ``OTEL_TRACES_SAMPLER=llmotel_session`` with ``OTEL_TRACES_SAMPLER_ARG=0.25`` keeps a quarter of
    sessions; ``LLMOTEL_SAMPLING_KEEP`` and ``LLMOTEL_SAMPLING_RECORD_DROPPED`` apply too.
    """
    return session_sampler_from_env(parse_ratio(arg))


def tail_policies_from_env(
    environ: Mapping[str, str] | None = None, *, cost: CostFunction | None = None
) -> list[TailPolicy]:
    """The tail policies the ``LLMOTEL_SAMPLING_*`` variables describe, in evaluation order.

    ``cost`` prices a span that has no ``llmotel.cost.usd`` attribute (see ``CostPolicy``).
    """
    policies: list[TailPolicy] = []
    if env_bool(KEEP_ERRORS, True, environ=environ):
        policies.append(ErrorPolicy())
    if env_str(LATENCY_THRESHOLD, None, environ=environ) is not None:
        policies.append(
            LatencyPolicy(env_duration(LATENCY_THRESHOLD, 0.0, min=0.0, environ=environ))
        )
    if env_str(TOKENS_THRESHOLD, None, environ=environ) is not None:
        policies.append(TokenPolicy(env_int(TOKENS_THRESHOLD, 0, min=0, environ=environ)))
    if env_str(COST_THRESHOLD_USD, None, environ=environ) is not None:
        threshold = env_float(COST_THRESHOLD_USD, 0.0, min=0.0, environ=environ)
        policies.append(CostPolicy(threshold, cost))
    policies.extend(
        AttributePolicy(key, values) for key, values in keep_rules_from_env(environ).items()
    )
    policies.append(
        ProbabilisticPolicy(env_float(BASELINE_RATIO, 0.1, min=0.0, max=1.0, environ=environ))
    )
    return policies


def tail_sampling_processor_from_env(
    next_processor: SpanProcessor,
    *,
    meter_provider: MeterProvider | None = None,
    environ: Mapping[str, str] | None = None,
    cost: CostFunction | None = None,
) -> TailSamplingProcessor:
    """A ``TailSamplingProcessor`` around ``next_processor`` configured from the environment."""
    return TailSamplingProcessor(
        next_processor, meter_provider=meter_provider, **_tail_settings(environ, cost)
    )


def _tail_settings(
    environ: Mapping[str, str] | None, cost: CostFunction | None = None
) -> dict[str, Any]:
    overflow = env_choice(OVERFLOW, "evaluate", OVERFLOW_DECISIONS, environ=environ)
    return {
        "policies": tail_policies_from_env(environ, cost=cost),
        "decision_wait": env_duration(DECISION_WAIT, 30.0, min=0.001, environ=environ),
        "max_traces": env_int(MAX_TRACES, 10_000, min=1, environ=environ),
        "max_spans": env_int(MAX_SPANS, 100_000, min=1, environ=environ),
        "max_bytes": env_int(MAX_BYTES, 64 * 1024 * 1024, min=1, environ=environ),
        "overflow": overflow,
    }


def sampling_span_processor_from_env(
    next_processor: SpanProcessor,
    *,
    meter_provider: MeterProvider | None = None,
    environ: Mapping[str, str] | None = None,
    cost: CostFunction | None = None,
) -> SpanProcessor:
    """Wrap the exporting processor as the ``LLMOTEL_SAMPLING_*`` variables ask (the distro's call).

    ``LLMOTEL_SAMPLING_MAX_TRACES_PER_SECOND`` / ``..._MAX_SPANS_PER_SECOND`` put a
    ``RateLimitingSpanProcessor`` in front of ``next_processor``; ``LLMOTEL_SAMPLING_TAIL=true``
    puts a ``TailSamplingProcessor`` in front of that. With none set, returns ``next_processor``.
    Every variable is validated, even those of a part left off, so a typo fails at start-up.
    ``cost`` prices spans for ``LLMOTEL_SAMPLING_COST_THRESHOLD_USD`` (see ``CostPolicy``).
    """
    tail = env_bool(TAIL, False, environ=environ)
    traces_per_second = _positive_rate(MAX_TRACES_PER_SECOND, environ)
    spans_per_second = _positive_rate(MAX_SPANS_PER_SECOND, environ)
    processor = next_processor
    if traces_per_second is not None or spans_per_second is not None:
        processor = RateLimitingSpanProcessor(
            processor,
            traces_per_second=traces_per_second,
            spans_per_second=spans_per_second,
            meter_provider=meter_provider,
        )
    if tail:
        return tail_sampling_processor_from_env(
            processor, meter_provider=meter_provider, environ=environ, cost=cost
        )
    _tail_settings(environ)  # validated even when off: a typo fails at start-up
    return processor


def check_env(environ: Mapping[str, str] | None = None) -> None:
    """Check every ``LLMOTEL_SAMPLING_*`` variable without building a sampler or processor.

    Raises the :class:`ConfigError` that :func:`sampling_span_processor_from_env` or
    :func:`session_sampler_from_env` would raise (the distro's start-up check and ``llmotel doctor``).
    """
    env_bool(TAIL, False, environ=environ)
    _positive_rate(MAX_TRACES_PER_SECOND, environ)
    _positive_rate(MAX_SPANS_PER_SECOND, environ)
    env_bool(RECORD_DROPPED, False, environ=environ)
    _tail_settings(environ)


def _positive_rate(name: str, environ: Mapping[str, str] | None) -> float | None:
    if env_str(name, None, environ=environ) is None:
        return None
    rate = env_float(name, 0.0, min=0.0, environ=environ)
    if rate <= 0.0:
        raise ConfigError(name, env_str(name, "", environ=environ), "a number > 0")
    return rate


__all__ = [
    "OVERFLOW_DECISIONS",
    "check_env",
    "keep_rules_from_env",
    "parse_ratio",
    "sampling_span_processor_from_env",
    "session_sampler_factory",
    "session_sampler_from_env",
    "tail_policies_from_env",
    "tail_sampling_processor_from_env",
]
