"""Differential tests of an instrumentation: the same SDK call, once without and once with it.

An instrumentation must not change what the caller gets. A :class:`CallPath` is one way a caller
reaches an instrumented SDK method (plain, streamed, a stream helper, ``with_raw_response``,
``with_streaming_response``, an error, a stream closed early or abandoned...) together with the
span that call must leave. :func:`run_sync` / :func:`run_async` run it against the stub server and
return its :class:`Outcome`: what the caller saw (returned values, chunks, headers, or the exception),
reduced to plain data by :func:`observe`. A test runs every path of a table twice, uninstrumented
and instrumented, on fresh clients and a freshly reset stub (so ids match), and asserts::

    assert traced == plain                      # the caller cannot tell the difference
    assert sent_traced == sent_plain            # nor the server (unless expect.rewrites_request)
    check_span(span_exporter, path.expect, traced)  # and the call left exactly its span

Adding a path to the table puts it through both checks.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from llmotel.testing._replies import Reply
from llmotel.testing._server import StubServer

__all__ = [
    "CallPath",
    "Expect",
    "Outcome",
    "check_span",
    "compare_async",
    "compare_sync",
    "observe",
    "resolve",
    "run_async",
    "run_sync",
    "sent",
    "uncovered",
]

# Response headers that differ between two identical calls.
_VOLATILE_HEADERS = frozenset({"date", "server"})
# The span attribute of a stream garbage-collected unread (llmotel.semconv.inference.STREAM_ABANDONED).
_ABANDONED = "llmotel.stream.abandoned"


@dataclass(frozen=True)
class Expect:
    """What an instrumented call must leave: exactly ``spans`` ended spans (the last one is
    checked), carrying at least ``attributes``; failed (``error``: ERROR status and ``error.type``,
    the class name of what the caller caught when it propagated) or not; abandoned or not."""

    attributes: frozenset[str] = frozenset()
    error: bool = False
    abandoned: bool = False
    spans: int = 1
    rewrites_request: bool = False
    """The instrumentation adds to the request (openai's ``include_usage`` on a plain stream,
    whose extra chunk it then hides); otherwise the stub must receive the same request bodies."""


@dataclass(frozen=True)
class CallPath:
    """One way to call an instrumented SDK method.

    ``resource`` is the client attribute path of the SDK resource (``"chat.completions"``) and
    ``method`` the method the path goes through; :func:`resolve` finds the resource on a client
    (under ``beta.`` on SDKs that had it there). ``run`` / ``arun`` get the resource of a sync / an
    async client and return what the caller sees (pass it through :func:`observe`); ``replies``
    are queued on the stub before each run.
    """

    name: str
    resource: str
    method: str
    run: Callable[[Any], Any]
    arun: Callable[[Any], Awaitable[Any]]
    expect: Expect
    replies: tuple[Reply, ...] = ()

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Outcome:
    """What one run gave the caller: ``value`` (observed) or the exception's signature."""

    value: Any = None
    raised: tuple[Any, ...] | None = None


def resolve(client: Any, resource: str, method: str) -> Any | None:
    """The resource object of ``client`` at ``resource`` that has ``method``, else ``None``."""
    for path in (resource, f"beta.{resource}"):
        target = client
        for name in path.split("."):
            target = getattr(target, name, None)
            if target is None:
                break
        if target is not None and callable(getattr(type(target), method, None)):
            return target
    return None


def observe(value: Any) -> Any:
    """``value`` as plain data: SDK models by class name and ``model_dump``, headers without the
    per-response ones (date, server), sequences and mappings element by element."""
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return (value.__class__.__qualname__, dump(mode="json", warnings=False))
    if isinstance(value, Mapping) or _is_headers(value):
        return {
            str(k).lower(): observe(v)
            for k, v in value.items()
            if str(k).lower() not in _VOLATILE_HEADERS
        }
    if isinstance(value, list | tuple):
        return [observe(v) for v in value]
    return value.__class__.__qualname__


def _is_headers(value: Any) -> bool:
    return type(value).__name__ == "Headers" and callable(getattr(value, "items", None))


def _raised(exc: BaseException) -> tuple[Any, ...]:
    return (
        f"{type(exc).__module__}.{type(exc).__qualname__}",
        str(exc),
        getattr(exc, "status_code", None),
        observe(getattr(exc, "body", None)),
    )


def run_sync(path: CallPath, resource: Any) -> Outcome:
    """Run ``path`` on a sync client's resource (then collect garbage if it abandons a stream)."""
    try:
        outcome = Outcome(value=observe(path.run(resource)))
    except Exception as exc:  # noqa: BLE001
        outcome = Outcome(raised=_raised(exc))
    if path.expect.abandoned:
        gc.collect()
    return outcome


async def run_async(path: CallPath, resource: Any) -> Outcome:
    """Run ``path`` on an async client's resource (then collect garbage if it abandons a stream)."""
    try:
        outcome = Outcome(value=observe(await path.arun(resource)))
    except Exception as exc:  # noqa: BLE001
        outcome = Outcome(raised=_raised(exc))
    if path.expect.abandoned:
        gc.collect()
    return outcome


def _resource(path: CallPath, client: Any) -> Any:
    resource = resolve(client, path.resource, path.method)
    if resource is None:
        pytest.skip(f"this SDK version has no {path.resource}.{path.method}")
    return resource


def _reset(stub: StubServer, path: CallPath) -> None:
    stub.reset()  # ids (and the prompt cache) restart: both runs get byte-identical replies
    for reply in path.replies:
        stub.enqueue(reply)


def _compare(
    path: CallPath,
    stub: StubServer,
    span_exporter: InMemorySpanExporter,
    plain: Outcome,
    sent_plain: list[Any],
    traced: Outcome,
) -> None:
    assert traced == plain
    if not path.expect.rewrites_request:
        assert sent(stub) == sent_plain
    check_span(span_exporter, path.expect, traced)


def compare_sync(
    path: CallPath,
    client: Callable[[], Any],
    instrument: Callable[[], object],
    stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    """Run ``path`` on a fresh sync ``client()`` uninstrumented, then ``instrument()`` and run it
    again: the caller and the server see the same, and the call left exactly its span."""
    _reset(stub, path)
    plain = run_sync(path, _resource(path, client()))
    sent_plain = sent(stub)
    instrument()
    _reset(stub, path)
    traced = run_sync(path, _resource(path, client()))
    _compare(path, stub, span_exporter, plain, sent_plain, traced)


async def compare_async(
    path: CallPath,
    client: Callable[[], Any],
    instrument: Callable[[], object],
    stub: StubServer,
    span_exporter: InMemorySpanExporter,
) -> None:
    """:func:`compare_sync` on an async client."""
    _reset(stub, path)
    plain = await run_async(path, _resource(path, client()))
    sent_plain = sent(stub)
    instrument()
    _reset(stub, path)
    traced = await run_async(path, _resource(path, client()))
    _compare(path, stub, span_exporter, plain, sent_plain, traced)


def uncovered(
    paths: Iterable[CallPath],
    clients: Iterable[Any],
    wrapped: Iterable[tuple[object, str]],
    sdk_module: str,
) -> list[str]:
    """The methods an instrumentor wrapped (``(owner, name)`` pairs; classes of ``sdk_module``'s
    resources) that no path of ``paths`` reaches on ``clients``, as ``Class.method``."""
    covered = set()
    for client in clients:
        for path in paths:
            resource = resolve(client, path.resource, path.method)
            if resource is not None:
                covered.add((type(resource), path.method))
    ours = {
        (owner, name)
        for owner, name in wrapped
        if isinstance(owner, type) and owner.__module__.startswith(f"{sdk_module}.resources.")
    }
    assert ours, f"the instrumentor wrapped no {sdk_module} resource"
    return sorted(f"{c.__qualname__}.{m}" for c, m in ours - covered)


def sent(stub: StubServer) -> list[Any]:
    """The JSON bodies the stub received, in order."""
    return [request.json for request in stub.requests]


def check_span(
    span_exporter: InMemorySpanExporter, expect: Expect, outcome: Outcome
) -> ReadableSpan:
    """Assert that the instrumented run (which gave ``outcome``) left the spans ``expect``
    describes; return the last."""
    spans = span_exporter.get_finished_spans()
    assert len(spans) == expect.spans, [s.name for s in spans]
    span = spans[-1]
    assert span.end_time is not None
    attrs = dict(span.attributes or {})
    missing = sorted(expect.attributes - attrs.keys())
    assert not missing, missing
    assert attrs.get(_ABANDONED, False) is expect.abandoned
    if not expect.error:
        assert outcome.raised is None
        assert span.status.status_code is StatusCode.UNSET, span.status
        assert "error.type" not in attrs
        return span
    assert span.status.status_code is StatusCode.ERROR
    if outcome.raised is not None:
        assert attrs.get("error.type") == outcome.raised[0].rsplit(".", 1)[-1]
    else:  # the path caught it (a stream failing midway): the span still says it failed
        assert "error.type" in attrs
    return span
