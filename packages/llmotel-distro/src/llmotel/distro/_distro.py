"""The ``opentelemetry_distro`` and ``opentelemetry_configurator`` entry points named ``llmotel``."""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from typing import Any

from opentelemetry.environment_variables import (
    OTEL_LOGS_EXPORTER,
    OTEL_METRICS_EXPORTER,
    OTEL_TRACES_EXPORTER,
)
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_CONFIGURATOR
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_PROTOCOL

from llmotel.distro._settings import unset_empty_variables
from llmotel.distro._setup import configure
from llmotel.distro._variables import apply_flag_overrides
from llmotel.sdk.config import ConfigError

__all__ = ["LLMotelConfigurator", "LLMotelDistro", "apply_distro_defaults"]

_OTEL_CONFIG_FILE = "OTEL_CONFIG_FILE"
# http/protobuf needs no grpcio and is what most LLM backends (Phoenix, Langfuse, …) accept.
_DEFAULTS = {
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_METRICS_EXPORTER: "otlp",
    OTEL_LOGS_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_PYTHON_CONFIGURATOR: "llmotel",
}


def apply_distro_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """What the llmotel distro does to the environment: flags onto ``LLMOTEL_*``, blank variables removed
    (empty means unset), then a default for each of :data:`_DEFAULTS` that is not set."""
    env = os.environ if environ is None else environ
    apply_flag_overrides(env)
    unset_empty_variables(env)
    for name, value in _DEFAULTS.items():
        env.setdefault(name, value)


class LLMotelDistro(BaseDistro):  # type: ignore[misc]
    """Defaults for ``opentelemetry-instrument``: OTLP over HTTP for all three signals, and our configurator.

    Every default is a ``setdefault``: a variable you set wins (a blank one counts as unset). Choosing the configurator here matters because
    ``opentelemetry-instrument`` otherwise runs whichever installed configurator it finds first.
    """

    def _configure(self, **kwargs: Any) -> None:
        apply_distro_defaults()


class LLMotelConfigurator(_OTelSDKConfigurator):
    """Builds the tracer, meter and logger providers with llmotel's processors, samplers and Views.

    Runs under ``opentelemetry-instrument`` (select it with ``OTEL_PYTHON_CONFIGURATOR=llmotel``; the llmotel
    distro sets that default). An invalid ``LLMOTEL_*``/``OTEL_*`` value stops start-up with one line naming the
    variable and the accepted values: silently running without redaction or with the wrong sampling is worse.
    With ``OTEL_CONFIG_FILE`` (declarative configuration) the SDK's own path runs unchanged.
    """

    def _configure(self, **kwargs: Any) -> None:
        if os.environ.get(_OTEL_CONFIG_FILE):
            super()._configure(**kwargs)  # type: ignore[no-untyped-call]
            return
        apply_flag_overrides()
        try:
            configure(set_global=True)
        except ConfigError as exc:
            # opentelemetry-instrument logs and swallows exceptions from configurators (the app would then run
            # unobserved, or unredacted): stop here instead, before the application starts.
            sys.stderr.write(f"llmotel: invalid configuration: {exc}\n")
            sys.stderr.flush()
            os._exit(2)
