"""Every task of the llmotel monorepo is a nox session.

    nox                      # the whole suite: lint, types, tests of every package, cross-package tests, build
    nox -s demo              # the demo: example apps against the local LLM stub server
    nox -s bench             # benchmarks; numbers go to benchmarks/results/
    nox -s generate          # regenerate llmotel.semconv from packages/llmotel-semconv/semconv (pinned v1.41.0)
    nox -l                   # list every session

Packages are discovered from ``packages/*/pyproject.toml``. A package's own test dependencies are its
``[dependency-groups] test``; names of other llmotel distributions in there (or in its dependencies) are
installed from this checkout, never from the package index. ``[tool.llmotel]`` in a package's pyproject
may set ``pythons`` (default 3.11 and 3.12), ``no-deps`` (requirements installed without their
dependency tree, e.g. llmgine, whose declared dependencies are huge but whose bus needs only two),
``oldest`` (pins of the oldest supported library versions: adds a ``tests-<pkg>-oldest`` session; a
bare name is pinned to its floor in the root ``[tool.llmotel.floors]``, the one table of floors that
tests/test_floors.py holds every pyproject to), ``newest`` (requirements of a newer line than the test
group pins, e.g. the next major: adds a ``tests-<pkg>-newest`` session) and ``apt`` (``{executable = "debian-package"}``: tools
its tests run; when one is missing, the package is downloaded and unpacked into the cache folder, not
installed).

Everything the suite creates outside ``.nox/`` venvs goes to one cache folder, ``.nox/cache`` (or
``$LLMOTEL_CACHE_DIR``): the Phoenix venv of the end-to-end test and ``llmotel demo --ui``
(``phoenix/``, ~620 MB), unpacked Debian tools (``apt/``) and the pip cache of the install check in
``build`` (``pip/``). uv keeps its own download cache where it always does (``uv cache dir``).
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable

import nox

ROOT = pathlib.Path(__file__).resolve().parent
PACKAGES_DIR = ROOT / "packages"
DIST_DIR = ROOT / "dist"
CACHE_DIR = pathlib.Path(os.environ.get("LLMOTEL_CACHE_DIR") or ROOT / ".nox" / "cache")
# Phoenix (tests/e2e, `llmotel demo --ui`) installs into the cache folder rather than ~/.cache.
os.environ.setdefault("LLMOTEL_PHOENIX_VENV", str(CACHE_DIR / "phoenix"))
DEFAULT_PYTHONS = ["3.11", "3.12"]
# Where everything that crosses packages runs: llmgine needs 3.12.
CROSS_PYTHON = "3.12"
# Always present in a test venv: the fixtures (llmotel-testing's pytest plugin) and the async runner.
BASE_TEST_REQS = ["pytest >= 8", "pytest-asyncio >= 0.24", "llmotel-testing"]

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.tags = ["suite"]


def _expose_pyenv_pythons() -> None:
    """Let nox/uv find python3.11, 3.12, 3.13 from pyenv instead of trying to download one.

    pyenv's shims only run the selected version; selecting all of them (3.11 first, so plain
    ``python3`` stays the machine default) makes ``python3.12`` resolve. Without pyenv, whatever
    Pythons are on PATH are used.
    """
    os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return
    out = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True, check=False)
    versions = sorted(
        (v for v in out.stdout.split() if re.fullmatch(r"3\.1[1-3]\.\d+", v)), key=_version_key
    )
    # The shim that started us sets PYENV_VERSION to its own version: keep that one first.
    selected = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
    selected += [v for v in versions if v not in selected]
    if selected:
        os.environ["PYENV_VERSION"] = ":".join(selected)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


_expose_pyenv_pythons()


class Package:
    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        data = tomllib.loads((path / "pyproject.toml").read_text())
        project = data["project"]
        self.name: str = project["name"]
        self.short = self.name.removeprefix("llmotel-").removeprefix("instrumentation-")
        self.dependencies: list[str] = project.get("dependencies", [])
        self.extras: dict[str, list[str]] = project.get("optional-dependencies", {})
        self.test_requires: list[str] = data.get("dependency-groups", {}).get("test", [])
        own = data.get("tool", {}).get("llmotel", {})
        self.pythons: list[str] = own.get("pythons", DEFAULT_PYTHONS)
        self.no_deps: list[str] = own.get("no-deps", [])
        self.import_names: list[str] = own.get("imports", [_default_import(self.name)])
        self.oldest: list[str] = [_pin_floor(req) for req in own.get("oldest", [])]
        self.newest: list[str] = own.get("newest", [])
        self.apt: dict[str, str] = own.get("apt", {})


def _floors() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(data["tool"]["llmotel"]["floors"])


def _pin_floor(req: str) -> str:
    """``openai`` -> ``openai == 1.66.0`` (its floor); a requirement with a version stays as written."""
    name = req.strip()
    return f"{name} == {_floors()[name]}" if re.fullmatch(r"[A-Za-z0-9_.-]+", name) else req


def _default_import(dist: str) -> str:
    return "llmotel." + dist.removeprefix("llmotel-").replace("-", ".")


def _discover() -> dict[str, Package]:
    found = {}
    for pyproject in sorted(PACKAGES_DIR.glob("*/pyproject.toml")):
        pkg = Package(pyproject.parent)
        found[pkg.name] = pkg
    return found


PACKAGES = _discover()


def _req_name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", req.strip(), maxsplit=1)[0].lower()


def _local_closure(reqs: Iterable[str]) -> list[Package]:
    """The llmotel distributions named in ``reqs``, plus everything they depend on, dependencies first."""
    ordered: list[Package] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in PACKAGES:
            return
        seen.add(name)
        pkg = PACKAGES[name]
        for dep in pkg.dependencies:
            visit(_req_name(dep))
        ordered.append(pkg)

    for req in reqs:
        visit(_req_name(req))
    return ordered


def _install(session: nox.Session, reqs: Iterable[str], *, editable: bool = True) -> None:
    """Install requirements; llmotel names come from this checkout (with their extras), the rest from the index."""
    reqs = list(reqs)
    local = _local_closure(reqs)
    local_names = {p.name for p in local}
    args: list[str] = []
    no_deps: list[str] = []
    for pkg in local:
        extras = set()
        for req in reqs:
            m = re.match(r"\s*([A-Za-z0-9_.-]+)\[([^\]]+)\]", req)
            if m and m.group(1).lower() == pkg.name:
                extras.update(e.strip() for e in m.group(2).split(","))
        target = str(pkg.path) + (f"[{','.join(sorted(extras))}]" if extras else "")
        args += ["-e", target] if editable else [target]
        no_deps += pkg.no_deps
    args += [r for r in reqs if _req_name(r) not in local_names]
    session.install(*args)
    if no_deps:
        session.install("--no-deps", *sorted(set(no_deps)))


def _supported(session: nox.Session, pkg: Package) -> None:
    if session.python not in pkg.pythons:
        session.skip(f"{pkg.name} is tested on {', '.join(pkg.pythons)}")


def _ensure_tools(session: nox.Session, tools: dict[str, str]) -> None:
    """Make ``tools`` (executable -> Debian package) available to the session without installing anything:
    a missing one's package is downloaded with ``apt-get download`` and unpacked under ``CACHE_DIR/apt``,
    whose ``usr/bin`` goes on the session's PATH. Only when apt has no package lists yet (a fresh
    container) and we are root does it run ``apt-get update`` first."""
    root = CACHE_DIR / "apt" / "root"
    missing = {
        exe: package
        for exe, package in tools.items()
        if shutil.which(exe) is None and not (root / "usr" / "bin" / exe).exists()
    }
    if missing and shutil.which("apt-get") is None:
        session.warn(
            f"missing {', '.join(missing)}: install the Debian packages {', '.join(missing.values())}"
        )
        return
    for package in sorted(set(missing.values())):
        debs = CACHE_DIR / "apt" / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        download = ["apt-get", "download", "-qq", package]
        if subprocess.run(download, cwd=debs, check=False, capture_output=True).returncode != 0:
            if os.geteuid() != 0:
                session.warn(f"apt-get download {package} failed; install it or run apt-get update")
                return
            session.run("apt-get", "update", "-qq", external=True)
            subprocess.run(download, cwd=debs, check=True)
        deb = max(debs.glob(f"{package}_*.deb"), key=lambda p: p.stat().st_mtime)
        session.run("dpkg-deb", "-x", str(deb), str(root), external=True)
    if any((root / "usr" / "bin" / exe).exists() for exe in tools):
        session.env["PATH"] = os.pathsep.join([str(root / "usr" / "bin"), os.environ["PATH"]])


def _pytest(session: nox.Session, tests: pathlib.Path) -> None:
    session.run("pytest", "-c", str(ROOT / "pyproject.toml"), str(tests), *session.posargs)


def _make_tests_session(pkg: Package) -> None:
    def tests(session: nox.Session) -> None:
        _supported(session, pkg)
        _ensure_tools(session, pkg.apt)
        _install(session, [pkg.name, *BASE_TEST_REQS, *pkg.test_requires])
        _pytest(session, pkg.path / "tests")

    tests.__doc__ = f"Unit tests of {pkg.name}."
    nox.session(name=f"tests-{pkg.short}", python=pkg.pythons, tags=["suite", "tests"])(tests)
    for which, pins in (("oldest", pkg.oldest), ("newest", pkg.newest)):
        if pins:
            _make_pinned_session(pkg, which, pins)


def _make_pinned_session(pkg: Package, which: str, pins: list[str]) -> None:
    def pinned(session: nox.Session) -> None:
        _ensure_tools(session, pkg.apt)
        _install(session, [pkg.name, *BASE_TEST_REQS, *pkg.test_requires])
        # A second install moves the pinned libraries to the oldest (or newest) versions we support.
        session.install(*pins)
        _pytest(session, pkg.path / "tests")

    pinned.__doc__ = f"Unit tests of {pkg.name} on the {which} supported: {', '.join(pins)}."
    nox.session(name=f"tests-{pkg.short}-{which}", python=pkg.pythons[0], tags=["suite", "tests"])(
        pinned
    )


for _pkg in PACKAGES.values():
    _make_tests_session(_pkg)


def _all_local_reqs() -> list[str]:
    """Every distribution of the repo with every extra it declares (except test-only ones)."""
    reqs = []
    for pkg in PACKAGES.values():
        extras = [e for e in pkg.extras if e not in ("ner",)]
        reqs.append(f"{pkg.name}[{','.join(extras)}]" if extras else pkg.name)
    return reqs


def _group(name: str) -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(data["dependency-groups"][name])


@nox.session(python=CROSS_PYTHON, tags=["suite"])
def integration(session: nox.Session) -> None:
    """Tests that cross packages: opentelemetry-instrument subprocesses, end-to-end export (tests/)."""
    test_reqs = [r for pkg in PACKAGES.values() for r in pkg.test_requires]
    _install(session, [*_all_local_reqs(), *BASE_TEST_REQS, *test_reqs, *_group("integration")])
    _pytest(session, ROOT / "tests")


@nox.session(python=CROSS_PYTHON, tags=["suite"])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install(*_group("lint"))
    session.run("ruff", "check", str(ROOT))
    session.run("ruff", "format", "--check", str(ROOT))


@nox.session(python=CROSS_PYTHON, tags=["suite"])
def types(session: nox.Session) -> None:
    """mypy --strict over the source of every distribution."""
    test_reqs = [r for pkg in PACKAGES.values() for r in pkg.test_requires]
    _install(session, [*_all_local_reqs(), *BASE_TEST_REQS, *test_reqs, *_group("types")])
    modules = [
        arg for pkg in PACKAGES.values() for name in pkg.import_names for arg in ("-p", name)
    ]
    session.run("mypy", *modules)


@nox.session(python=DEFAULT_PYTHONS[0], tags=["suite"])
def build(session: nox.Session) -> None:
    """Build a wheel and an sdist of every distribution, then install each wheel alone and import it."""
    session.install("build", "uv")
    if DIST_DIR.exists():
        shutil.rmtree(DIST_DIR)
    for pkg in PACKAGES.values():
        session.run("uv", "build", "--quiet", "--out-dir", str(DIST_DIR), str(pkg.path))
    for pkg in PACKAGES.values():
        wheel = next(DIST_DIR.glob(pkg.name.replace("-", "_") + "-*.whl"))
        venv = pathlib.Path(session.create_tmp()) / f"alone-{pkg.short}"
        session.run("uv", "venv", "--quiet", "--clear", "--python", sys.executable, str(venv))
        py = str(venv / "bin" / "python")
        # Sibling llmotel wheels resolve from dist/; everything else from the index. Our versions stay
        # put while the code changes, so uv must re-read our wheels rather than reuse its cache.
        refresh = [arg for p in PACKAGES.values() for arg in ("--refresh-package", p.name)]
        session.run(
            "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            py,
            *refresh,
            "--find-links",
            str(DIST_DIR),
            str(wheel),
        )
        if pkg.no_deps:
            session.run(
                "uv", "pip", "install", "--quiet", "--python", py, "--no-deps", *pkg.no_deps
            )
        code = "; ".join(f"import {name}" for name in pkg.import_names)
        session.run(py, "-c", f"{code}; print('{pkg.name}: imports alone')", external=True)

    _install_from_checkout(session)

    # What a user gets from `pip install 'llmotel-distro[demo]'` and `llmotel demo`, from the wheels.
    distro = next(DIST_DIR.glob("llmotel_distro-*.whl"))
    venv = pathlib.Path(session.create_tmp()) / "demo-from-wheels"
    session.run("uv", "venv", "--quiet", "--clear", "--python", sys.executable, str(venv))
    session.run(
        "uv",
        "pip",
        "install",
        "--quiet",
        "--python",
        str(venv / "bin" / "python"),
        *refresh,
        "--find-links",
        str(DIST_DIR),
        f"{distro}[demo]",
    )
    session.run(str(venv / "bin" / "llmotel"), "demo", external=True)


_CHECKOUT_MARKER = "<!-- build: each command runs in a fresh virtual environment (nox -s build) -->"


def _checkout_commands() -> list[str]:
    """The commands of the README block after ``_CHECKOUT_MARKER``, comments removed."""
    text = (ROOT / "README.md").read_text()
    block = text.split(_CHECKOUT_MARKER, 1)[1].split("```", 2)[1]
    lines = [line.split(" #", 1)[0].strip() for line in block.splitlines()[1:]]
    return [line for line in lines if line and not line.startswith("#")]


def _install_from_checkout(session: nox.Session) -> None:
    """The README's commands for installing one piece from this checkout, exactly as written, each in a
    fresh venv (with pip, as a user's has); then the piece named last must import."""
    commands = _checkout_commands()
    if not commands:
        session.error("README.md lost its install-from-checkout commands")
    for number, command in enumerate(commands):
        venv = pathlib.Path(session.create_tmp()) / f"from-checkout-{number}"
        session.run(
            "uv", "venv", "--quiet", "--clear", "--seed", "--python", sys.executable, str(venv)
        )
        # Outside nox's own environment (its venv's bin comes first on a session's PATH): the fresh venv's
        # pip and python first, the user's tools (uv) after them.
        env = {k: v for k, v in os.environ.items() if not k.startswith("UV_PROJECT")}
        env.update(
            VIRTUAL_ENV=str(venv),
            PATH=os.pathsep.join([str(venv / "bin"), os.environ["PATH"], session.bin]),
            PIP_CACHE_DIR=str(CACHE_DIR / "pip"),
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )
        session.log(f"from the checkout, in {venv}: {command}")
        subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, check=True)
        last = PACKAGES[pathlib.Path(re.findall(r"\./packages/[\w.-]+", command)[-1]).name]
        code = "; ".join(f"import {name}" for name in last.import_names)
        session.run(str(venv / "bin" / "python"), "-c", code, external=True)


@nox.session(python=CROSS_PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate llmotel.semconv from the pinned packages/llmotel-semconv/semconv, and the variable table of docs/configuration.md."""
    session.install("pyyaml")
    session.run("python", str(PACKAGES_DIR / "llmotel-semconv" / "scripts" / "generate.py"))
    session.install(*_group("lint"))
    session.run("ruff", "format", str(PACKAGES_DIR / "llmotel-semconv" / "src"))
    # The table of every LLMOTEL_* variable in docs/configuration.md.
    _install(session, ["llmotel-distro[all]"])
    session.run(
        "python", "-m", "llmotel.distro._variables", str(ROOT / "docs" / "configuration.md")
    )


@nox.session(python=CROSS_PYTHON)
def demo(session: nox.Session) -> None:
    """The demo: example LLM apps run against the local stub server, no API key needed."""
    # llmgine is installed without its dependency tree (see its package); its bus needs these two.
    _install(session, [*_all_local_reqs(), "python-dotenv", "sqlalchemy"])
    session.run("llmotel", "demo", *session.posargs)


@nox.session(python=CROSS_PYTHON)
def stress(session: nox.Session) -> None:
    """Adversity scenarios (not in the default suite): loopback only, bounded in time; each stress/stress_*.py
    prints its figures and writes them to stress/results/. posargs are passed to every script, e.g.
    ``nox -s stress -- --seconds 5``."""
    test_reqs = [r for pkg in PACKAGES.values() for r in pkg.test_requires]
    _install(session, [*_all_local_reqs(), *BASE_TEST_REQS, *test_reqs])
    results = ROOT / "stress" / "results"
    results.mkdir(exist_ok=True)
    for script in sorted((ROOT / "stress").glob("stress_*.py")):
        session.run(
            "python", str(script), "--out", str(results / f"{script.stem}.json"), *session.posargs
        )


@nox.session(python=CROSS_PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: runs every benchmarks/bench_*.py (or those named in posargs); results in benchmarks/results/."""
    test_reqs = [r for pkg in PACKAGES.values() for r in pkg.test_requires]
    _install(session, [*_all_local_reqs(), *BASE_TEST_REQS, *test_reqs, *_group("bench")])
    wanted = set(session.posargs)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        if wanted and script.stem.removeprefix("bench_") not in wanted:
            continue
        session.run("python", str(script), "--out", str(results / f"{script.stem}.json"))
