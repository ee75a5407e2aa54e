"""``llmotel doctor``: what ``opentelemetry-instrument`` would do in this environment, and what is wrong with it.

Each question goes to the code that decides it at start-up: the distro's own defaults
(:func:`apply_distro_defaults`), the one environment check start-up runs (:func:`check_environment`),
``opentelemetry-instrumentation``'s dependency rule for instrumentors, and the SDK for which exporter loads and
the endpoint it sends to.
"""

from __future__ import annotations

import importlib
import os
import socket
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import Distribution, EntryPoint, distributions, entry_points
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.instrumentation.dependencies import (
    DependencyConflict,
    get_dist_dependency_conflicts,
)
from opentelemetry.instrumentation.environment_variables import (
    OTEL_PYTHON_CONFIGURATOR,
    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS,
    OTEL_PYTHON_DISTRO,
)
from opentelemetry.sdk._configuration import _get_exporter_names
from packaging.requirements import Requirement

from llmotel.distro._distro import apply_distro_defaults
from llmotel.distro._settings import check_environment
from llmotel.distro._variables import apply_flag_overrides
from llmotel.semconv.inference import INSTRUMENTATION_CONFLICT

__all__ = ["Finding", "Report", "diagnose"]

_SIGNALS = ("traces", "metrics", "logs")
_SECRETS = ("HEADERS", "KEY", "PASSWORD", "TOKEN")
_OTEL_CONFIG_FILE = "OTEL_CONFIG_FILE"


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


def diagnose(environ: Mapping[str, str] | None = None, *, check_network: bool = True) -> Report:
    """Inspect installed distributions, entry points, configuration and exporter endpoints."""
    env: dict[str, str] = dict(os.environ if environ is None else environ)
    report = Report(distributions=llmotel_distributions())
    report.distro = _choose("opentelemetry_distro", OTEL_PYTHON_DISTRO, env)
    given = set(env)
    if report.distro.get("winner") == "llmotel":
        apply_distro_defaults(env)  # the environment the application will see
    else:
        apply_flag_overrides(env)  # the configurator still does this
    defaults = sorted(set(env) - given)
    report.instrumentors = _instrumentors(env)
    report.findings += _instrumentor_findings(report.instrumentors, env)
    report.configurator = _choose("opentelemetry_configurator", OTEL_PYTHON_CONFIGURATOR, env)
    if OTEL_PYTHON_CONFIGURATOR in defaults:
        report.configurator["selected_by"] += " (the llmotel distro's default)"
    report.findings += _configurator_findings(report.configurator, env)
    report.config, findings = _configuration(env)
    report.config["distro_defaults"] = defaults
    report.findings += findings
    with _environment(env):
        report.exporters = _exporters()
    if check_network:
        report.findings += _reach(report.exporters)
    return report


def llmotel_distributions() -> dict[str, str]:
    """Name → version of every installed llmotel distribution."""
    found = {}
    for dist in distributions():
        name = dist.metadata["Name"] or ""
        if name.lower().startswith("llmotel"):
            found[name] = dist.version
    return dict(sorted(found.items()))


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` inside: the SDK's resolution rules read the process environment."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _dist_of(ep: EntryPoint) -> Distribution | None:
    return getattr(ep, "dist", None)


def _dist_name(ep: EntryPoint) -> str:
    dist = _dist_of(ep)
    return str(dist.metadata["Name"]) if dist is not None else "?"


def _requirements(dist: Distribution | None) -> list[str]:
    """The library names of an instrumentor's ``instruments`` extras (what opentelemetry-instrument checks)."""
    names = []
    for req in (dist.requires if dist else None) or []:
        parsed = Requirement(req)
        if parsed.marker is not None and "instruments" in str(parsed.marker):
            names.append(parsed.name.lower().replace("_", "-"))
    return names


def _without_marker(requirement: object) -> str:
    parsed = Requirement(str(requirement))
    return f"{parsed.name}{parsed.specifier}"


def _missing(conflict: DependencyConflict) -> str:
    """opentelemetry-instrumentation's reason for skipping an instrumentor, in a few words."""
    if conflict.required:
        found = f"found {conflict.found}" if conflict.found else "not installed"
        return f"needs {_without_marker(conflict.required)} ({found})"
    if conflict.required_any:
        wanted = ", ".join(_without_marker(r) for r in conflict.required_any)
        return f"needs one of {wanted} (none installed)"
    return str(conflict)


def _instrumentors(env: Mapping[str, str]) -> list[dict[str, Any]]:
    disabled = {
        x.strip()
        for x in env.get(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, "").split(",")
        if x.strip()
    }
    found = []
    for ep in entry_points(group="opentelemetry_instrumentor"):
        dist = _dist_of(ep)
        conflict = get_dist_dependency_conflicts(dist) if dist is not None else None
        if ep.name in disabled or "*" in disabled:
            state, detail = "off", f"{OTEL_PYTHON_DISABLED_INSTRUMENTATIONS} lists it"
        elif conflict is not None:
            state, detail = "not installed", _missing(conflict)
        else:
            state, detail = "on", ""
        found.append(
            {
                "name": ep.name,
                "target": ep.value,
                "distribution": _dist_name(ep),
                "version": dist.version if dist else "?",
                "instruments": _requirements(dist),
                "state": state,
                "detail": detail,
            }
        )
    return found


def _instrumentor_findings(
    instrumentors: list[dict[str, Any]], env: Mapping[str, str]
) -> list[Finding]:
    findings = []
    by_name: dict[str, list[str]] = defaultdict(list)
    by_library: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for inst in instrumentors:
        by_name[inst["name"]].append(inst["distribution"])
        if inst["state"] == "on":
            for lib in inst["instruments"]:
                by_library[lib].append(inst)
    for name, dists in by_name.items():
        if len(dists) > 1:
            findings.append(
                Finding(
                    "error",
                    "instrumentors",
                    f"entry-point name clash: {len(dists)} instrumentors are named {name!r} ({', '.join(dists)}); "
                    f"{OTEL_PYTHON_DISABLED_INSTRUMENTATIONS}={name} would disable all of them",
                    f"uninstall all but one of {', '.join(dists)}",
                )
            )
    for lib, users in by_library.items():
        if len(users) > 1:
            findings.append(_several_instrumentations(lib, users, env))
    return findings


def _peers_of(inst: dict[str, Any]) -> set[str]:
    """``module:Class`` of the instrumentations an llmotel instrumentor settles with
    (``LLMOTEL_INSTRUMENTATION_CONFLICT``): its module's ``PEERS``."""
    try:
        module = importlib.import_module(str(inst["target"]).split(":", 1)[0])
    except Exception:  # noqa: BLE001 - a broken instrumentor settles nothing
        return set()
    return {f"{m}:{c}" for m, c in getattr(module, "PEERS", ())}


def _several_instrumentations(
    lib: str, users: list[dict[str, Any]], env: Mapping[str, str]
) -> Finding:
    """A library several enabled instrumentors patch: an error, unless llmotel's rule for its
    peers (``LLMOTEL_INSTRUMENTATION_CONFLICT``) leaves exactly one of them recording."""
    listed = ", ".join(f"{u['name']} ({u['distribution']})" for u in users)
    ours = [u for u in users if u["name"].startswith("llmotel_")]
    others = [u for u in users if not u["name"].startswith("llmotel_")]
    if len(ours) == 1 and others:
        peers = _peers_of(ours[0])
        if all(u["target"] in peers for u in others):
            rule = (env.get(INSTRUMENTATION_CONFLICT) or "llmotel").strip().lower()
            if rule != "peer":
                return Finding(
                    "warning",
                    "instrumentors",
                    f"{lib} is instrumented {len(users)} times ({listed}): "
                    f"{INSTRUMENTATION_CONFLICT}=llmotel keeps {ours[0]['name']} and switches the "
                    "others off at start-up",
                    f"{INSTRUMENTATION_CONFLICT}=peer to keep "
                    f"{', '.join(u['name'] for u in others)} instead",
                )
            if len(others) == 1:
                return Finding(
                    "warning",
                    "instrumentors",
                    f"{lib} is instrumented {len(users)} times ({listed}): "
                    f"{INSTRUMENTATION_CONFLICT}=peer leaves it to {others[0]['name']}; "
                    f"{ours[0]['name']} stays off",
                )
    names = [u["name"] for u in others] or [u["name"] for u in users[1:]]
    return Finding(
        "error",
        "instrumentors",
        f"{lib} is instrumented {len(users)} times ({listed}): "
        "every call would produce duplicate spans and double-counted metrics",
        f"{OTEL_PYTHON_DISABLED_INSTRUMENTATIONS}={','.join(names)}",
    )


def _choose(group: str, selector_var: str, env: Mapping[str, str]) -> dict[str, Any]:
    found = [(ep.name, ep.value, _dist_name(ep)) for ep in entry_points(group=group)]
    chosen = env.get(selector_var)
    info: dict[str, Any] = {
        "found": [{"name": n, "target": v, "distribution": d} for n, v, d in found]
    }
    if chosen:
        info["selected_by"] = f"{selector_var}={chosen}"
        info["winner"] = chosen if any(n == chosen for n, _, _ in found) else None
    elif found:
        several = len(found) > 1
        info["selected_by"] = (
            "first found (install order; not deterministic)" if several else "only one"
        )
        info["winner"] = found[0][0]
    else:
        info["winner"] = None
    return info


def _configurator_findings(configurator: dict[str, Any], env: Mapping[str, str]) -> list[Finding]:
    winner = configurator.get("winner")
    fix = f"export {OTEL_PYTHON_CONFIGURATOR}=llmotel"
    if winner != "llmotel":
        return [
            Finding(
                "warning" if winner else "error",
                "configurator",
                f"the configurator that runs is {winner!r}, not llmotel: "
                "none of llmotel's processors, samplers or Views will be set up",
                fix,
            )
        ]
    if len(configurator["found"]) > 1 and OTEL_PYTHON_CONFIGURATOR not in env:
        return [
            Finding(
                "warning",
                "configurator",
                "several configurators are installed; the first found wins",
                fix,
            )
        ]
    return []


def _shown(name: str, value: str) -> str:
    return "<hidden>" if any(word in name for word in _SECRETS) else value


def _configuration(env: Mapping[str, str]) -> tuple[dict[str, Any], list[Finding]]:
    """The variables set (after the distro's defaults) and what start-up's own check says about them."""
    config: dict[str, Any] = {
        "set": {
            k: _shown(k, v) for k, v in sorted(env.items()) if k.startswith(("OTEL_", "LLMOTEL_"))
        },
        "resolved": None,
    }
    if env.get(_OTEL_CONFIG_FILE):
        message = (
            f"{_OTEL_CONFIG_FILE} is set: the SDK's declarative configuration runs, "
            "and none of the variables below nor llmotel's pieces are used"
        )
        return config, [Finding("warning", "config", message)]
    checked = check_environment(env)
    if checked.settings is not None:
        config["resolved"] = asdict(checked.settings)
        from llmotel.distro._setup import mcp_sdk_spans

        # What the pipeline runs for mcp 2.x's own CLIENT spans when normalization is off.
        config["mcp_sdk_span_names"] = checked.settings.normalize == "off" and mcp_sdk_spans(env)
    findings = [Finding("error", "config", str(e)) for e in checked.errors]
    findings += [Finding("warning", "config", w) for w in checked.warnings]
    return config, findings


def _exporters() -> list[dict[str, Any]]:
    """Each exporter the SDK would load, and where it sends: asked of the SDK and the exporter itself."""
    found: list[dict[str, Any]] = []
    for signal in _SIGNALS:
        try:
            names = _get_exporter_names(signal)  # type: ignore[arg-type]
        except RuntimeError as exc:
            found.append({"signal": signal, "exporter": "?", "detail": str(exc)})
            continue
        found.extend({"signal": signal, "exporter": n, **_endpoint_of(signal, n)} for n in names)
    return found


def _endpoint_of(signal: str, name: str) -> dict[str, Any]:
    matches = list(entry_points(group=f"opentelemetry_{signal}_exporter", name=name))
    if not matches:
        return {"detail": "not installed"}
    if not name.startswith("otlp"):
        return {}
    try:
        exporter = matches[0].load()()
    except Exception as exc:  # noqa: BLE001 - doctor reports what start-up would hit
        return {"detail": f"cannot be created: {exc}"}
    endpoint = getattr(exporter, "_endpoint", None)
    exporter.shutdown()
    return {"endpoint": str(endpoint)} if endpoint else {}


def _reachable(url: str, timeout: float = 1.0) -> tuple[bool, str]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, f"{host}:{port} accepts connections"
    except OSError as exc:
        return False, f"{host}:{port}: {exc.strerror or exc}"


def _reach(exporters: list[dict[str, Any]]) -> list[Finding]:
    findings = []
    for entry in exporters:
        if "endpoint" not in entry:
            continue
        ok, detail = _reachable(entry["endpoint"])
        entry["reachable"] = ok
        entry["detail"] = detail
        if not ok:
            findings.append(
                Finding(
                    "error",
                    "exporters",
                    f"{entry['signal']} exporter {entry['exporter']} cannot reach {entry['endpoint']}: {detail}",
                    "start the collector/backend or set OTEL_EXPORTER_OTLP_ENDPOINT",
                )
            )
    return findings
