"""One table of every LLMOTEL_* variable: complete against the source, and what docs/configuration.md shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmotel.distro import VARIABLES
from llmotel.distro._variables import flag_attribute, update_document

REPO = Path(__file__).resolve().parents[3]
QUOTED = re.compile(r"[\"'](LLMOTEL_[A-Z0-9_]*[A-Z0-9])[\"']")
# A module-level Python constant named LLMOTEL_* (quoted in its module's __all__) is not a variable.
DEFINED = re.compile(r"^(LLMOTEL_[A-Z0-9_]*[A-Z0-9])\s*[:=]", re.MULTILINE)


def test_every_variable_read_in_the_source_is_in_the_table() -> None:
    in_source: set[str] = set()
    constants: set[str] = set()
    for path in (REPO / "packages").glob("*/src/**/*.py"):
        text = path.read_text()
        in_source.update(QUOTED.findall(text))
        constants.update(DEFINED.findall(text))
    in_source -= constants
    assert in_source, "the scan found the packages"
    assert sorted(in_source - {v.name for v in VARIABLES}) == []
    assert sorted({v.name for v in VARIABLES} - in_source) == []


def test_docs_configuration_shows_the_table() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    assert doc == update_document(doc), "run `nox -s generate` to refresh docs/configuration.md"


@pytest.mark.parametrize("name", [v.name for v in VARIABLES])
def test_every_variable_is_a_flag_named_after_it(name: str) -> None:
    # opentelemetry-instrument: re.sub(r"OTEL_(PYTHON_)?", "", attribute).lower() gives the flag.
    assert re.sub(r"OTEL_(PYTHON_)?", "", flag_attribute(name)).lower() == name.lower()
