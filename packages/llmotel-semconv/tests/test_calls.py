"""The shared SDK-method wrapper and readers: one call → one span, errors and streams included."""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest
import wrapt
from opentelemetry import context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from llmotel.semconv.calls import (
    Operation,
    Patches,
    call_wrapper,
    read_field,
    read_float,
    read_int,
    read_str,
    server_of_url,
)
from llmotel.semconv.capture import CaptureSettings
from llmotel.semconv.inference import InferenceTelemetry, Invocation


class Words:
    """A stand-in SDK resource: ``complete`` answers, ``stream`` yields words, ``fail`` raises."""

    def complete(self, **kwargs: Any) -> dict[str, Any]:
        return {"id": "r1", "tokens": 3}

    async def complete_async(self, **kwargs: Any) -> dict[str, Any]:
        return {"id": "r2", "tokens": 4}

    def stream(self, **kwargs: Any) -> Iterator[str]:
        yield from ("a", "b", "c")

    def fail(self, **kwargs: Any) -> None:
        raise TimeoutError("slow")

    async def stream_async(self, **kwargs: Any) -> AsyncIterator[str]:
        async def words() -> AsyncIterator[str]:
            for word in ("a", "b", "c"):
                yield word

        return words()


class Count:
    def __init__(self, content: bool) -> None:
        self.n = 0

    def process(self, chunk: Any) -> bool:
        self.n += 1
        return False

    def apply(self, inv: Invocation) -> None:
        inv.output_tokens = self.n


def request(inv: Invocation, kw: Mapping[str, Any]) -> None:
    inv.temperature = read_float(kw.get("temperature"))


def response(inv: Invocation, result: Any, content: bool) -> None:
    inv.response_id = read_str(result.get("id"))
    inv.output_tokens = read_int(result.get("tokens"))


def locate(instance: Any, kw: Mapping[str, Any]) -> tuple[str, str | None, int | None]:
    return ("test_ai", *server_of_url("https://api.test.example/v1"))


@pytest.fixture
def words(tracer_provider: TracerProvider) -> Iterator[Words]:
    telemetry = InferenceTelemetry(
        "test.scope", "1.0", tracer_provider=tracer_provider, settings=CaptureSettings()
    )
    plain = Operation("chat", request=request, content=request, response=response)
    streamed = Operation(
        "chat", request=request, content=request, response=response, accumulator=Count
    )
    for name, op, is_async in (
        ("complete", plain, False),
        ("complete_async", plain, True),
        ("stream", streamed, False),
        ("fail", plain, False),
        ("stream_async", streamed, True),
    ):
        wrapt.wrap_function_wrapper(Words, name, call_wrapper(telemetry, op, locate, is_async))
    yield Words()
    for name in ("complete", "complete_async", "stream", "fail", "stream_async"):
        setattr(Words, name, getattr(Words, name).__wrapped__)


def test_plain_call(words: Words, span_exporter: InMemorySpanExporter) -> None:
    assert words.complete(model="m1", temperature=0.5) == {"id": "r1", "tokens": 3}
    [span] = span_exporter.get_finished_spans()
    assert span.name == "chat m1"
    assert dict(span.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "test_ai",
        "gen_ai.request.model": "m1",
        "server.address": "api.test.example",
        "server.port": 443,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.response.id": "r1",
        "gen_ai.usage.output_tokens": 3,
    }


async def test_async_call(words: Words, span_exporter: InMemorySpanExporter) -> None:
    assert await words.complete_async(model="m1") == {"id": "r2", "tokens": 4}
    [span] = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.response.id"] == "r2"


def test_failure_reaches_the_caller_and_the_span(
    words: Words, span_exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(TimeoutError):
        words.fail(model="m1")
    [span] = span_exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "TimeoutError"


def test_stream_ends_its_span_when_read_and_when_dropped(
    words: Words, span_exporter: InMemorySpanExporter
) -> None:
    assert list(words.stream(model="m1")) == ["a", "b", "c"]
    [read] = span_exporter.get_finished_spans()
    assert read.attributes is not None
    assert read.attributes["gen_ai.usage.output_tokens"] == 3
    assert read.attributes["gen_ai.request.stream"] is True
    dropped = words.stream(model="m1")
    next(dropped)
    del dropped
    gc.collect()
    _, abandoned = span_exporter.get_finished_spans()
    assert abandoned.attributes is not None
    assert abandoned.attributes["llmotel.stream.abandoned"] is True


async def test_async_generator_stream_ends_on_aclose(
    words: Words, span_exporter: InMemorySpanExporter
) -> None:
    stream = await words.stream_async(model="m1")
    assert await stream.__anext__() == "a"
    assert span_exporter.get_finished_spans() == ()
    await stream.aclose()  # type: ignore[attr-defined]
    [span] = span_exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.output_tokens"] == 1
    assert "llmotel.stream.abandoned" not in span.attributes


def test_suppressed_call_is_left_alone(words: Words, span_exporter: InMemorySpanExporter) -> None:
    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        assert words.complete(model="m1") == {"id": "r1", "tokens": 3}
    finally:
        context.detach(token)
    assert span_exporter.get_finished_spans() == ()


def test_a_failing_reader_never_reaches_the_caller(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    def broken(inv: Invocation, kw: Mapping[str, Any]) -> None:
        raise KeyError("bug")

    telemetry = InferenceTelemetry("t", "1", tracer_provider=tracer_provider)
    op = Operation("chat", request=broken, content=broken, response=response)
    wrapper = call_wrapper(telemetry, op, locate)
    assert wrapper(lambda **kw: {"id": "x"}, None, (), {"model": "m"}) == {"id": "x"}
    assert span_exporter.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("value", "as_int", "as_float", "as_str"),
    [(3, 3, 3.0, None), (2.5, None, 2.5, None), (True, None, None, None), ("x", None, None, "x")],
)
def test_readers(value: object, as_int: object, as_float: object, as_str: object) -> None:
    assert (read_int(value), read_float(value), read_str(value)) == (as_int, as_float, as_str)


def test_read_field_of_mappings_and_objects() -> None:
    class Model:
        role = "user"

    assert (read_field({"role": "tool"}, "role"), read_field(Model(), "role")) == ("tool", "user")
    assert read_field(None, "role") is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.mistral.ai", ("api.mistral.ai", 443)),
        ("http://127.0.0.1:8080/mistral", ("127.0.0.1", 8080)),
        ("http://[::1]:9/", ("::1", 9)),
        ("not a url", (None, None)),
        (None, (None, None)),
    ],
)
def test_server_of_url(url: object, expected: tuple[str | None, int | None]) -> None:
    assert server_of_url(url) == expected


# -- Patches.on_import -----------------------------------------------------------------------------


@pytest.fixture
def sdk_module(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of a real module file nobody has imported yet (removed again afterwards)."""
    name = f"llmotel_fake_sdk_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "class Client:\n    def call(self):\n        return 'sdk'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _wrapped_call(module: Any) -> Any:
    return vars(module.Client)["call"]


def _prefix(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> str:
    return "wrapped " + wrapped(*args, **kwargs)


def test_on_import_patches_when_the_module_is_imported(sdk_module: str) -> None:
    patches = Patches()
    patches.on_import(sdk_module, lambda m: patches.wrap(m.Client, "call", _prefix))
    assert sdk_module not in sys.modules  # registering imports nothing
    module = importlib.import_module(sdk_module)
    assert module.Client().call() == "wrapped sdk"
    patches.on_import(
        sdk_module, lambda m: patches.wrap(m.Client, "call", _prefix)
    )  # imported: now
    assert module.Client().call() == "wrapped sdk"  # the same (owner, name) is wrapped once
    patches.restore()
    assert module.Client().call() == "sdk"
    assert not isinstance(_wrapped_call(module), wrapt.FunctionWrapper)


def test_on_import_does_nothing_after_restore(sdk_module: str) -> None:
    patches = Patches()
    patches.on_import(sdk_module, lambda m: patches.wrap(m.Client, "call", _prefix))
    patches.restore()  # uninstrumented before the application imported the SDK
    module = importlib.import_module(sdk_module)
    assert module.Client().call() == "sdk"
    assert list(patches) == []


def test_a_patch_that_raises_never_fails_the_import(
    sdk_module: str, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(module: Any) -> None:
        raise AttributeError("this SDK moved Client")

    patches = Patches()
    patches.on_import(sdk_module, broken)
    with caplog.at_level("WARNING", logger="llmotel.semconv.calls"):
        module = importlib.import_module(sdk_module)
    assert module.Client().call() == "sdk"
    [record] = caplog.records
    assert record.getMessage() == f"llmotel: could not instrument {sdk_module}"
    assert record.exc_info is not None
    assert record.exc_info[0] is AttributeError


def test_wrap_on_import_wraps_only_what_the_sdk_has(sdk_module: str) -> None:
    patches = Patches()
    patches.wrap_on_import(sdk_module, "Client.call", _prefix)
    patches.wrap_on_import(sdk_module, "Client.missing", _prefix)  # another SDK version's method
    patches.wrap_on_import(sdk_module, "Missing.call", _prefix)  # another SDK version's class
    module = importlib.import_module(sdk_module)
    assert module.Client().call() == "wrapped sdk"
    assert list(patches) == [(module.Client, "call")]
    patches.restore()
    assert module.Client().call() == "sdk"


def test_a_reexported_function_is_wrapped_once_and_restored_everywhere(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A package that re-exports its submodule's function: the submodule's hook runs first (it
    # is imported inside the package's __init__), so the package binds the wrapper.
    name = f"llmotel_fake_pkg_{tmp_path.name.replace('-', '_')}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("from .transport import connect\n")
    (package / "transport.py").write_text("def connect():\n    return 'sdk'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        patches = Patches()
        patches.wrap_on_import(f"{name}.transport", "connect", _prefix)
        patches.wrap_on_import(name, "connect", _prefix)
        module = importlib.import_module(name)
        assert module.connect() == "wrapped sdk"  # not "wrapped wrapped sdk"
        assert module.connect is module.transport.connect
        assert list(patches) == [(module.transport, "connect"), (module, "connect")]
        patches.restore()
        assert module.connect() == module.transport.connect() == "sdk"
        assert not isinstance(module.connect, wrapt.FunctionWrapper)
        assert not isinstance(module.transport.connect, wrapt.FunctionWrapper)
    finally:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]
