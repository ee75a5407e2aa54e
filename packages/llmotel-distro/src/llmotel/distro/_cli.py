"""The ``llmotel`` command: ``llmotel doctor``, ``llmotel demo`` and ``llmotel --version``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["main"]


class Style:
    """ANSI colour when writing to a terminal (and ``NO_COLOR`` is unset), plain text when piped."""

    def __init__(self, stream: TextIO) -> None:
        self.enabled = stream.isatty() and "NO_COLOR" not in os.environ

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def red(self, text: str) -> str:
        return self._wrap("31", text)

    def green(self, text: str) -> str:
        return self._wrap("32", text)

    def yellow(self, text: str) -> str:
        return self._wrap("33", text)

    def cyan(self, text: str) -> str:
        return self._wrap("36", text)


def _print_instrumentors(report: Any, out: TextIO, s: Style) -> None:
    out.write(s.bold("\ninstrumentors (opentelemetry_instrumentor)\n"))
    colour = {"on": s.green, "off": s.dim, "not installed": s.yellow}
    for inst in report.instrumentors:
        state = colour.get(inst["state"], s.dim)(f"{inst['state']:<13}")
        libs = ", ".join(inst["instruments"]) or "?"
        detail = f"  {s.dim(inst['detail'])}" if inst["detail"] else ""
        out.write(
            f"  {state} {inst['name']:<24} {inst['distribution']} {s.dim(inst['version'])}  → {libs}{detail}\n"
        )


def _print_entry_points(report: Any, out: TextIO, s: Style) -> None:
    for title, info in (("distro", report.distro), ("configurator", report.configurator)):
        found = (
            ", ".join(f"{f['name']} ({f['distribution']})" for f in info.get("found", [])) or "none"
        )
        selected = s.dim("[" + str(info.get("selected_by", "")) + "]")
        out.write(s.bold(f"\n{title}: ") + f"{info.get('winner')!s}  {selected}\n")
        out.write(f"  installed: {found}\n")


def _print_configuration(report: Any, out: TextIO, s: Style) -> None:
    out.write(s.bold("\nconfiguration") + s.dim(" (variables set; the rest take their defaults)\n"))
    defaults = set(report.config.get("distro_defaults", ()))
    for name, value in report.config.get("set", {}).items():
        origin = s.dim("  (llmotel distro default)") if name in defaults else ""
        out.write(f"  {name:<44} {s.cyan(value)}{origin}\n")
    resolved = report.config.get("resolved")
    if resolved:
        on = [k for k, v in resolved.items() if v not in (False, "off")]
        if report.config.get("mcp_sdk_span_names"):
            on.append("normalize (mcp 2.x span names only)")
        out.write(f"  → enabled: {', '.join(on) or 'nothing'}\n")


def _print_exporters(report: Any, out: TextIO, s: Style) -> None:
    out.write(s.bold("\nexporters\n"))
    if not report.exporters:
        out.write("  none configured\n")
    for e in report.exporters:
        reach = ""
        if "reachable" in e:
            reach = s.green(" reachable") if e["reachable"] else s.red(" UNREACHABLE")
        detail = "" if "reachable" in e or not e.get("detail") else s.dim(f"  {e['detail']}")
        out.write(
            f"  {e['signal']:<8} {e['exporter']:<16} {e.get('endpoint', '')}{reach}{detail}\n"
        )


def _print_findings(report: Any, out: TextIO, s: Style) -> None:
    out.write(s.bold("\nfindings\n"))
    if not report.findings:
        out.write(s.green("  no problems found\n"))
    for f in report.findings:
        tag = s.red("ERROR  ") if f.level == "error" else s.yellow("warning")
        out.write(f"  {tag} [{f.topic}] {f.message}\n")
        if f.fix:
            out.write(f"          fix: {f.fix}\n")


def _print_doctor(report: Any, out: TextIO) -> None:
    s = Style(out)
    out.write(s.bold("llmotel distributions\n"))
    for name, version in report.distributions.items():
        out.write(f"  {name} {s.dim(version)}\n")
    _print_instrumentors(report, out, s)
    _print_entry_points(report, out, s)
    _print_configuration(report, out, s)
    _print_exporters(report, out, s)
    _print_findings(report, out, s)


def _doctor(args: argparse.Namespace) -> int:
    from llmotel.distro._doctor import diagnose

    report = diagnose(check_network=not args.offline)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print_doctor(report, sys.stdout)
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
    from llmotel.distro._demo import run_demo

    return run_demo(ui=args.ui, as_json=args.json)


def versions() -> list[tuple[str, str]]:
    """(distribution, version) of every installed llmotel distribution, then the OpenTelemetry ones it runs on."""
    from importlib.metadata import PackageNotFoundError, version

    from llmotel.distro._doctor import llmotel_distributions

    found = list(llmotel_distributions().items())
    for name in ("opentelemetry-api", "opentelemetry-sdk", "opentelemetry-instrumentation"):
        try:
            found.append((name, version(name)))
        except PackageNotFoundError:
            found.append((name, "not installed"))
    return found


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            help="show the installed llmotel and OpenTelemetry versions",
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        width = max(len(name) for name, _ in versions())
        for name, found in versions():
            sys.stdout.write(f"{name:<{width}}  {found}\n")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="llmotel", description="llmotel: OpenTelemetry for LLM applications"
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser(
        "doctor", help="show what opentelemetry-instrument would do here, and what is wrong"
    )
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.add_argument(
        "--offline", action="store_true", help="do not try to connect to exporter endpoints"
    )
    doctor.set_defaults(func=_doctor)
    demo = sub.add_parser(
        "demo", help="run example LLM apps against a local stub server and show their telemetry"
    )
    demo.add_argument(
        "--json", action="store_true", help="print the received telemetry summary as JSON"
    )
    demo.add_argument(
        "--ui", action="store_true", help="also start Arize Phoenix and send the traces there"
    )
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
