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
import importlib.util
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
from opentelemetry.sdk.trace.sampling import AlwaysRecordSampler, Sampler

from llmotel.sdk import ContextEnricher
from llmotel.sdk.config import ConfigError, env_bool, env_choice, env_duration
from llmotel.sdk.pipeline import PipelineLogRecordProcessor, PipelineSpanProcessor

__all__ = ["Providers", "Settings", "configure", "read_settings"]

_logger = logging.getLogger(__name__)

_CAPTURE_VAR = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_LOGGING_HANDLER_VAR = "OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED"
_SHUTDOWN_TIMEOUT_VAR = "LLMOTEL_SHUTDOWN_TIMEOUT"
_DEFAULT_SHUTDOWN_TIMEOUT = 5.0
# Loggers of the telemetry machinery itself (exporters, SDK batch processors, llmotel's pipeline): their records
# never enter the log pipeline, which may be the very thing failing.
_TELEMETRY_LOGGERS = ("opentelemetry", "llmotel")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@dataclass(frozen=True)
class Settings:
    """What the distro switches on, resolved from the environment (see ``docs/configuration.md``)."""

    enrich_context: bool = True
    normalize: str = "off"
    validate: bool = False
    redaction: bool = False
    metrics: bool = True


def _on_off(name: str, default: str, environ: Mapping[str, str]) -> bool:
    return env_choice(name, default, ("on", "off"), environ=environ) == "on"


def _require(variable: str, value: str, module: str, distribution: str, extra: str) -> None:
    if not _installed(module):
        raise ConfigError(
            variable,
            value,
            f"'off' unless {distribution} is installed (pip install 'llmotel-distro[{extra}]')",
        )


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check the distro's own variables; raises :class:`ConfigError` naming the first bad one."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    from llmotel.semconv.capture import ContentCapture, content_capture_from_env

    redaction_choice = env_choice("LLMOTEL_REDACTION", "auto", ("auto", "on", "off"), environ=env)
    if redaction_choice == "auto":
        try:
            captures = content_capture_from_env(env) is not ContentCapture.NO_CONTENT
        except ValueError:
            accepted = "one of NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT, true, false"
            raise ConfigError(_CAPTURE_VAR, env.get(_CAPTURE_VAR, ""), accepted) from None
        redaction = captures
        if captures and not _installed("llmotel.redaction"):
            raise ConfigError(
                "LLMOTEL_REDACTION",
                f"auto (message content is captured: {_CAPTURE_VAR}={env.get(_CAPTURE_VAR)})",
                "'off' to export content unredacted, or install llmotel-redaction "
                "(pip install 'llmotel-distro[redaction]')",
            )
    else:
        redaction = redaction_choice == "on"
        if redaction:
            _require(
                "LLMOTEL_REDACTION", "on", "llmotel.redaction", "llmotel-redaction", "redaction"
            )

    metrics_explicit = "LLMOTEL_METRICS" in env and env["LLMOTEL_METRICS"].strip() != ""
    metrics = _on_off("LLMOTEL_METRICS", "on", env)
    if metrics and not _installed("llmotel.metrics"):
        if metrics_explicit:
            _require("LLMOTEL_METRICS", "on", "llmotel.metrics", "llmotel-metrics", "metrics")
        metrics = False  # the default quietly does without a piece that is not installed

    return Settings(
        enrich_context=env_bool("LLMOTEL_ENRICH_CONTEXT", True, environ=env),
        normalize=env_choice("LLMOTEL_NORMALIZE", "off", ("off", "add", "replace"), environ=env),
        validate=env_bool("LLMOTEL_VALIDATE", False, environ=env),
        redaction=redaction,
        metrics=metrics,
    )


@dataclass
class Providers:
    """The providers :func:`configure` built; ``shutdown()`` flushes and stops all three.

    ``shutdown_timeout`` (seconds, from ``LLMOTEL_SHUTDOWN_TIMEOUT``) bounds the whole shutdown: traces first, then
    metrics and logs with what is left. :func:`configure` registers it to run at exit.
    """

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    settings: Settings
    span_stages: list[Callable[..., Any]] = field(default_factory=list)
    shutdown_timeout: float = _DEFAULT_SHUTDOWN_TIMEOUT
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
        # span processor's own bound (its shutdown_timeout_millis) is the whole budget; the rest gets what is left.
        steps: list[tuple[str, Callable[[], object]]] = [
            ("traces", self.tracer_provider.shutdown),
            ("metrics", lambda: self.meter_provider.shutdown(timeout_millis=left_ms())),
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
        sampler = AlwaysRecordSampler(sampler)
    return sampler


def _metrics_pieces(settings: Settings) -> Any:
    """llmotel-metrics' own configuration (``LLMOTEL_METRICS_*``), or None when metrics are off."""
    if not settings.metrics:
        return None
    from llmotel.metrics import from_env as metrics_from_env

    return metrics_from_env()


def _span_stages(
    settings: Settings, cost_stage: Callable[..., Any] | None, meter_provider: MeterProvider
) -> list[Callable[..., Any]]:
    """The export-thread stages, in order: normalize, cost, redact (last: it sees everything), validate."""
    stages: list[Callable[..., Any]] = []
    if settings.normalize != "off":
        from llmotel.sdk.normalize import ConventionNormalizer

        stages.append(
            ConventionNormalizer(mode="add" if settings.normalize == "add" else "replace")
        )
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
    With ``set_global=True`` the providers become the global ones. Raises :class:`ConfigError` on a bad value.
    It reads ``os.environ`` (as the SDK's exporter and sampler lookups do).
    """
    env: Mapping[str, str] = os.environ
    settings = read_settings(env)
    metrics_config = _metrics_pieces(settings)
    shutdown_timeout = _shutdown_timeout(env)
    resource = resource or Resource.create({})
    span_exporters, metric_exporters, log_exporters = _import_exporters(
        _get_exporter_names("traces"), _get_exporter_names("metrics"), _get_exporter_names("logs")
    )

    readers: list[MetricReader] = []
    for exporter_or_reader in metric_exporters.values():
        if issubclass(exporter_or_reader, MetricReader):
            readers.append(exporter_or_reader())
        else:
            readers.append(PeriodicExportingMetricReader(exporter_or_reader()))
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
            shutdown_timeout_millis=shutdown_timeout * 1000,
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


def _shutdown_timeout(env: Mapping[str, str]) -> float:
    return env_duration(
        _SHUTDOWN_TIMEOUT_VAR, _DEFAULT_SHUTDOWN_TIMEOUT, min=0.0, max=600.0, environ=env
    )


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


def _log_stages(settings: Settings, meter_provider: MeterProvider) -> list[Callable[..., Any]]:
    if not settings.redaction:
        return []
    from llmotel.redaction import RedactionStage

    return [RedactionStage.from_env(meter_provider=meter_provider)]


def piece_config_readers(settings: Settings) -> list[Callable[[Mapping[str, str]], object]]:
    """Each installed piece's own environment reader, for ``llmotel doctor`` to validate its variables."""
    readers: list[Callable[[Mapping[str, str]], object]] = [_shutdown_timeout]
    if settings.metrics:
        from llmotel.metrics import from_env as metrics_from_env

        readers.append(metrics_from_env)
    if settings.redaction:
        from llmotel.redaction import redactor_from_env

        readers.append(redactor_from_env)
    if _installed("llmotel.sampling"):
        from llmotel.sampling import session_sampler_from_env, tail_policies_from_env

        readers += [lambda env: session_sampler_from_env(environ=env), tail_policies_from_env]
    return readers
