"""Shared pieces of the redaction tests: one warmed-up default redactor, the corpus on sys.path."""

from __future__ import annotations

import pathlib
import sys

import pytest

# The generated corpus module is shared with benchmarks/bench_redaction.py.
sys.path.insert(0, str(pathlib.Path(__file__).parent))

from llmotel.redaction import Redactor


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    """The default redactor (default entities, ``<ENTITY_TYPE>`` replacement), built once."""
    return Redactor()
