"""The export queue behind the pipeline processors: bounded, one worker thread, content shed under backlog.

The application thread only measures a record and appends it (microseconds). The worker takes batches and runs
the pipeline's stages on them in small steps; between steps it looks at the backlog. When the queue holds more
than a quarter of its bounds, when records keep arriving faster than the worker takes them and the
content-sensitive stages have used their share of its time, or when half of the shutdown time is gone, the rest
of the work is *shed*: each record's
content is stripped first — before the expensive, content-sensitive stages, which are then skipped — it is marked
``llmotel.pipeline.content_removed = backlog`` and exported. Spans are kept; only what they said is lost, and
never raw. What cannot be kept at all (queue full, exporter failure, shutdown timeout) is dropped. Both are
counted in ``llmotel.pipeline.shed`` by reason and logged once per reason.
"""

from __future__ import annotations

import collections
import inspect
import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from time import monotonic
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.metrics import MeterProvider

from llmotel.sdk.version import __version__
from llmotel.semconv import extensions as ext

__all__ = ["BACKLOG", "ExportStats"]

_logger = logging.getLogger("llmotel.sdk.pipeline")

_O = TypeVar("_O")

#: Why content was removed under load: the value of ``llmotel.pipeline.content_removed`` on shed records.
BACKLOG = "backlog"
_QUEUE_FULL = "queue_full"
_SHUTDOWN = "shutdown"
_EXPORT_FAILED = "export_failed"
_CONTENT_REMOVED = "content_removed"
_DROPPED = "dropped"

# Records per step of the stages: the backlog is looked at between steps, so one slow batch cannot fill the queue.
_STEP = 32
# While records keep arriving faster than the worker takes them (a step's worth queued), the content-sensitive
# stages get at most this share of the worker's wall time: their analysis holds the GIL the application threads
# need. Unused share accumulates up to _BURST_S, so a short burst is still processed whole.
_CONTENT_SHARE = 0.05
_BURST_S = 0.5
_UNKNOWN_SIZE = 4096

_SIGNAL = ext.LLMOTEL_PIPELINE_SIGNAL
_OUTCOME = ext.LLMOTEL_PIPELINE_OUTCOME
_REASON = ext.LLMOTEL_PIPELINE_REASON

_MESSAGES = {
    (
        _CONTENT_REMOVED,
        BACKLOG,
    ): "%s export is behind: records are exported with their content removed "
    "(llmotel.pipeline.content_removed=backlog)",
    (_DROPPED, _QUEUE_FULL): "%s export queue is full: records are dropped",
    (_DROPPED, _EXPORT_FAILED): "%s exporter failed: its records are dropped",
    (
        _DROPPED,
        _SHUTDOWN,
    ): "%s export did not finish before the shutdown timeout: the rest is dropped",
}


@dataclass(frozen=True, slots=True)
class ExportStats:
    """A snapshot of what a pipeline processor's queue did since it was built.

    ``queued`` / ``queued_bytes``: records waiting now and their estimated size; ``exported``: records the
    exporters accepted (once per record and exporter); ``content_removed``: records exported without their
    content, by reason (``backlog``); ``dropped``: records never exported, by reason (``queue_full``,
    ``export_failed`` — once per failing exporter —, ``shutdown``).
    """

    queued: int = 0
    queued_bytes: int = 0
    exported: int = 0
    content_removed: Mapping[str, int] = field(default_factory=dict)
    dropped: Mapping[str, int] = field(default_factory=dict)


def _accepts_timeout(method: Callable[..., Any]) -> bool:
    try:
        return "timeout_millis" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


class ExportQueue(Generic[_O]):
    """A bounded queue and its worker thread, feeding every exporter in ``exporters`` the same records.

    ``process(records)`` runs the stages; ``shed(records)`` strips content and runs only the stages that are
    not content-sensitive (``None``: nothing to shed, the stages are always run); ``size_of(record)`` estimates
    a record's bytes; ``success`` is the exporters' success result.
    """

    def __init__(
        self,
        signal: str,
        exporters: Sequence[Any],
        *,
        process: Callable[[list[_O]], list[_O]],
        shed: Callable[[list[_O]], list[_O]] | None,
        size_of: Callable[[_O], int],
        success: object,
        max_queue_size: int,
        max_queue_bytes: int,
        max_export_batch_size: int,
        schedule_delay_millis: float,
        shutdown_timeout_millis: float,
        meter_provider: MeterProvider | None,
    ) -> None:
        if not exporters:
            raise ValueError("a pipeline processor needs at least one exporter")
        for name, value in (
            ("max_queue_size", max_queue_size),
            ("max_queue_bytes", max_queue_bytes),
            ("max_export_batch_size", max_export_batch_size),
        ):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, not {value}")
        if schedule_delay_millis <= 0:
            raise ValueError(f"schedule_delay_millis must be > 0, not {schedule_delay_millis}")
        if shutdown_timeout_millis < 0:
            raise ValueError(f"shutdown_timeout_millis must be >= 0, not {shutdown_timeout_millis}")
        if max_export_batch_size > max_queue_size:
            raise ValueError("max_export_batch_size must be <= max_queue_size")
        self._signal = signal
        self._exporters = list(exporters)
        self._timeout_aware = [_accepts_timeout(e.shutdown) for e in self._exporters]
        self._process = process
        self._shed = shed
        self._size_of = size_of
        self._success = success
        self._max_records = max_queue_size
        self._max_bytes = max_queue_bytes
        self._batch_size = max_export_batch_size
        self._delay = schedule_delay_millis / 1000
        self._shutdown_timeout = shutdown_timeout_millis / 1000
        self._shed_above_records = max(max_export_batch_size, max_queue_size // 4)
        self._shed_above_bytes = max_queue_bytes // 4
        self._shutdown = False
        self._deadline: float | None = None
        self._content_credit = _BURST_S
        self._credited_at = monotonic()
        self._exported = 0
        self._in_flight = 0
        self._abandoned = False
        self._counts: dict[tuple[str, str], int] = {}
        self._counter: Any = None
        if meter_provider is not None:
            self._counter = meter_provider.get_meter("llmotel.sdk", __version__).create_counter(
                ext.LLMOTEL_PIPELINE_SHED,
                unit="{record}",
                description="Records the export side could not deliver whole: exported without content "
                "(outcome content_removed) or not exported (outcome dropped), by reason.",
            )
        self._metric_attrs = {
            key: {_SIGNAL: signal, _OUTCOME: key[0], _REASON: key[1]} for key in _MESSAGES
        }
        self._start()
        if hasattr(os, "register_at_fork"):
            weak_start = weakref.WeakMethod(self._start)

            def _in_child() -> None:
                start = weak_start()
                if start is not None:
                    start()

            os.register_at_fork(after_in_child=_in_child)

    def _start(self) -> None:
        # Also the child's fresh start after fork(): the parent's queue and worker do not exist there.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        # Records and their sizes in two deques: no tuple per record for the garbage collector to track.
        self._queue: collections.deque[_O] = collections.deque()
        self._sizes: collections.deque[int] = collections.deque()
        self._bytes = 0
        self._flush_waiters: list[threading.Event] = []
        self._worker = threading.Thread(
            target=self._work, name=f"llmotel-{self._signal}-export", daemon=True
        )
        self._worker.start()

    # -- the application thread --------------------------------------------------------------

    def put(self, record: _O) -> None:
        """Queue ``record`` for export, or count it dropped when the queue is full or shut down."""
        if self._shutdown:
            self._count(_DROPPED, _SHUTDOWN, 1)
            return
        try:
            size = self._size_of(record)
        except Exception:  # noqa: BLE001 - never raise into the thread that ends the span
            size = _UNKNOWN_SIZE
        wake = False
        with self._lock:
            queue = self._queue
            full = len(queue) >= self._max_records or self._bytes + size > self._max_bytes
            if not full:
                queue.append(record)
                self._sizes.append(size)
                self._bytes += size
                wake = len(queue) >= self._batch_size
        if full:
            self._count(_DROPPED, _QUEUE_FULL, 1)
        elif wake and not self._wake.is_set():
            self._wake.set()

    # -- the worker ----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            self._wake.wait(self._delay)
            self._wake.clear()
            with self._lock:
                waiters, self._flush_waiters = self._flush_waiters, []
            self._drain()
            for waiter in waiters:
                waiter.set()
            if self._shutdown:
                return

    def _drain(self) -> None:
        while True:
            deadline = self._deadline
            if deadline is not None and monotonic() >= deadline:
                return
            with self._lock:
                count = min(self._batch_size, len(self._queue))
                if not count:
                    return
                taken = [self._queue.popleft() for _ in range(count)]
                sizes = self._sizes
                self._bytes -= sum(sizes.popleft() for _ in range(count))
                self._in_flight = count
            self._export(taken)

    def _behind(self) -> bool:
        queued = len(self._queue)
        if queued > self._shed_above_records or self._bytes > self._shed_above_bytes:
            return True
        now = monotonic()
        deadline = self._deadline
        if deadline is not None and deadline - now < self._shutdown_timeout / 2:
            return True
        credit = self._content_credit + (now - self._credited_at) * _CONTENT_SHARE
        self._content_credit = min(credit, _BURST_S)
        self._credited_at = now
        return queued >= _STEP and self._content_credit <= 0

    def _process_timed(self, step: list[_O]) -> list[_O]:
        started = monotonic()
        try:
            return self._process(step)
        finally:
            self._content_credit = max(self._content_credit - (monotonic() - started), -_BURST_S)

    def _prepare(self, batch: list[_O]) -> list[_O]:
        if self._shed is None:
            return self._process(batch)
        out: list[_O] = []
        shedding = False
        shed = 0
        for start in range(0, len(batch), _STEP):
            step = batch[start : start + _STEP]
            shedding = shedding or self._behind()
            if shedding:
                part = self._shed(step)
                shed += len(part)
            else:
                part = self._process_timed(step)
            out += part
        if shed:
            self._count(_CONTENT_REMOVED, BACKLOG, shed)
        return out

    def _export(self, batch: list[_O]) -> None:
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            out = self._prepare(batch)
            failed = 0
            for exporter in self._exporters:
                try:
                    ok = not out or exporter.export(out) == self._success
                except Exception:  # noqa: BLE001 - an exporter must never stop the worker
                    _logger.debug("%s exporter %r raised", self._signal, exporter, exc_info=True)
                    ok = False
                if not ok:
                    failed += len(out)
            with self._lock:
                abandoned, self._in_flight = self._abandoned, 0
                if not abandoned:
                    self._exported += len(out) * len(self._exporters) - failed
            if failed and not abandoned:
                self._count(_DROPPED, _EXPORT_FAILED, failed)
        finally:
            detach(token)

    # -- control -----------------------------------------------------------------------------

    def force_flush(self, timeout_millis: float = 30000) -> bool:
        """Export everything queued now; False when that did not finish within ``timeout_millis``."""
        if self._shutdown:
            return False
        done = threading.Event()
        with self._lock:
            self._flush_waiters.append(done)
        self._wake.set()
        return done.wait(timeout_millis / 1000)

    def shutdown(self, timeout_millis: float | None = None) -> None:
        """Export what is queued, then shut the exporters down, all within the shutdown timeout.

        Past half of the timeout the rest is shed (exported without content); past the timeout, an exporter
        still busy is shut down (which aborts its retries) and whatever was not exported is counted dropped.
        """
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
        timeout = (
            self._shutdown_timeout if timeout_millis is None else max(timeout_millis, 0) / 1000
        )
        self._shutdown_timeout = timeout
        deadline = self._deadline = monotonic() + timeout
        self._wake.set()
        self._worker.join(timeout)
        for exporter, timeout_aware in zip(self._exporters, self._timeout_aware, strict=True):
            try:
                if timeout_aware:
                    exporter.shutdown(timeout_millis=max(deadline - monotonic(), 0.0) * 1000)
                else:
                    exporter.shutdown()
            except Exception:  # noqa: BLE001 - shutting down must not raise at exit
                _logger.debug(
                    "%s exporter %r raised on shutdown", self._signal, exporter, exc_info=True
                )
        with self._lock:
            left = len(self._queue) + self._in_flight
            self._queue.clear()
            self._sizes.clear()
            self._bytes = 0
            self._abandoned = True
        if left:
            self._count(_DROPPED, _SHUTDOWN, left)

    # -- accounting --------------------------------------------------------------------------

    def _count(self, outcome: str, reason: str, n: int) -> None:
        key = (outcome, reason)
        with self._lock:
            first = key not in self._counts
            self._counts[key] = self._counts.get(key, 0) + n
        if self._counter is not None:
            self._counter.add(n, self._metric_attrs[key])
        if first:
            _logger.warning(
                _MESSAGES[key] + "; counted in llmotel.pipeline.shed (outcome=%s, reason=%s)",
                self._signal,
                outcome,
                reason,
            )

    def stats(self) -> ExportStats:
        with self._lock:
            counts = dict(self._counts)
            return ExportStats(
                queued=len(self._queue),
                queued_bytes=self._bytes,
                exported=self._exported,
                content_removed=MappingProxyType(
                    {r: n for (o, r), n in counts.items() if o == _CONTENT_REMOVED}
                ),
                dropped=MappingProxyType({r: n for (o, r), n in counts.items() if o == _DROPPED}),
            )
