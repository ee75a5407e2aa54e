"""Where the semantic-convention sources are, for the tests that compare against them."""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from types import ModuleType

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
