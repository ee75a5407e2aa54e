"""Run Python code under ``opentelemetry-instrument``, the way a user's app runs (zero code)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from llmotel.testing._assertions import console_spans
from llmotel.testing._replies import Usage, text_reply
from llmotel.testing._server import StubServer


def run_instrumented(
    code: str, env: Mapping[str, str], *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``opentelemetry-instrument python -c CODE`` with this interpreter, in an environment cleaned
    of every ``OTEL_*`` / ``LLMOTEL_*`` variable and then given ``env``. Read the spans of a
    console exporter (``OTEL_TRACES_EXPORTER=console``) with :func:`console_spans`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    clean.update(env)
    instrument = pathlib.Path(sys.executable).parent / "opentelemetry-instrument"
    return subprocess.run(
        [str(instrument), sys.executable, "-c", code],
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


#: ``opentelemetry-instrument`` through the llmotel distro and configurator, spans printed by the
#: console exporter (read them with :func:`console_spans`), no metrics or logs exported.
CONSOLE_ENV: Mapping[str, str] = {
    "OTEL_PYTHON_DISTRO": "llmotel",
    "OTEL_PYTHON_CONFIGURATOR": "llmotel",
    "OTEL_TRACES_EXPORTER": "console",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


def _spans(stdout: str, prefix: str) -> list[dict[str, Any]]:
    return [s for s in console_spans(stdout) if s["name"].startswith(prefix)]


def check_loads_by_entry_point(
    stub: StubServer,
    app: str,
    env: Mapping[str, str],
    *,
    span_name: str,
    provider: str,
    prefix: str = "",
) -> None:
    """Zero code: ``app`` (one call answered by ``stub``) under ``opentelemetry-instrument`` with
    :data:`CONSOLE_ENV` and ``env`` makes exactly one span whose name starts with ``prefix``: a
    CLIENT span ``span_name`` of ``provider`` with the stub's 3 input tokens."""
    stub.enqueue(text_reply("Hello", usage=Usage(input_tokens=3, output_tokens=1)))
    done = run_instrumented(app, {**CONSOLE_ENV, **env})
    assert done.returncode == 0, done.stderr
    [span] = _spans(done.stdout, prefix)
    assert span["name"] == span_name
    assert span["kind"] == "SpanKind.CLIENT"
    assert span["attributes"]["gen_ai.provider.name"] == provider
    assert span["attributes"]["gen_ai.usage.input_tokens"] == 3


def check_disabled_by_name(
    stub: StubServer, app: str, env: Mapping[str, str], *, entry_point: str, prefix: str = ""
) -> None:
    """``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=<entry_point>``: ``app`` makes its one call,
    uninstrumented (no span whose name starts with ``prefix``)."""
    stub.enqueue(text_reply("Hello"))
    done = run_instrumented(
        app, {**CONSOLE_ENV, **env, "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": entry_point}
    )
    assert done.returncode == 0, done.stderr
    assert len(stub.requests) == 1
    assert _spans(done.stdout, prefix) == []


_ON_IMPORT_APP = """
import importlib, sys, wrapt
from {module} import {cls}
instrumentor = {cls}()
instrumentor.instrument()
early = sorted(m for m in sys.modules if m == {sdk!r} or m.startswith({sdk!r} + "."))
assert not early, f"instrument() imported {{early}}"
if {restore!r}:
    instrumentor.uninstrument()
owner = importlib.import_module({owner_module!r})
for part in {owner_path!r}:
    owner = getattr(owner, part)
found = vars(owner)[{name!r}] if isinstance(owner, type) else getattr(owner, {name!r})
print(type(found).__name__ if isinstance(found, wrapt.FunctionWrapper) else "plain")
"""


def check_patched_on_import(instrumentor: str, sdk: str, target: str) -> None:
    """``instrument()`` imports nothing of ``sdk`` (an installed SDK the application never imports
    costs no start-up time), and ``target`` (``"module:Class.method"``) is wrapped when the
    application imports it; when ``uninstrument()`` came first, it is not. Each in a fresh
    interpreter. ``instrumentor``: ``"module:Class"``."""
    module, cls = instrumentor.split(":")
    owner_module, path = target.split(":")
    *owner_path, name = path.split(".")
    for restore, expected in ((False, "FunctionWrapper"), (True, "plain")):
        code = _ON_IMPORT_APP.format(
            module=module,
            cls=cls,
            sdk=sdk,
            restore=restore,
            owner_module=owner_module,
            owner_path=owner_path,
            name=name,
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [expected], (restore, done.stdout, done.stderr)
