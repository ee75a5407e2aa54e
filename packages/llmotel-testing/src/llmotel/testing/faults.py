"""Inputs written by someone else, for the fault tests of an instrumentation: random JSON replies.

An instrumentation must give the caller exactly what the SDK gives it, whatever the server sends:
:func:`json_bodies` draws reply bodies built from a provider's own key names (so the SDK parses them
into its models) with any value in any place (:func:`sse_body` makes a stream of them), and
:func:`uninstrumented` runs the same call with instrumentation suppressed, for the comparison;
:func:`check_same` makes the comparison and checks the one span the instrumented call ended. Needs ``hypothesis`` (the test dependency of the
packages that use it; llmotel-testing does not require it).
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from opentelemetry import context

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmotel.testing._server import StubServer

__all__ = ["FAST", "check_same", "json_bodies", "sse_body", "uninstrumented"]

_T = TypeVar("_T")

#: Few examples, no deadline (each is an HTTP round trip), function-scoped fixtures allowed.
FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def json_bodies(keys: Sequence[str]) -> st.SearchStrategy[Any]:
    """JSON values (objects keyed by ``keys`` at every level, lists, scalars of every type), and at
    the top an object of them or any such value."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-3, 2**40)
        | st.floats(allow_nan=False)
        | st.text(max_size=8)
    )
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(keys), inner, max_size=5),
        max_leaves=20,
    )
    return st.dictionaries(st.sampled_from(keys), values, max_size=6) | values


def uninstrumented(outcome: Callable[[Callable[[], Any]], _T], call: Callable[[], Any]) -> _T:
    """``outcome(call)`` with every instrumentation suppressed (what the caller gets without it).

    The garbage is collected first where that matters (:func:`_collect_for_httpcore`)."""
    _collect_for_httpcore()
    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        return outcome(call)
    finally:
        context.detach(token)


def _collect_for_httpcore() -> None:
    """Collect the garbage before a call when httpcore (httpx's transport) is loaded: a stream an
    earlier call left unread (it raised) must not be finalised by a collection that happens to
    start inside httpcore 1.0's connection pool, which holds the pool's lock there; closing that
    stream's response takes the same lock, and the thread waits for itself (seen once on openai
    1.66 / httpcore 1.0.9, in the uninstrumented call). A full collection per call is slow, so the
    SDKs that do not use httpcore (boto3) skip it."""
    if "httpcore" in sys.modules:
        gc.collect()


def sse_body(chunks: Sequence[Any], done: bool = False, eol: str = "\n") -> str:
    """A server-sent-events body of ``chunks`` (each one JSON ``data:`` event, lines ending in
    ``eol``), closed by ``data: [DONE]`` when ``done``."""
    end = eol * 2
    events = "".join(f"data: {json.dumps(c)}{end}" for c in chunks)
    return events + (f"data: [DONE]{end}" if done else "")


def check_same(
    outcome: Callable[[Callable[[], Any]], Any],
    call: Callable[[], Any],
    spans: InMemorySpanExporter,
    check: Callable[[ReadableSpan], object],
    *,
    stub: StubServer | None = None,
    reply: Any = None,
    collect: bool = False,
) -> ReadableSpan:
    """``outcome(call)`` instrumented equals it :func:`uninstrumented`, and the instrumented call
    ended exactly one span, which ``check`` checks (and which is returned).

    The replies of both calls are queued by the caller, or, given ``stub`` and ``reply``, here: the
    stub is reset before each call, so both see the same ids and timestamps. With ``collect`` the
    garbage is collected first (a stream the caller stopped reading, because it raised, ends then).
    """
    spans.clear()
    if stub is not None:
        stub.reset()
        stub.enqueue(reply)
    _collect_for_httpcore()
    seen = outcome(call)
    if stub is not None:
        stub.reset()
        stub.enqueue(reply)
    assert seen == uninstrumented(outcome, call)
    if collect:
        gc.collect()
    [span] = spans.get_finished_spans()
    check(span)
    return span
