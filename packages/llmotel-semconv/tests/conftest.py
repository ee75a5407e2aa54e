"""Where the semantic-convention sources are, for the tests that compare against them."""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

PACKAGE_DIR = pathlib.Path(__file__).resolve().parent.parent
GENERATOR = PACKAGE_DIR / "scripts" / "generate.py"
GENERATED_DIR = PACKAGE_DIR / "src" / "llmotel" / "semconv" / "_generated"
VERSION = "v1.41.0"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llmotel_semconv_generate", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def semconv_dir() -> pathlib.Path:
    """The in-repo pinned copy (or ``$LLMOTEL_SEMCONV_DIR``), as the generator finds it."""
    found = _generator().default_semconv_dir()
    assert (found / VERSION / "model").is_dir(), f"GenAI semconv sources missing at {found}"
    return found


@pytest.fixture(scope="session")
def release_dir(semconv_dir: pathlib.Path) -> pathlib.Path:
    return semconv_dir / VERSION


#: ``consumed(name)``: the list the values of ``name``'s points are appended to as the SDK's
#: per-point path (a view match's ``consume_measurement``) receives them.
Consumed = Callable[[str], list[float]]


@pytest.fixture
def consumed(monkeypatch: pytest.MonkeyPatch) -> Consumed:
    from opentelemetry.sdk.metrics._internal._view_instrument_match import _ViewInstrumentMatch

    seen: dict[str, list[float]] = {}
    original = _ViewInstrumentMatch.consume_measurement

    def counting(self: Any, measurement: Any, *args: Any, **kwargs: Any) -> None:
        found = seen.get(measurement.instrument.name)
        if found is not None:  # not others, like the SDK's own metrics (1.41)
            found.append(measurement.value)
        original(self, measurement, *args, **kwargs)

    monkeypatch.setattr(_ViewInstrumentMatch, "consume_measurement", counting)
    return lambda name: seen.setdefault(name, [])


def beside_threads(work: Callable[[], None], threads: int, collect: Callable[[bool], None]) -> None:
    """Run ``work`` on ``threads`` threads while another calls ``collect(False)`` over and over (a
    reader collecting all the while, as a periodic one would), then ``collect(True)`` once they
    are done."""
    done = threading.Event()

    def collecting() -> None:
        while not done.is_set():
            collect(False)
        collect(True)

    collector = threading.Thread(target=collecting)
    collector.start()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    collector.join()
