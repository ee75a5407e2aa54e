"""The distro's settings, and one check of the whole environment: start-up runs it before building anything,
``llmotel doctor`` runs the same.

It covers the SDK's own variables (:mod:`llmotel.distro._standard`), the distro's ``LLMOTEL_*`` switches
(:func:`read_settings`) and the variables of every piece that is switched on, through that piece's own reader,
so a value start-up refuses is exactly a value doctor reports. Unknown ``LLMOTEL_*`` names and variables of
pieces that are not installed are warnings: they change nothing, but were probably meant to.
"""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution

from opentelemetry.metrics import NoOpMeterProvider

from llmotel.distro._standard import STANDARD_VARIABLES
from llmotel.distro._variables import VARIABLES
from llmotel.sdk.config import ConfigError, env_bool, env_choice, env_duration, env_str
from llmotel.semconv.capture import (
    CAPTURE_MESSAGE_CONTENT_ENV,
    ContentCapture,
    content_capture_from_env,
)
from llmotel.semconv.inference import INSTRUMENTATION_CONFLICT

__all__ = [
    "EnvironmentCheck",
    "Settings",
    "check_environment",
    "module_installed",
    "read_settings",
    "unset_empty_variables",
    "validate_environment",
]

_logger = logging.getLogger("llmotel.distro")

SHUTDOWN_TIMEOUT_VAR = "LLMOTEL_SHUTDOWN_TIMEOUT"
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
_PREFIXES = ("OTEL_", "LLMOTEL_")
_EXTRAS = {
    "llmotel-redaction": "redaction",
    "llmotel-sampling": "sampling",
    "llmotel-metrics": "metrics",
}
_CAPTURE_ACCEPTED = "one of NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT, true, false"


def module_installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
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


def _require(variable: str, value: str, module: str, distribution: str, extra: str) -> None:
    if not module_installed(module):
        raise ConfigError(
            variable,
            value,
            f"'off' unless {distribution} is installed (pip install 'llmotel-distro[{extra}]')",
        )


def _content_capture(env: Mapping[str, str]) -> ContentCapture:
    # Checked in every redaction mode: the instrumentations read it too, and refuse to load on a bad value.
    try:
        return content_capture_from_env(env)
    except ValueError:
        value = env.get(CAPTURE_MESSAGE_CONTENT_ENV, "").strip()
        raise ConfigError(CAPTURE_MESSAGE_CONTENT_ENV, value, _CAPTURE_ACCEPTED) from None


def _redaction(env: Mapping[str, str]) -> bool:
    captures = _content_capture(env) is not ContentCapture.NO_CONTENT
    choice = env_choice("LLMOTEL_REDACTION", "auto", ("auto", "on", "off"), environ=env)
    if choice == "off":
        return False
    if choice == "on":
        _require("LLMOTEL_REDACTION", "on", "llmotel.redaction", "llmotel-redaction", "redaction")
        return True
    if captures and not module_installed("llmotel.redaction"):
        raise ConfigError(
            "LLMOTEL_REDACTION",
            f"auto (message content is captured: {CAPTURE_MESSAGE_CONTENT_ENV}={env.get(CAPTURE_MESSAGE_CONTENT_ENV)})",
            "'off' to export content unredacted, or install llmotel-redaction "
            "(pip install 'llmotel-distro[redaction]')",
        )
    return captures


def _metrics(env: Mapping[str, str]) -> bool:
    explicit = env_str("LLMOTEL_METRICS", None, environ=env) is not None
    metrics = env_choice("LLMOTEL_METRICS", "on", ("on", "off"), environ=env) == "on"
    if metrics and not module_installed("llmotel.metrics"):
        if explicit:
            _require("LLMOTEL_METRICS", "on", "llmotel.metrics", "llmotel-metrics", "metrics")
        return False  # the default quietly does without a piece that is not installed
    return metrics


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check the distro's own variables; raises :class:`ConfigError` naming the first bad one."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    return Settings(
        enrich_context=env_bool("LLMOTEL_ENRICH_CONTEXT", True, environ=env),
        normalize=env_choice("LLMOTEL_NORMALIZE", "off", ("off", "add", "replace"), environ=env),
        validate=env_bool("LLMOTEL_VALIDATE", False, environ=env),
        redaction=_redaction(env),
        metrics=_metrics(env),
    )


@dataclass(frozen=True)
class EnvironmentCheck:
    """What :func:`check_environment` found: the distro's settings (``None`` when they are invalid), the
    errors (each stops start-up) and the warnings."""

    settings: Settings | None
    errors: tuple[ConfigError, ...]
    warnings: tuple[str, ...]


def unset_empty_variables(environ: MutableMapping[str, str] | None = None) -> None:
    """Remove every blank ``OTEL_*``/``LLMOTEL_*`` variable: empty means unset, for the SDK's own readers too
    (some of them take ``""`` as a value, e.g. an empty OTLP protocol selects gRPC)."""
    env = os.environ if environ is None else environ
    for name in [k for k, v in env.items() if k.startswith(_PREFIXES) and not v.strip()]:
        del env[name]


def check_environment(environ: Mapping[str, str] | None = None) -> EnvironmentCheck:
    """Check every variable start-up reads; blank values count as unset. Builds nothing that lasts."""
    env = os.environ if environ is None else environ
    errors: list[ConfigError] = []
    settings: Settings | None = None
    try:
        settings = read_settings(env)
    except ConfigError as exc:
        errors.append(exc)
    for variable in STANDARD_VARIABLES:
        if env_str(variable.name, None, environ=env) is not None:
            _collect(errors, variable, env)
    _collect(errors, _check_instrumentation_conflict, env)
    _collect(errors, shutdown_timeout_from_env, env)
    for check in _piece_checks(settings):
        _collect(errors, check, env)
    first = {e.variable: e for e in reversed(errors)}  # one error per variable, the first found
    unique = tuple(e for e in errors if first[e.variable] is e)
    return EnvironmentCheck(settings, unique, tuple(_warnings(env)))


def validate_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """:func:`check_environment`, as start-up uses it: logs the warnings, raises the first error."""
    checked = check_environment(environ)
    for warning in checked.warnings:
        _logger.warning("llmotel: warning: %s", warning)
    if checked.errors:
        raise checked.errors[0]
    assert checked.settings is not None  # no error means read_settings succeeded
    return checked.settings


def _collect(
    errors: list[ConfigError], check: Callable[[Mapping[str, str]], object], env: Mapping[str, str]
) -> None:
    try:
        check(env)
    except ConfigError as exc:
        errors.append(exc)


def shutdown_timeout_from_env(env: Mapping[str, str]) -> float:
    """``LLMOTEL_SHUTDOWN_TIMEOUT`` in seconds: the most shutdown (at exit) waits for telemetry."""
    return env_duration(
        SHUTDOWN_TIMEOUT_VAR, DEFAULT_SHUTDOWN_TIMEOUT, min=0.0, max=600.0, environ=env
    )


def _check_instrumentation_conflict(env: Mapping[str, str]) -> None:
    # Read by the openai/anthropic instrumentations when they load (which falls back to the default
    # on a bad value); under the distro a bad value stops start-up like every other.
    env_choice(INSTRUMENTATION_CONFLICT, "llmotel", ("llmotel", "peer"), environ=env)


def _check_metrics(env: Mapping[str, str]) -> None:
    from llmotel.metrics import from_env

    from_env(env)


def _check_redaction(env: Mapping[str, str]) -> None:
    # The very reader start-up uses, so both refuse the same values (~0.1 s more at start-up with redaction on).
    from llmotel.redaction import RedactionStage

    RedactionStage.from_env(env, meter_provider=NoOpMeterProvider())


def _check_sampling(env: Mapping[str, str]) -> None:
    from llmotel.sampling import check_env

    check_env(env)


def _piece_checks(settings: Settings | None) -> list[Callable[[Mapping[str, str]], object]]:
    """The reader of every piece start-up builds (none of those switched by invalid settings); sampling's
    variables are checked whenever it is installed, because start-up reads them whenever it is installed."""
    checks: list[Callable[[Mapping[str, str]], object]] = []
    if settings is not None and settings.metrics:
        checks.append(_check_metrics)
    if settings is not None and settings.redaction:
        checks.append(_check_redaction)
    if module_installed("llmotel.sampling"):
        checks.append(_check_sampling)
    return checks


def _distribution_installed(name: str) -> bool:
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


def _warnings(env: Mapping[str, str]) -> list[str]:
    known = {v.name: v for v in VARIABLES}
    warnings = []
    for name in sorted(k for k in env if k.startswith("LLMOTEL_") and env[k].strip()):
        variable = known.get(name)
        if variable is None:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            hint = (
                f"did you mean {close[0]}?"
                if close
                else "see docs/configuration.md for the variables"
            )
            warnings.append(f"{name} is not an llmotel variable and is ignored; {hint}")
        elif variable.distribution in _EXTRAS and not _distribution_installed(
            variable.distribution
        ):
            extra = _EXTRAS[variable.distribution]
            warnings.append(
                f"{name} is set but {variable.distribution} is not installed, so it has no effect "
                f"(pip install 'llmotel-distro[{extra}]')"
            )
    return warnings
