"""``llmotel doctor``: what ``opentelemetry-instrument`` would do in this environment, and what is wrong with it."""

from __future__ import annotations

import os
import re
import socket
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib.metadata import Distribution, EntryPoint, distributions, entry_points
from typing import Any
from urllib.parse import urlsplit

from llmotel.distro._variables import VARIABLES, apply_flag_overrides
from llmotel.sdk.config import ConfigError

__all__ = ["Finding", "Report", "diagnose"]

_OTHER_INSTRUMENTS = re.compile(r"^\s*([A-Za-z0-9_.-]+)")


@dataclass
class Finding:
    """One problem (``level="error"``, makes doctor exit non-zero) or warning."""

    level: str
    topic: str
    message: str
    fix: str = ""


@dataclass
class Report:
    distributions: dict[str, str] = field(default_factory=dict)
    instrumentors: list[dict[str, Any]] = field(default_factory=list)
    distro: dict[str, Any] = field(default_factory=dict)
    configurator: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    exporters: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _dist_of(ep: EntryPoint) -> Distribution | None:
    return getattr(ep, "dist", None)


def _instrumented_libraries(dist: Distribution | None) -> list[str]:
    """The libraries an instrumentor targets, from its ``instruments`` extra (what opentelemetry-instrument checks)."""
    if dist is None:
        return []
    names = []
    for req in dist.requires or []:
        if "extra ==" in req and ("instruments" in req.split("extra ==", 1)[1]):
            m = _OTHER_INSTRUMENTS.match(req)
            if m:
                names.append(m.group(1).lower().replace("_", "-"))
    return names


def _choose(group: str, selector_var: str, env: Mapping[str, str]) -> dict[str, Any]:
    found = [
        (ep.name, ep.value, (_dist_of(ep) or _NoDist()).metadata["Name"])
        for ep in entry_points(group=group)
    ]
    chosen = env.get(selector_var)
    info: dict[str, Any] = {
        "found": [{"name": n, "target": v, "distribution": d} for n, v, d in found]
    }
    if chosen:
        info["selected_by"] = f"{selector_var}={chosen}"
        info["winner"] = chosen if any(n == chosen for n, _, _ in found) else None
    elif found:
        info["selected_by"] = (
            "first found (install order; not deterministic)" if len(found) > 1 else "only one"
        )
        info["winner"] = found[0][0]
    else:
        info["winner"] = None
    return info


class _NoDist:
    metadata: Mapping[str, str] = {"Name": "?", "Version": "?"}


def _reachable(url: str, timeout: float = 1.0) -> tuple[bool, str]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 4318)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, f"{host}:{port} accepts connections"
    except OSError as exc:
        return False, f"{host}:{port}: {exc.strerror or exc}"


def _endpoint(signal: str, env: Mapping[str, str]) -> str:
    specific = env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    if specific:
        return specific
    protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    default = "http://localhost:4317" if protocol == "grpc" else "http://localhost:4318"
    return env.get("OTEL_EXPORTER_OTLP_ENDPOINT", default)


def diagnose(environ: Mapping[str, str] | None = None, *, check_network: bool = True) -> Report:
    """Inspect installed distributions, entry points, configuration and exporter endpoints."""
    env: dict[str, str] = dict(os.environ if environ is None else environ)
    apply_flag_overrides(env)
    report = Report()

    for dist in distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().startswith("llmotel"):
            report.distributions[name] = dist.version

    disabled = {
        x.strip()
        for x in env.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")
        if x.strip()
    }
    by_name: dict[str, list[str]] = defaultdict(list)
    by_library: dict[str, list[str]] = defaultdict(list)
    for ep in entry_points(group="opentelemetry_instrumentor"):
        ep_dist = _dist_of(ep)
        dist_name = ep_dist.metadata["Name"] if ep_dist else "?"
        libraries = _instrumented_libraries(ep_dist)
        active = ep.name not in disabled and "*" not in disabled
        report.instrumentors.append(
            {
                "name": ep.name,
                "target": ep.value,
                "distribution": dist_name,
                "version": ep_dist.version if ep_dist else "?",
                "instruments": libraries,
                "enabled": active,
            }
        )
        by_name[ep.name].append(dist_name)
        if active:
            for lib in libraries:
                by_library[lib].append(f"{ep.name} ({dist_name})")
    for name, dists in by_name.items():
        if len(dists) > 1:
            report.findings.append(
                Finding(
                    "error",
                    "instrumentors",
                    f"entry-point name clash: {len(dists)} instrumentors are named {name!r} ({', '.join(dists)}); "
                    f"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS={name} would disable all of them",
                    f"uninstall all but one of {', '.join(dists)}",
                )
            )
    for lib, instrumentors in by_library.items():
        if len(instrumentors) > 1:
            others = [i.split(" ", 1)[0] for i in instrumentors if not i.startswith("llmotel_")]
            report.findings.append(
                Finding(
                    "error",
                    "instrumentors",
                    f"{lib} is instrumented {len(instrumentors)} times ({', '.join(instrumentors)}): "
                    "every call would produce duplicate spans and double-counted metrics",
                    f"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS={','.join(others)}" if others else "",
                )
            )

    report.distro = _choose("opentelemetry_distro", "OTEL_PYTHON_DISTRO", env)
    # Our distro sets OTEL_PYTHON_CONFIGURATOR=llmotel when it wins and nothing else set it.
    configurator_env = dict(env)
    if report.distro.get("winner") == "llmotel":
        configurator_env.setdefault("OTEL_PYTHON_CONFIGURATOR", "llmotel")
    report.configurator = _choose(
        "opentelemetry_configurator", "OTEL_PYTHON_CONFIGURATOR", configurator_env
    )
    if report.configurator.get("winner") != "llmotel":
        report.findings.append(
            Finding(
                "warning" if report.configurator.get("winner") else "error",
                "configurator",
                f"the configurator that runs is {report.configurator.get('winner')!r}, not llmotel: "
                "none of llmotel's processors, samplers or Views will be set up",
                "export OTEL_PYTHON_CONFIGURATOR=llmotel",
            )
        )
    elif (
        len(report.configurator["found"]) > 1 and "OTEL_PYTHON_CONFIGURATOR" not in configurator_env
    ):
        report.findings.append(
            Finding(
                "warning",
                "configurator",
                "several configurators are installed; the first found wins",
                "export OTEL_PYTHON_CONFIGURATOR=llmotel",
            )
        )

    report.config = _effective_config(env, report)

    for signal in ("traces", "metrics", "logs"):
        names = env.get(
            f"OTEL_{signal.upper()}_EXPORTER",
            "otlp" if report.distro.get("winner") == "llmotel" else "",
        )
        for name in [n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"]:
            entry: dict[str, Any] = {"signal": signal, "exporter": name}
            if name.startswith("otlp"):
                url = _endpoint(signal, env)
                entry["endpoint"] = url
                if check_network:
                    ok, detail = _reachable(url)
                    entry["reachable"] = ok
                    entry["detail"] = detail
                    if not ok:
                        report.findings.append(
                            Finding(
                                "error",
                                "exporters",
                                f"{signal} exporter {name} cannot reach {url}: {detail}",
                                "start the collector/backend or set OTEL_EXPORTER_OTLP_ENDPOINT",
                            )
                        )
            report.exporters.append(entry)
    return report


def _effective_config(env: Mapping[str, str], report: Report) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for variable in VARIABLES:
        config[variable.name] = {
            "value": env.get(variable.name),
            "default": variable.default,
            "accepted": variable.accepted,
        }
    from llmotel.distro._setup import read_settings

    try:
        settings = read_settings(env)
        config["resolved"] = asdict(settings)
    except ConfigError as exc:
        report.findings.append(Finding("error", "config", str(exc)))
        return config
    for check in _piece_checks(settings):
        try:
            check(env)
        except ConfigError as exc:
            report.findings.append(Finding("error", "config", str(exc)))
    return config


def _piece_checks(settings: Any) -> list[Any]:
    """Each enabled piece's own ``from_env`` reader, so its variables are validated too."""
    from llmotel.distro._setup import piece_config_readers

    return piece_config_readers(settings)
