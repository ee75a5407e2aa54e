"""Inputs written by someone else, for the fault tests of an instrumentation: random JSON replies.

An instrumentation must give the caller exactly what the SDK gives it, whatever the server sends:
:func:`json_bodies` draws reply bodies built from a provider's own key names (so the SDK parses them
into its models) with any value in any place, and :func:`uninstrumented` runs the same call with
instrumentation suppressed, for the comparison. Needs ``hypothesis`` (the test dependency of the
packages that use it; llmotel-testing does not require it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from opentelemetry import context

__all__ = ["FAST", "json_bodies", "uninstrumented"]

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
    """``outcome(call)`` with every instrumentation suppressed (what the caller gets without it)."""
    token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        return outcome(call)
    finally:
        context.detach(token)
