"""The ``llmotel`` command: ``llmotel doctor`` and ``llmotel demo``."""

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


def _print_doctor(report: Any, out: TextIO) -> None:
    s = Style(out)
    w = out.write
    w(s.bold("llmotel distributions\n"))
    for name, version in sorted(report.distributions.items()):
        w(f"  {name} {s.dim(version)}\n")
    w(s.bold("\ninstrumentors (opentelemetry_instrumentor)\n"))
    for inst in report.instrumentors:
        state = s.green("on ") if inst["enabled"] else s.dim("off")
        libs = ", ".join(inst["instruments"]) or "?"
        w(
            f"  {state} {inst['name']:<24} {inst['distribution']} {s.dim(inst['version'])}  → {libs}\n"
        )
    for title, info in (("distro", report.distro), ("configurator", report.configurator)):
        found = (
            ", ".join(f"{f['name']} ({f['distribution']})" for f in info.get("found", [])) or "none"
        )
        w(
            s.bold(f"\n{title}: ")
            + f"{info.get('winner')!s}  {s.dim('[' + str(info.get('selected_by', '')) + ']')}\n"
        )
        w(f"  installed: {found}\n")
    w(s.bold("\nconfiguration\n"))
    resolved = report.config.get("resolved")
    for name, item in report.config.items():
        if name == "resolved":
            continue
        value = item["value"]
        shown = s.cyan(value) if value is not None else s.dim(f"{item['default']} (default)")
        w(f"  {name:<34} {shown}\n")
    if resolved:
        on = [k for k, v in resolved.items() if v not in (False, "off")]
        w(f"  → enabled: {', '.join(on) or 'nothing'}\n")
    w(s.bold("\nexporters\n"))
    for e in report.exporters or [{"signal": "-", "exporter": "none configured"}]:
        reach = ""
        if "reachable" in e:
            reach = s.green(" reachable") if e["reachable"] else s.red(" UNREACHABLE")
        w(f"  {e['signal']:<8} {e['exporter']:<10} {e.get('endpoint', '')}{reach}\n")
    w(s.bold("\nfindings\n"))
    if not report.findings:
        w(s.green("  no problems found\n"))
    for f in report.findings:
        tag = s.red("ERROR  ") if f.level == "error" else s.yellow("warning")
        w(f"  {tag} [{f.topic}] {f.message}\n")
        if f.fix:
            w(f"          fix: {f.fix}\n")


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="llmotel", description="llmotel: OpenTelemetry for LLM applications"
    )
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
