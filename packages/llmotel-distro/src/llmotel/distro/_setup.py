"""Build the three providers from the environment, with llmotel's pieces switched on by ``LLMOTEL_*`` variables.

The order of span processors follows the plan (decide on the application thread, transform on the export thread):

    ContextEnricher.on_start          ids from context onto every span
    TokenCostMetricsProcessor.on_end  tokens, duration, cost from every recorded span (sampled or not)
    [TailSamplingProcessor]           llmotel-sampling, when LLMOTEL_SAMPLING_TAIL asks: forwards kept traces to …
    PipelineSpanProcessor([normalize, cost, redact, validate], every span exporter)   one queue, one worker

Shutdown (at exit, or ``Providers.shutdown()``) is bounded by ``LLMOTEL_SHUTDOWN_TIMEOUT`` in total.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry._logs import set_logger_provider
from opentelemetry.sdk._configuration import (
    _get_exporter_names,
    _get_id_generator,
    _import_exporters,
    _import_id_generator,
    _import_sampler_factory,
)
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.environment_variables import OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from llmotel.distro._settings import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    Settings,
    shutdown_timeout_from_env,
    unset_empty_variables,
    validate_environment,
)
from llmotel.distro._settings import module_installed as _installed
from llmotel.sdk import ContextEnricher
from llmotel.sdk.config import ConfigError, env_bool
from llmotel.sdk.pipeline import PipelineLogRecordProcessor, PipelineSpanProcessor

__all__ = ["Providers", "configure"]

_logger = logging.getLogger(__name__)

_LOGGING_HANDLER_VAR = "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED"
# Shares of the shutdown budget: traces (with what the tail sampler still holds) may use this much of it, and
# metrics leave the logs theirs; each signal also gets what the ones before it left unused.
_TRACES_SHARE = 0.6
_METRICS_SHARE = 0.2
# Loggers of the telemetry machinery itself (exporters, SDK batch processors, llmotel's pipeline): their records
# never enter the log pipeline, which may be the very thing failing.
_TELEMETRY_LOGGERS = ("opentelemetry", "llmotel")


@dataclass
class Providers:
    """The providers :func:`configure` built; ``shutdown()`` flushes and stops all three.

    ``shutdown_timeout`` (seconds, from ``LLMOTEL_SHUTDOWN_TIMEOUT``) bounds the whole shutdown: traces first, with
    at most 60 % of it, then metrics, which leave the logs 20 %, then the logs with what is left. :func:`configure`
    registers it to run at exit.
    """

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    settings: Settings
    span_stages: list[Callable[..., Any]] = field(default_factory=list)
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    span_processor: PipelineSpanProcessor | None = None
    log_processor: PipelineLogRecordProcessor | None = None
    log_handler: logging.Handler | None = None
    _stopped: threading.Event = field(default_factory=threading.Event, repr=False)

    def shutdown(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        deadline = time.monotonic() + self.shutdown_timeout

        def left_ms() -> float:
            return max(deadline - time.monotonic(), 0.0) * 1000

        if self.log_handler is not None:
            logging.getLogger().removeHandler(self.log_handler)
            self.log_handler.close()  # and out of logging's own flush at exit
        # The tail sampler forwards what it holds to the span processor when the tracer provider shuts down, so the
        # span processor's own bound (its shutdown_timeout_millis, the traces' share) bounds the traces.
        logs_share_ms = (
            (1 - _TRACES_SHARE - _METRICS_SHARE) * self.shutdown_timeout * 1000
            if self.log_processor is not None
            else 0.0
        )
        metrics_share_ms = _METRICS_SHARE * self.shutdown_timeout * 1000

        def metrics_ms() -> float:
            # Its share even when the traces overran theirs: a zero timeout makes the SDK fail every reader.
            return max(left_ms() - logs_share_ms, metrics_share_ms)

        steps: list[tuple[str, Callable[[], object]]] = [
            ("traces", self.tracer_provider.shutdown),
            ("metrics", lambda: self.meter_provider.shutdown(timeout_millis=metrics_ms())),
        ]
        if self.log_processor is not None:
            log_processor = self.log_processor
            steps.append(("logs", lambda: log_processor.shutdown(timeout_millis=left_ms())))
        steps.append(("logs", self.logger_provider.shutdown))
        for signal, step in steps:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - at exit: report, and go on with the other signals
                _logger.warning("%s shutdown failed: %s", signal, exc)


def _sampler(env: Mapping[str, str], settings: Settings) -> Sampler | None:
    name = env.get(OTEL_TRACES_SAMPLER, "").strip()
    if not name:
        return None
    try:
        factory = _import_sampler_factory(name)
    except Exception as exc:
        raise ConfigError(OTEL_TRACES_SAMPLER, name, "an installed sampler name") from exc
    arg: Any = env.get(OTEL_TRACES_SAMPLER_ARG)
    if name in ("traceidratio", "parentbased_traceidratio"):
        try:
            arg = float(arg) if arg not in (None, "") else 1.0
        except ValueError:
            raise ConfigError(
                OTEL_TRACES_SAMPLER_ARG, str(arg), "a number from 0.0 to 1.0"
            ) from None
    sampler: Sampler = factory(
        arg
    )  # our samplers raise ConfigError for a bad arg: it stops start-up
    if settings.metrics:
        # Metrics must see 100 % of calls while export stays sampled: DROP becomes RECORD_ONLY.
        sampler = RecordDroppedSampler(sampler)
    return sampler


class RecordDroppedSampler(Sampler):
    """``sampler``'s decisions, with DROP turned into RECORD_ONLY: the span is recorded (span
    processors such as the token/cost metrics see it end) but not exported.

    Unlike the SDK's ``AlwaysRecordSampler`` it keeps the span's start attributes on the spans it
    records: a dropping sampler returns none, and without them (the model, the provider) the
    metrics processor could not price or attribute the call.
    """

    def __init__(self, sampler: Sampler) -> None:
        self._sampler = sampler

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        result = self._sampler.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if result.decision is Decision.DROP:
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"RecordDropped{{{self._sampler.get_description()}}}"


def _metrics_pieces(settings: Settings) -> Any:
    """llmotel-metrics' own configuration (``LLMOTEL_METRICS_*``), or None when metrics are off."""
    if not settings.metrics:
        return None
    from llmotel.metrics import from_env as metrics_from_env

    return metrics_from_env()


class McpSdkSpanNames:
    """The normalizer's mcp 2.x mapping alone: ``MCP send tools/call add`` -> ``tools/call add``
    with ``gen_ai.operation.name`` / ``gen_ai.tool.name`` (``gen_ai.prompt.name`` for
    ``prompts/get``), as the MCP conventions name client spans. Every other span passes after one
    ``startswith``. The distro runs it when ``LLMOTEL_NORMALIZE`` is off and
    llmotel-instrumentation-mcp finds mcp 2.x (which makes its own spans)."""

    name = "McpSdkSpanNames"
    atomic = True

    def __init__(self) -> None:
        from llmotel.sdk.normalize import MCP_SDK_CLIENT_PREFIX, ConventionNormalizer

        self._prefix = MCP_SDK_CLIENT_PREFIX
        self._normalizer = ConventionNormalizer()

    def __call__(self, record: Any) -> Any:
        if record.name.startswith(self._prefix):
            return self._normalizer(record)
        return record


def mcp_sdk_spans(env: Mapping[str, str] | None = None) -> bool:
    """Whether mcp 2.x's own CLIENT spans need their MCP names: mcp 2.x is installed and
    llmotel-instrumentation-mcp is installed and not disabled (it leaves mcp 2.x to its own spans).
    Read from the installed distributions' metadata: mcp is not imported."""
    env = os.environ if env is None else env
    disabled = {x.strip() for x in env.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    if "llmotel_mcp" in disabled or "*" in disabled:
        return False
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("llmotel-instrumentation-mcp")
        return int(version("mcp").split(".", 1)[0]) >= 2
    except (PackageNotFoundError, ValueError):
        return False


def _span_stages(
    settings: Settings, cost_stage: Callable[..., Any] | None, meter_provider: MeterProvider
) -> list[Callable[..., Any]]:
    """The export-thread stages, in order: normalize (or mcp 2.x's span names alone), cost, redact
    (last: it sees everything), validate."""
    stages: list[Callable[..., Any]] = []
    if settings.normalize != "off":
        from llmotel.sdk.normalize import ConventionNormalizer

        stages.append(
            ConventionNormalizer(mode="add" if settings.normalize == "add" else "replace")
        )
    elif mcp_sdk_spans():
        stages.append(McpSdkSpanNames())
    if cost_stage is not None:
        stages.append(cost_stage)
    if settings.redaction:
        from llmotel.redaction import RedactionStage

        stages.append(RedactionStage.from_env(meter_provider=meter_provider))
    if settings.validate:
        from llmotel.sdk.validation import SemconvValidator

        stages.append(SemconvValidator(meter_provider=meter_provider))
    return stages


def configure(*, set_global: bool = False, resource: Resource | None = None) -> Providers:
    """Build tracer, meter and logger providers from ``OTEL_*`` and ``LLMOTEL_*`` variables.

    Exporters come from ``OTEL_{TRACES,METRICS,LOGS}_EXPORTER`` (entry-point names, as in the OpenTelemetry SDK),
    the sampler from ``OTEL_TRACES_SAMPLER``; llmotel's pieces from the variables in ``docs/configuration.md``.
    With ``set_global=True`` the providers become the global ones. It reads ``os.environ`` (as the SDK's exporter
    and sampler lookups do), after removing its blank ``OTEL_*``/``LLMOTEL_*`` variables (empty means unset), and
    checks all of it before building anything: :class:`ConfigError` names the first bad value.
    """
    unset_empty_variables()
    env: Mapping[str, str] = os.environ
    settings = validate_environment(env)
    metrics_config = _metrics_pieces(settings)
    shutdown_timeout = shutdown_timeout_from_env(env)
    resource = resource or Resource.create({})
    span_exporters, metric_exporters, log_exporters = _import_exporters(
        _get_exporter_names("traces"), _get_exporter_names("metrics"), _get_exporter_names("logs")
    )

    readers: list[MetricReader] = []
    redact_metrics = _metric_redaction(settings)
    for exporter_or_reader in metric_exporters.values():
        if issubclass(exporter_or_reader, MetricReader):
            readers.append(redact_metrics(exporter_or_reader()))
        else:
            readers.append(PeriodicExportingMetricReader(redact_metrics(exporter_or_reader())))
    views = metrics_config.views() if metrics_config is not None else []
    meter_provider = MeterProvider(
        resource=resource, metric_readers=readers, views=views, shutdown_on_exit=False
    )

    tracer_provider = TracerProvider(
        resource=resource,
        sampler=_sampler(env, settings),
        id_generator=_import_id_generator(_get_id_generator()),
        shutdown_on_exit=False,
    )
    if settings.enrich_context:
        tracer_provider.add_span_processor(ContextEnricher())
    cost_stage = None
    span_cost: Callable[[ReadableSpan], float | None] | None = None
    if metrics_config is not None:
        # One price table for the metric, the span attribute and the tail sampler's cost policy.
        pricing = metrics_config.create_pricing()
        tracer_provider.add_span_processor(metrics_config.create_processor(meter_provider, pricing))
        cost_stage = metrics_config.create_cost_stage(pricing)
        span_cost = pricing.span_cost
    stages = _span_stages(settings, cost_stage, meter_provider)
    span_processor = None
    if span_exporters:
        span_processor = PipelineSpanProcessor(
            stages,
            [exporter_class() for exporter_class in span_exporters.values()],
            meter_provider=meter_provider,
            shutdown_timeout_millis=shutdown_timeout * _TRACES_SHARE * 1000,
        )
        tracer_provider.add_span_processor(
            _export_processor(span_processor, meter_provider, span_cost)
        )

    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    log_processor = None
    if log_exporters:
        log_exporter_list: list[LogRecordExporter] = [c() for c in log_exporters.values()]
        log_processor = PipelineLogRecordProcessor(
            _log_stages(settings, meter_provider),
            log_exporter_list,
            meter_provider=meter_provider,
            shutdown_timeout_millis=shutdown_timeout * 1000,
        )
        logger_provider.add_log_record_processor(log_processor)

    providers = Providers(
        tracer_provider,
        meter_provider,
        logger_provider,
        settings,
        stages,
        shutdown_timeout=shutdown_timeout,
        span_processor=span_processor,
        log_processor=log_processor,
    )
    atexit.register(providers.shutdown)
    if set_global:
        trace_api.set_tracer_provider(tracer_provider)
        metrics_api.set_meter_provider(meter_provider)
        set_logger_provider(logger_provider)
        if env_bool(_LOGGING_HANDLER_VAR, False, environ=env):
            providers.log_handler = _ApplicationLogHandler(logger_provider=logger_provider)
            logging.getLogger().addHandler(providers.log_handler)
    return providers


class _ApplicationLogHandler(LoggingHandler):
    """The ``LoggingHandler`` for ``OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED``: the application's records
    go to the log pipeline; those of the telemetry machinery (``opentelemetry.*``, ``llmotel.*``) never do.

    An exporter that cannot reach its endpoint would otherwise report that through the same dead exporter, and
    nobody would see it. Those records go where Python sends records no handler takes: ``logging.lastResort``
    (stderr, WARNING and above), unless another handler on their way handles them.
    """

    _stopped = False

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name
        if any(name == prefix or name.startswith(prefix + ".") for prefix in _TELEMETRY_LOGGERS):
            if not self._handled_elsewhere(record):
                last_resort = logging.lastResort
                if last_resort is not None and record.levelno >= last_resort.level:
                    last_resort.handle(record)
            return
        super().emit(record)

    def flush(self) -> None:
        # logging flushes every handler at exit, after the providers have shut down: nothing is left to flush then.
        if not self._stopped:
            super().flush()

    def close(self) -> None:
        self._stopped = True
        super().close()

    def _handled_elsewhere(self, record: logging.LogRecord) -> bool:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(h is not self and record.levelno >= h.level for h in logger.handlers):
                return True
            if not logger.propagate:
                return False
            logger = logger.parent
        return False


def _export_processor(
    span_processor: PipelineSpanProcessor,
    meter_provider: MeterProvider,
    span_cost: Callable[[ReadableSpan], float | None] | None,
) -> SpanProcessor:
    """The span pipeline, behind tail sampling / rate limiting when llmotel-sampling asks: built once, in front of
    the one processor that feeds every exporter, so each trace is buffered and decided once.

    The tail sampler decides on the application thread, before the cost stage sets ``llmotel.cost.usd`` at
    export, so its cost policy gets the price function itself.
    """
    if not _installed("llmotel.sampling"):
        return span_processor
    from llmotel.sampling import sampling_span_processor_from_env

    return sampling_span_processor_from_env(
        span_processor, meter_provider=meter_provider, cost=span_cost
    )


def _metric_redaction(settings: Settings) -> Callable[[Any], Any]:
    """Wraps each metric exporter (or pull reader) so metric attributes are redacted too."""
    if not settings.redaction:
        return lambda exporter_or_reader: exporter_or_reader
    from llmotel.redaction import (
        RedactingMetricExporter,
        redacting_metric_reader,
        redactor_from_env,
    )

    redactor = redactor_from_env()

    def wrap(exporter_or_reader: Any) -> Any:
        if isinstance(exporter_or_reader, MetricReader):
            return redacting_metric_reader(exporter_or_reader, redactor)
        return RedactingMetricExporter(exporter_or_reader, redactor)

    return wrap


def _log_stages(settings: Settings, meter_provider: MeterProvider) -> list[Callable[..., Any]]:
    if not settings.redaction:
        return []
    from llmotel.redaction import RedactionStage

    return [RedactionStage.from_env(meter_provider=meter_provider)]
