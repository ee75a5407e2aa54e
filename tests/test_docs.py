"""The docs run as pasted: every Python block of README.md, docs/*.md and packages/*/README.md is executed, and
every environment variable and command-line flag they name exists.

How a block runs, as a user who pastes it into ``snippet.py`` would run it:

- ``python snippet.py`` in a fresh process and an empty folder, with the environment a user would have: the
  ``openai``/``anthropic`` SDKs pointed at the stub LLM server (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``,
  ``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY``) and the OTLP exporters at a local receiver
  (``OTEL_EXPORTER_OTLP_ENDPOINT``). It must exit 0 with no traceback and no failed export on stderr.
- A block that defines ``test_*`` functions is a test module: ``python -m pytest snippet_test.py`` must pass
  (llmotel-testing's fixtures are there, as for any user who installed it).

Markers — an HTML comment on the line before the fence, invisible on GitHub:

- ``<!-- docs: continue -->`` the block goes on from the previous Python block of the same page (one program).
- ``<!-- docs: exports NAME; NAME{key}; NAME{key=value} -->`` after the run the receiver holds a span or a
  metric point of each name (with that attribute, or that value).
- ``<!-- docs: never-exports TEXT -->`` no received span or log record contains TEXT.
- A ``pycon`` block (``>>>`` prompts) is a doctest session: every output shown must be what Python prints.
- ``<!-- docs: partial -->`` a deliberate fragment: compiled, and its imports must resolve, but not run.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from llmotel.testing import StubServer
from llmotel.testing.otlp import OtlpReceiver

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "packages").glob("*/README.md")]
)
PYTHON_LANGS = {"python", "py", "pycon"}
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*docs:\s*(?P<body>.*?)\s*-->\s*$")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    markers: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _blocks(page: Path) -> Iterator[Block]:
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        markers: dict[str, str] = {}
        k = i - 1
        while k >= 0 and (marker := _MARKER.match(lines[k])):
            word, _, arg = marker["body"].partition(" ")
            markers[word] = arg.strip()
            k -= 1
        code = textwrap.dedent("\n".join(lines[i + 1 : end])) + "\n"
        yield Block(page, i + 1, m["lang"].lower(), code, markers)
        i = end + 1


def _programs() -> list[tuple[str, list[Block]]]:
    """One program per Python block; a ``continue`` block extends the program of the block before it."""
    programs: list[tuple[str, list[Block]]] = []
    for page in PAGES:
        previous: list[Block] = []
        for block in _blocks(page):
            if block.lang not in PYTHON_LANGS:
                continue
            if "continue" in block.markers:
                assert previous, f"{block.where}: 'continue' needs a Python block before it"
                chain = [*previous, block]
                programs[-1] = (block.where, chain)
            else:
                chain = [block]
                programs.append((block.where, chain))
            previous = chain
    return programs


PROGRAMS = _programs()


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


def _user_environment(stub: StubServer, receiver: OtlpReceiver) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "OPENAI_BASE_URL": stub.openai_base_url,
            "OPENAI_API_KEY": "sk-docs-not-a-real-key",
            "ANTHROPIC_BASE_URL": stub.anthropic_base_url,
            "ANTHROPIC_API_KEY": "sk-ant-docs-not-a-real-key",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            # Other instrumentors installed beside ours in this venv (the sdk tests drive OpenInference).
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "openai,anthropic",
        }
    )
    return env


def _imports(tree: ast.Module) -> Iterator[tuple[str, str | None]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name


def _check_partial(code: str, where: str) -> None:
    tree = ast.parse(code, where)
    for module, name in _imports(tree):
        imported = importlib.import_module(module)
        if name is not None and not hasattr(imported, name):
            importlib.import_module(f"{module}.{name}")


@pytest.mark.parametrize(("where", "chain"), PROGRAMS, ids=[w for w, _ in PROGRAMS])
def test_python_block_runs_as_pasted(
    where: str,
    chain: list[Block],
    llm_stub: StubServer,
    receiver: OtlpReceiver,
    tmp_path: Path,
) -> None:
    code = "".join(b.code for b in chain)
    last = chain[-1]
    if "partial" in last.markers:
        _check_partial(code, where)
        return
    is_test = last.lang != "pycon" and any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test_")
        for n in ast.parse(code, where).body
    )
    script = tmp_path / ("snippet_test.py" if is_test else "snippet.py")
    command = [sys.executable, str(script)]
    if is_test:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)]
    if last.lang == "pycon":
        script = tmp_path / "session.txt"
        command = [sys.executable, "-m", "doctest", "-o", "ELLIPSIS", str(script)]
    script.write_text(code)
    receiver.clear()
    done = subprocess.run(
        command,
        cwd=tmp_path,
        env=_user_environment(llm_stub, receiver),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = f"{where}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    assert done.returncode == 0, output
    assert "Traceback" not in done.stderr, output
    assert "Failed to export" not in done.stderr, output
    wanted = [
        w.strip() for b in chain for w in b.markers.get("exports", "").split(";") if w.strip()
    ]
    if wanted:
        receiver.wait_for(lambda r: not _missing(r, wanted), timeout=10)
        assert _missing(receiver, wanted) == [], output
    for secret in (m for b in chain if (m := b.markers.get("never-exports"))):
        assert secret not in repr(receiver.spans()) + repr(receiver.logs()), output


def _missing(receiver: OtlpReceiver, wanted: list[str]) -> list[str]:
    """Which of ``NAME`` / ``NAME{key}`` / ``NAME{key=value}`` no received span or metric point matches."""
    received = [(s.name, s.attributes) for s in receiver.spans()]
    received += [(p.name, p.attributes) for p in receiver.metric_points()]
    missing = []
    for want in wanted:
        name, _, rest = want.partition("{")
        required: dict[str, str | None] = {}
        for pair in filter(None, rest.rstrip("}").split(",")):
            key, eq, value = pair.partition("=")
            required[key] = value if eq else None
        if not any(
            got == name.strip()
            and all(k in attrs and (v is None or str(attrs[k]) == v) for k, v in required.items())
            for got, attrs in received
        ):
            missing.append(want)
    return missing


# --- environment variables and flags ---------------------------------------------------------------

_VARIABLE = re.compile(r"\bLLMOTEL_[A-Z0-9_{},\[\]*]*|\bOTEL_[A-Z0-9_{},\[\]*]*")


@cache
def known_variables() -> frozenset[str]:
    """What exists: the distro's table, every module of ``opentelemetry_environment_variables`` (API, SDK,
    instrumentation — the variables ``opentelemetry-instrument`` knows), the ``OTEL_*`` names llmotel's
    own source reads, and the variables of the development tools."""
    from llmotel.distro._variables import VARIABLES

    names = {v.name for v in VARIABLES}
    for ep in entry_points(group="opentelemetry_environment_variables"):
        module = ep.load()
        names |= {
            getattr(module, a)
            for a in dir(module)
            if a.startswith("OTEL_") and isinstance(getattr(module, a), str)
        }
    for source in (ROOT / "packages").glob("*/src/**/*.py"):
        names |= set(re.findall(r"[\"'](OTEL_[A-Z0-9_]+)[\"']", source.read_text()))
    # Variables of the development tools (the generator, the test harness, the noxfile).
    for source in [ROOT / "noxfile.py", *(ROOT / "packages").glob("*/scripts/*.py")]:
        names |= set(re.findall(r"[\"']((?:LLM)?OTEL_[A-Z0-9_]+)[\"']", source.read_text()))
    return frozenset(n for n in names if n.startswith(("OTEL_", "LLMOTEL_")))


def _expand(token: str) -> list[str]:
    """``OTEL_{TRACES,METRICS}_EXPORTER`` and ``OTEL_TRACES_SAMPLER[_ARG]`` as the names they stand for."""
    m = re.search(r"\{([^{}]*)\}", token)
    if m:
        return [
            n
            for alt in m[1].split(",")
            for n in _expand(token[: m.start()] + alt + token[m.end() :])
        ]
    m = re.search(r"\[([^\[\]]*)\]", token)
    if m:
        return _expand(token[: m.start()] + token[m.end() :]) + _expand(
            token[: m.start()] + m[1] + token[m.end() :]
        )
    return [token]


def _unknown(token: str) -> list[str]:
    token = token.rstrip(",")
    bad = []
    for name in _expand(token):
        if name.endswith(("*", "_")):  # a family: LLMOTEL_METRICS_*, OTEL_
            prefix = name.rstrip("*")
            if not any(k.startswith(prefix) for k in known_variables()):
                bad.append(name)
        elif name not in known_variables():
            bad.append(name)
    return bad


@cache
def _python_constants() -> frozenset[str]:
    """Module-level names in llmotel's source: ``LLMOTEL_COST_USD`` is a constant, not a variable."""
    names = set()
    for source in (ROOT / "packages").glob("*/src/**/*.py"):
        for node in ast.parse(source.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return frozenset(names)


def _variable_mentions(page: Path) -> list[tuple[int, str]]:
    return [
        (number, token)
        for number, line in enumerate(page.read_text().splitlines(), 1)
        for token in _VARIABLE.findall(line)
        if token not in _python_constants()
    ]


def test_docs_name_variables() -> None:
    assert sum(len(_variable_mentions(page)) for page in PAGES) > 50


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_variable_named_exists(page: Path) -> None:
    unknown = [
        f"line {number}: {name}"
        for number, token in _variable_mentions(page)
        for name in _unknown(token)
    ]
    assert unknown == [], "environment variables nothing reads"


def _shell_lines(page: Path) -> list[tuple[str, str]]:
    """Command lines: each line of a non-Python fence (continuations joined) and each inline code span."""
    found = []
    for block in _blocks(page):
        if block.lang in PYTHON_LANGS:
            continue
        for number, line in enumerate(block.code.replace("\\\n", " ").splitlines(), 1):
            if line.strip():
                found.append((f"line {block.line + number}", line))
    prose = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    found += [(f"`{span}`", span) for span in re.findall(r"`([^`\n]+)`", prose)]
    return found


# Commands whose flags are checked against their own --help, and how to run them.
_CHECKED = {
    "opentelemetry-instrument": [str(BIN / "opentelemetry-instrument")],
    "llmotel": [str(BIN / "llmotel")],
    "llmotel.testing.stub": [sys.executable, "-m", "llmotel.testing.stub"],
}


@cache
def _help(command: tuple[str, ...]) -> str:
    done = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _commands(line: str) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """(command to ask for --help, the flags given to it) for each checked command on ``line``."""
    line = line.split(" #", 1)[0]
    try:
        words = shlex.split(line.replace("<", "").replace(">", ""))
    except ValueError:
        words = line.split()
    for segment in (
        list(g)
        for sep, g in itertools.groupby(words, lambda w: w in ("&&", "&", "|", ";"))
        if not sep
    ):
        while segment and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", segment[0]):
            segment = segment[1:]
        if segment and segment[0] == "export":
            continue
        if not segment:
            continue
        head, args = segment[0], segment[1:]
        if head == "opentelemetry-instrument":
            # Its own flags, each with a value, come before the program it runs.
            flags, i = [], 0
            while i < len(args) and args[i].startswith("--"):
                flags.append(args[i].split("=")[0])
                i += 1 if "=" in args[i] else 2
            yield (head,), flags
        elif head == "llmotel" and args:
            yield ("llmotel", args[0]), [a.split("=")[0] for a in args[1:] if a.startswith("--")]
        elif head.startswith("python") and args[:2] == ["-m", "llmotel.testing.stub"]:
            yield (
                ("llmotel.testing.stub",),
                [a.split("=")[0] for a in args[2:] if a.startswith("--")],
            )


def _checked_lines(page: Path) -> list[tuple[str, str]]:
    return [(where, line) for where, line in _shell_lines(page) if list(_commands(line))]


def test_docs_show_commands() -> None:
    assert sum(len(_checked_lines(page)) for page in PAGES) > 10


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_flag_named_exists(page: Path) -> None:
    unknown = []
    for where, line in _checked_lines(page):
        for command, flags in _commands(line):
            runner = [*_CHECKED[command[0]], *command[1:]]
            offered = set(re.findall(r"--[a-z][a-z0-9_-]*", _help(tuple(runner))))
            unknown += [
                f"{where}: {flag}"
                for flag in flags
                if flag not in offered
                and not (flag.endswith("*") and any(o.startswith(flag[:-1]) for o in offered))
            ]
    assert unknown == [], "flags the command does not offer"


# --- pip install lines ------------------------------------------------------------------------------


@cache
def _distributions() -> dict[str, dict[str, set[str]]]:
    """llmotel distribution -> extra -> the llmotel distributions that extra pulls in."""
    import tomllib

    found: dict[str, dict[str, set[str]]] = {}
    for pyproject in (ROOT / "packages").glob("*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        found[project["name"]] = {
            extra: {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0] for r in reqs}
            for extra, reqs in project.get("optional-dependencies", {}).items()
        }
    return found


def _pip_problems(line: str) -> list[str]:
    """What is wrong with the llmotel pieces a ``pip install`` line names: unknown distributions or
    extras, and pieces an extra on the same line installs already."""
    if not re.search(r"\bpip install\b", line):
        return []
    words = [w.strip("'\"") for w in line.split(" #", 1)[0].split()]
    named = [
        re.fullmatch(r"(?:\./packages/)?(llmotel-[a-z-]+)(?:\[([a-z,]+)\])?", w) for w in words
    ]
    problems: list[str] = []
    pulled: set[str] = set()
    for m in filter(None, named):
        dist, extras = m[1], (m[2] or "").split(",")
        if dist not in _distributions():
            problems.append(f"no distribution {dist}")
            continue
        for extra in filter(None, extras):
            if extra not in _distributions()[dist]:
                problems.append(f"{dist} has no extra [{extra}]")
            pulled |= _distributions()[dist].get(extra, set())
    problems += [
        f"{m[1]} is already in an extra on the line" for m in filter(None, named) if m[1] in pulled
    ]
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_pip_lines_name_real_pieces_once(page: Path) -> None:
    wrong = [f"{where}: {p}" for where, line in _shell_lines(page) for p in _pip_problems(line)]
    assert wrong == []


# --- the checker itself ----------------------------------------------------------------------------


def test_the_checker_knows_families_and_expansions() -> None:
    assert _unknown("OTEL_{TRACES,METRICS,LOGS}_EXPORTER") == []
    assert _unknown("OTEL_TRACES_SAMPLER[_ARG]") == []
    assert _unknown("LLMOTEL_METRICS_*") == []
    assert _unknown("LLMOTEL_TAIL_SAMPLING") == ["LLMOTEL_TAIL_SAMPLING"]
    assert _unknown("OTEL_{TRACES,TRACE}_EXPORTER") == ["OTEL_TRACE_EXPORTER"]


def test_the_checker_reads_flags_the_way_the_shell_does() -> None:
    line = "OPENAI_API_KEY=x opentelemetry-instrument --traces_exporter console --llmotel_tail_sampling on python app.py --port 1"
    assert list(_commands(line)) == [
        (("opentelemetry-instrument",), ["--traces_exporter", "--llmotel_tail_sampling"])
    ]
    assert list(_commands("python -m llmotel.testing.stub --port 0 &  # prints the URL")) == [
        (("llmotel.testing.stub",), ["--port"])
    ]
    assert list(_commands("llmotel demo --ui")) == [(("llmotel", "demo"), ["--ui"])]


def test_the_checker_reads_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs: continue -->\n<!-- docs: exports chat gpt-4o{user.id=alice} -->\n"
        "```python\nx = 1\n```\n"
    )
    (block,) = _blocks(page)
    assert block.markers == {"continue": "", "exports": "chat gpt-4o{user.id=alice}"}
    assert (block.lang, block.code) == ("python", "x = 1\n")


def test_the_checker_reads_pip_lines() -> None:
    assert _pip_problems("pip install 'llmotel-distro[all]' llmotel-instrumentation-openai") == [
        "llmotel-instrumentation-openai is already in an extra on the line"
    ]
    assert _pip_problems("pip install 'llmotel-distro[everything]'") == [
        "llmotel-distro has no extra [everything]"
    ]
    assert (
        _pip_problems("pip install ./packages/llmotel-sdk 'llmotel-distro[redaction,openai]'") == []
    )


def test_a_partial_block_must_still_import() -> None:
    _check_partial("from llmotel.testing import StubServer\n", "ok")
    with pytest.raises(ImportError):
        _check_partial("from llmotel.testing import NoSuchThing\n", "bad")
