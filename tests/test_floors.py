"""One source for version floors: ``[tool.llmotel.floors]`` in the root pyproject.toml.

Every requirement on a library listed there — in any package's dependencies, extras or dependency groups —
says ``>= <floor>`` (an upper bound may follow), every ``[tool.llmotel] oldest`` pin of it is the floor, and
the docs' "oldest tested" table says the same.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
FLOORS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["llmotel"][
    "floors"
]
PYPROJECTS = sorted((ROOT / "packages").glob("*/pyproject.toml"))


def _requirements(data: dict) -> Iterator[tuple[str, str]]:
    project = data["project"]
    for req in project.get("dependencies", []):
        yield "dependencies", req
    for extra, reqs in project.get("optional-dependencies", {}).items():
        for req in reqs:
            yield f"extra {extra}", req
    for group, reqs in data.get("dependency-groups", {}).items():
        for req in reqs:
            if isinstance(req, str):
                yield f"group {group}", req


def test_the_floors_table_names_libraries() -> None:
    assert {"openai", "anthropic", "opentelemetry-sdk", "opentelemetry-api"} <= set(FLOORS)


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=[p.parent.name for p in PYPROJECTS])
def test_every_requirement_asks_for_the_floor(pyproject: Path) -> None:
    data = tomllib.loads(pyproject.read_text())
    wrong = []
    for where, text in _requirements(data):
        req = Requirement(text)
        floor = FLOORS.get(req.name)
        if floor is None:
            continue
        lower = [s for s in req.specifier if s.operator == ">="]
        if len(lower) != 1 or Version(lower[0].version) != Version(floor):
            wrong.append(f"{where}: {text!r} (floor {floor})")
    assert wrong == []


@pytest.mark.parametrize("pyproject", PYPROJECTS, ids=[p.parent.name for p in PYPROJECTS])
def test_every_oldest_pin_is_the_floor(pyproject: Path) -> None:
    oldest = (
        tomllib.loads(pyproject.read_text()).get("tool", {}).get("llmotel", {}).get("oldest", [])
    )
    wrong = []
    for text in oldest:
        req = Requirement(text)
        if req.name not in FLOORS or not req.specifier:
            continue  # a bare name is pinned to its floor by the noxfile
        pins = [s for s in req.specifier if s.operator == "=="]
        if [Version(s.version.removesuffix(".*")) for s in pins] != [Version(FLOORS[req.name])]:
            wrong.append(f"{text!r} (floor {FLOORS[req.name]})")
    assert wrong == []


def test_the_sdk_floor_is_what_the_docs_say() -> None:
    table = (ROOT / "docs" / "instrumentation.md").read_text()
    for library in ("openai", "anthropic"):
        assert re.search(rf"\| `{library}` \| {re.escape(FLOORS[library])} \|", table), library
    sdk_readme = (ROOT / "packages" / "llmotel-sdk" / "README.md").read_text()
    floor = ".".join(FLOORS["opentelemetry-sdk"].split(".")[:2])
    assert f"({floor}+, the `opentelemetry-sdk >= {floor}` floor" in sdk_readme
