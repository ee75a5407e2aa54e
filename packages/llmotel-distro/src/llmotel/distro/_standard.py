"""The OpenTelemetry SDK's own variables: what each accepts, checked before the SDK reads them.

The SDK reads these deep inside provider, processor and exporter constructors. A bad value there raises
after ``opentelemetry-instrument`` has started, which logs the traceback and runs the application without
telemetry; other bad values are replaced by a default with a log line. Checked here first, each one stops
start-up with a line naming the variable and what it accepts. Variable names and tables come from the SDK.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_PYTHON_ID_GENERATOR,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.sdk import environment_variables as sdk_env
from opentelemetry.sdk._configuration import (
    _EXPORTER_BY_OTLP_PROTOCOL,
    _EXPORTER_OTLP,
    _PROTOCOL_ENV_BY_SIGNAL_TYPE,
)
from opentelemetry.util._importlib_metadata import entry_points

from llmotel.sdk.config import ConfigError, env_bool, env_choice, env_float, env_int, env_str

__all__ = ["STANDARD_VARIABLES", "StandardVariable", "exporter_entry_point"]

Check = Callable[[str, Mapping[str, str]], None]
_SIGNALS = {
    "traces": OTEL_TRACES_EXPORTER,
    "metrics": OTEL_METRICS_EXPORTER,
    "logs": OTEL_LOGS_EXPORTER,
}
_SIGNAL_WORD = {"traces": "TRACES", "metrics": "METRICS", "logs": "LOGS"}
_GRPC_HINT = "grpc needs opentelemetry-exporter-otlp-proto-grpc: pip install 'llmotel-distro[grpc]'"


@dataclass(frozen=True)
class StandardVariable:
    """One SDK variable and its check (called only when the variable is set and not blank)."""

    name: str
    check: Check

    def __call__(self, env: Mapping[str, str]) -> None:
        """Raise :class:`ConfigError` when the variable's value in ``env`` is not accepted."""
        self.check(self.name, env)


def _installed(group: str) -> list[str]:
    return sorted({ep.name for ep in entry_points(group=group)})


def _number_above_zero(unit: str) -> Check:
    def check(name: str, env: Mapping[str, str]) -> None:
        try:
            positive = env_float(name, 1.0, environ=env) > 0
        except ConfigError:
            positive = False
        if not positive:
            raise ConfigError(name, env_str(name, "", environ=env), f"a number > 0 ({unit})")

    return check


def _integer(minimum: int, unit: str = "") -> Check:
    def check(name: str, env: Mapping[str, str]) -> None:
        try:
            env_int(name, minimum, min=minimum, environ=env)
        except ConfigError as exc:
            raise ConfigError(name, exc.value, exc.accepted + unit) from None

    return check


def _choice(*choices: str) -> Check:
    def check(name: str, env: Mapping[str, str]) -> None:
        env_choice(name, None, choices, environ=env)

    return check


def _exact(*choices: str) -> Check:
    """Like :func:`_choice`, for the variables the SDK compares case-sensitively."""

    def check(name: str, env: Mapping[str, str]) -> None:
        if env_str(name, "", environ=env) not in choices:
            raise ConfigError(name, env_str(name, "", environ=env), "one of " + ", ".join(choices))

    return check


def _boolean(name: str, env: Mapping[str, str]) -> None:
    env_bool(name, False, environ=env)


def _url(name: str, env: Mapping[str, str]) -> None:
    value = env_str(name, "", environ=env)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(name, value, "a URL starting with http:// or https://")


def _file(name: str, env: Mapping[str, str]) -> None:
    value = env_str(name, "", environ=env)
    if not os.path.isfile(value):
        raise ConfigError(name, value, "the path of an existing file")


def exporter_entry_point(signal: str, name: str, env: Mapping[str, str]) -> tuple[str, str | None]:
    """The entry-point name the SDK loads for exporter ``name`` of ``signal``, and the protocol variable
    that chose it (``None`` when none did): the SDK's rule, ``otlp`` resolved by the OTLP protocol."""
    if name != _EXPORTER_OTLP:
        return name, None
    for variable in (_PROTOCOL_ENV_BY_SIGNAL_TYPE[signal], sdk_env.OTEL_EXPORTER_OTLP_PROTOCOL):
        protocol = env_str(variable, None, environ=env)
        if protocol is not None:
            return _EXPORTER_BY_OTLP_PROTOCOL.get(protocol, ""), variable
    # The SDK's default protocol when none is set (the llmotel distro sets http/protobuf).
    return _EXPORTER_BY_OTLP_PROTOCOL["grpc"], sdk_env.OTEL_EXPORTER_OTLP_PROTOCOL


def _exporters(signal: str) -> Check:
    def check(name: str, env: Mapping[str, str]) -> None:
        value = env_str(name, "", environ=env)
        if value.lower() == "none":
            return
        group = f"opentelemetry_{signal}_exporter"
        installed = _installed(group)
        for item in (part.strip() for part in value.split(",")):
            entry_point, chosen_by = exporter_entry_point(signal, item, env)
            if entry_point in installed:
                continue
            if chosen_by is None:
                names = ", ".join(["otlp", *installed])
                raise ConfigError(
                    name,
                    value,
                    f"a comma-separated list of installed exporters ({names}), or none",
                )
            protocols = [p for p, ep in _EXPORTER_BY_OTLP_PROTOCOL.items() if ep in installed]
            accepted = "one of " + ", ".join(protocols) if protocols else "an installed protocol"
            hint = "" if "grpc" in protocols else f" ({_GRPC_HINT})"
            raise ConfigError(chosen_by, env_str(chosen_by, "", environ=env), accepted + hint)

    return check


def _protocol(name: str, env: Mapping[str, str]) -> None:
    value = env_str(name, "", environ=env)
    if value not in _EXPORTER_BY_OTLP_PROTOCOL:
        raise ConfigError(name, value, "one of " + ", ".join(_EXPORTER_BY_OTLP_PROTOCOL))


def _entry_point_name(group: str, *extra: str) -> Check:
    def check(name: str, env: Mapping[str, str]) -> None:
        value = env_str(name, "", environ=env)
        installed = _installed(group)
        if value not in installed:
            raise ConfigError(name, value, "one of " + ", ".join([*installed, *extra]))

    return check


def _propagators(name: str, env: Mapping[str, str]) -> None:
    value = env_str(name, "", environ=env)
    installed = _installed("opentelemetry_propagator")
    for item in (part.strip() for part in value.split(",")):
        if item and item != "none" and item not in installed:
            accepted = "a comma-separated list of " + ", ".join([*installed, "none"])
            raise ConfigError(name, value, accepted)


def _bsp_batch_size(queue_variable: str) -> Check:
    """The SDK refuses a batch larger than the queue."""

    def check(name: str, env: Mapping[str, str]) -> None:
        try:
            queue = env_int(queue_variable, 2048, environ=env)
        except ConfigError:
            queue = 2048  # reported under its own name
        try:
            env_int(name, 1, min=1, max=max(queue, 1), environ=env)
        except ConfigError as exc:
            raise ConfigError(
                name, exc.value, f"{exc.accepted} (at most {queue_variable})"
            ) from None

    return check


def _sampler_arg(name: str, env: Mapping[str, str]) -> None:
    sampler = env_str(sdk_env.OTEL_TRACES_SAMPLER, "", environ=env)
    if sampler in ("traceidratio", "parentbased_traceidratio"):
        env_float(name, 1.0, min=0.0, max=1.0, environ=env)
        return
    factories = list(entry_points(group="opentelemetry_traces_sampler", name=sampler))
    if not factories:
        return  # reported under OTEL_TRACES_SAMPLER
    try:
        factories[0].load()(env_str(name, None, environ=env))
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a third-party sampler's own error, reported as such
        raise ConfigError(
            name, env_str(name, "", environ=env), f"a value {sampler} accepts ({exc})"
        ) from None


def _otlp_variables() -> list[StandardVariable]:
    found = []
    for prefix in (
        "OTEL_EXPORTER_OTLP_",
        *(f"OTEL_EXPORTER_OTLP_{s}_" for s in _SIGNAL_WORD.values()),
    ):
        found += [
            StandardVariable(prefix + "PROTOCOL", _protocol),
            StandardVariable(prefix + "ENDPOINT", _url),
            StandardVariable(prefix + "TIMEOUT", _number_above_zero("seconds")),
            StandardVariable(prefix + "COMPRESSION", _choice("none", "gzip", "deflate")),
            StandardVariable(prefix + "CERTIFICATE", _file),
            StandardVariable(prefix + "CLIENT_KEY", _file),
            StandardVariable(prefix + "CLIENT_CERTIFICATE", _file),
        ]
    return found


def _batch_variables(prefix: str) -> list[StandardVariable]:
    queue = f"OTEL_{prefix}_MAX_QUEUE_SIZE"
    return [
        StandardVariable(f"OTEL_{prefix}_SCHEDULE_DELAY", _integer(1, " (milliseconds)")),
        StandardVariable(f"OTEL_{prefix}_EXPORT_TIMEOUT", _integer(0, " (milliseconds)")),
        StandardVariable(queue, _integer(1)),
        StandardVariable(f"OTEL_{prefix}_MAX_EXPORT_BATCH_SIZE", _bsp_batch_size(queue)),
    ]


_LIMITS = (
    sdk_env.OTEL_ATTRIBUTE_COUNT_LIMIT,
    sdk_env.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    sdk_env.OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
    sdk_env.OTEL_LINK_ATTRIBUTE_COUNT_LIMIT,
    sdk_env.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT,
    sdk_env.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    sdk_env.OTEL_SPAN_EVENT_COUNT_LIMIT,
    sdk_env.OTEL_SPAN_LINK_COUNT_LIMIT,
    sdk_env.OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT,
    sdk_env.OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT,
)

STANDARD_VARIABLES: tuple[StandardVariable, ...] = (
    *(StandardVariable(var, _exporters(signal)) for signal, var in _SIGNALS.items()),
    *_otlp_variables(),
    StandardVariable(sdk_env.OTEL_METRIC_EXPORT_INTERVAL, _number_above_zero("milliseconds")),
    StandardVariable(sdk_env.OTEL_METRIC_EXPORT_TIMEOUT, _number_above_zero("milliseconds")),
    StandardVariable(
        sdk_env.OTEL_METRICS_EXEMPLAR_FILTER, _exact("trace_based", "always_on", "always_off")
    ),
    StandardVariable(
        sdk_env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
        _choice("CUMULATIVE", "DELTA", "LOWMEMORY"),
    ),
    StandardVariable(
        sdk_env.OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
        _choice("explicit_bucket_histogram", "base2_exponential_bucket_histogram"),
    ),
    *_batch_variables("BSP"),
    *_batch_variables("BLRP"),
    *(StandardVariable(var, _integer(0)) for var in _LIMITS),
    StandardVariable(
        sdk_env.OTEL_TRACES_SAMPLER, _entry_point_name("opentelemetry_traces_sampler")
    ),
    StandardVariable(sdk_env.OTEL_TRACES_SAMPLER_ARG, _sampler_arg),
    StandardVariable(OTEL_PYTHON_ID_GENERATOR, _entry_point_name("opentelemetry_id_generator")),
    StandardVariable("OTEL_PROPAGATORS", _propagators),
    StandardVariable("OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED", _boolean),
)
"""Every SDK variable llmotel checks at start-up, in the order they are reported."""
