"""The publisher's context, carried with an event across the bus's queue.

LLMgine's events are user dataclasses: an attribute added to them would show in ``vars(event)``
and travel into ``pickle``/``copy`` (a context cannot be pickled); dataclasses with
``eq=True`` are unhashable, so a ``WeakKeyDictionary`` cannot hold them. The table here is keyed by
``id(event)`` and each entry holds a weak reference whose callback removes the entry when the event
is collected: the table never outlives the events in flight and the user's object is untouched.
"""

from __future__ import annotations

import weakref
from typing import Final

from opentelemetry.context import Context

_MAX_FAILURES: Final = 1024


class _EventRef(weakref.ref):  # type: ignore[type-arg]
    """A weak reference that knows its table key and holds the carried context (one object
    per put: no closure, no tuple)."""

    __slots__ = ("ctx", "key")
    key: int
    ctx: Context


class ContextCarrier:
    """Remembers, per in-flight event, the context it was published in."""

    __slots__ = ("__weakref__", "_by_id", "_forget")

    def __init__(self) -> None:
        self._by_id: dict[int, _EventRef] = {}
        table = self._by_id

        def forget(ref: _EventRef) -> None:
            # A second publish of the same object replaced the entry: only the live ref removes it.
            if table.get(ref.key) is ref:
                del table[ref.key]

        self._forget = forget

    def put(self, event: object, ctx: Context) -> None:
        """Carry ``ctx`` with ``event``; no-op for objects that cannot be weakly referenced."""
        try:
            ref = _EventRef(event, self._forget)
        except TypeError:  # not weakly referenceable (no LLMgine ``Event`` is): not carried
            return
        ref.ctx = ctx
        ref.key = key = id(event)
        self._by_id[key] = ref

    def get(self, event: object) -> Context | None:
        """The context ``event`` was published in, or ``None`` if it was not carried."""
        ref = self._by_id.get(id(event))
        if ref is None or ref() is not event:
            return None
        return ref.ctx

    def __len__(self) -> int:
        return len(self._by_id)


class FailureContexts:
    """The context of the handler span an exception escaped from, until LLMgine reports it.

    Exceptions cannot be weakly referenced; entries are taken out by :meth:`pop` when the bus
    publishes its ``EventHandlerFailedEvent`` and the table is bounded for the rare exception the
    bus never reports (its processing task cancelled mid-batch).
    """

    __slots__ = ("_by_id",)

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[BaseException, Context]] = {}

    def put(self, error: BaseException, ctx: Context) -> None:
        """Remember that ``error`` escaped the handler span in ``ctx``."""
        if len(self._by_id) >= _MAX_FAILURES:
            self._by_id.pop(next(iter(self._by_id)))
        self._by_id[id(error)] = (error, ctx)

    def pop(self, error: object) -> Context | None:
        """The context remembered for ``error`` (removed), or ``None``."""
        entry = self._by_id.pop(id(error), None)
        if entry is None or entry[0] is not error:
            return None
        return entry[1]

    def __len__(self) -> int:
        return len(self._by_id)
