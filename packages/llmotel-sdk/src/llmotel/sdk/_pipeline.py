"""The pipeline primitive: stages that transform copies of finished spans/logs before export."""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter_ns
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar, cast

from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace.status import Status

from llmotel.sdk._batching import BACKLOG, ExportQueue, ExportStats
from llmotel.sdk._content import (
    CONTENT_REMOVED_ATTRIBUTE,
    is_content_attribute,
    is_event_content_attribute,
)
from llmotel.sdk._records import MutableLogRecord, MutableSpan
from llmotel.sdk.spans import SpanCopy, estimate_bytes
from llmotel.sdk.version import __version__
from llmotel.semconv import extensions as ext

__all__ = [
    "BatchStage",
    "ExportStats",
    "LogStage",
    "PipelineLogExporter",
    "PipelineLogRecordProcessor",
    "PipelineSpanExporter",
    "PipelineSpanProcessor",
    "PipelineStats",
    "SpanStage",
    "StageStats",
    "content_sensitive",
    "stage_name",
]

_logger = logging.getLogger("llmotel.sdk.pipeline")

_R = TypeVar("_R", MutableSpan, MutableLogRecord)
_S = TypeVar("_S")
_O = TypeVar("_O")  # what the exporter receives: ReadableSpan or ReadableLogRecord
_X = TypeVar("_X", SpanExporter, LogRecordExporter)

#: A span stage: gets a :class:`MutableSpan`, returns it (possibly another one) or ``None`` to drop.
SpanStage = Callable[[MutableSpan], MutableSpan | None]
#: A log stage: gets a :class:`MutableLogRecord`, returns it or ``None`` to drop.
LogStage = Callable[[MutableLogRecord], MutableLogRecord | None]
# A stage that raises passes its record on as it was before the stage: the pipeline snapshots the record
# before each stage to undo what a failing one half did. A stage with ``atomic = True`` computes its changes
# first and applies them only when nothing can fail any more, so a failing one has changed nothing and gets
# no snapshot (llmotel's own stages are atomic: a record is then edited in place, never copied per stage).

# Metric attribute keys (llmotel's own namespace; not semantic conventions).
_SIGNAL = ext.LLMOTEL_PIPELINE_SIGNAL
_STAGE = ext.LLMOTEL_PIPELINE_STAGE
_OUTCOME = ext.LLMOTEL_PIPELINE_OUTCOME
# Pseudo-stage under which failures of the pipeline itself (rebuilding a record) are counted.
_PIPELINE = "llmotel.pipeline"


class BatchStage(Protocol[_S]):
    """A stage that can also process a whole export batch at once.

    When a stage has a ``process_batch`` method the pipeline calls it instead of calling the stage
    once per record. It gets a list of records and returns the records to keep (the same objects,
    changed in place, or new ones), in any order.
    """

    def __call__(self, record: _S, /) -> _S | None: ...  # pragma: no cover

    def process_batch(self, records: list[_S], /) -> list[_S]: ...  # pragma: no cover


@dataclass(frozen=True, slots=True)
class StageStats:
    """What one stage did since the pipeline was built.

    ``records_in``: records handed to the stage; ``records_out``: records it passed on (including
    those it failed on, which pass unchanged or stripped); ``dropped``: records it returned
    ``None`` for; ``failed``: records on which it raised or returned something that is not a
    record; ``content_removed``: of those failures, how many had their content stripped because
    the stage is content-sensitive; ``duration_s``: total time spent in the stage.
    """

    records_in: int = 0
    records_out: int = 0
    dropped: int = 0
    failed: int = 0
    content_removed: int = 0
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """A snapshot of a pipeline's counters.

    ``records_in`` / ``records_out``: records given to / handed on by the whole pipeline;
    ``failed``: records the pipeline could not rebuild after the stages ran (passed unchanged, or
    dropped when a content-sensitive stage is present); ``stages``: per stage, by stage name.
    """

    records_in: int = 0
    records_out: int = 0
    failed: int = 0
    stages: Mapping[str, StageStats] = field(default_factory=dict)


def stage_name(stage: object) -> str:
    """The name a stage is reported under: its ``name`` attribute, function name or class name."""
    name = getattr(stage, "name", None)
    if isinstance(name, str) and name:
        return name
    name = getattr(stage, "__qualname__", None) or getattr(stage, "__name__", None)
    if isinstance(name, str) and name:
        return name.rpartition("<locals>.")[2]
    return type(stage).__name__


class _SensitiveStage:
    """Wraps a stage that cannot take the ``content_sensitive`` attribute (e.g. a bound method)."""

    content_sensitive = True

    def __init__(self, stage: Callable[[Any], Any]) -> None:
        self._stage = stage
        self.name = stage_name(stage)
        batch = getattr(stage, "process_batch", None)
        if callable(batch):
            self.process_batch = batch

    def __call__(self, record: Any) -> Any:
        return self._stage(record)

    def __repr__(self) -> str:
        return f"content_sensitive({self._stage!r})"


def content_sensitive(stage: _S) -> _S:
    """Mark ``stage`` as content-sensitive and return it.

    When a content-sensitive stage (a redactor, typically) raises, the pipeline does not trust the
    record any more: it removes every attribute that may carry prompt or response content (from
    the span, its events and links; for logs also the body), removes the status description, sets
    ``llmotel.pipeline.content_removed = <stage name>`` and passes the record on. Usable as a
    decorator. Setting ``content_sensitive = True`` on a stage class does the same.
    """
    try:
        stage.content_sensitive = True  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        return cast("_S", _SensitiveStage(cast("Callable[[Any], Any]", stage)))
    return stage


@dataclass(slots=True)
class _Stage:
    name: str
    call: Callable[[Any], Any]
    batch: Callable[[list[Any]], Any] | None
    sensitive: bool
    atomic: bool
    shed: Callable[[Any], Any] | None
    records_in: int = 0
    records_out: int = 0
    dropped: int = 0
    failed: int = 0
    content_removed: int = 0
    duration_ns: int = 0
    metric_attrs: dict[str, dict[str, str]] = field(default_factory=dict)


class _Pipeline(Generic[_R]):
    """Runs stages over batches of mutable records; shared by the span and log exporters."""

    def __init__(
        self,
        stages: Iterable[Callable[[Any], Any]],
        record_type: type[_R],
        signal: str,
        meter_provider: MeterProvider | None,
    ) -> None:
        self._record_type: type[_R] = record_type
        self.signal = signal
        self._stages: list[_Stage] = []
        seen: dict[str, int] = {}
        for stage in stages:
            if not callable(stage):
                raise TypeError(f"pipeline stage {stage!r} is not callable")
            name = stage_name(stage)
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name}#{seen[name]}"
            batch = getattr(stage, "process_batch", None)
            sensitive = getattr(stage, "content_sensitive", False) is True
            shed = getattr(stage, "shed", None) if sensitive else None
            self._stages.append(
                _Stage(
                    name=name,
                    call=stage,
                    batch=batch if callable(batch) else None,
                    sensitive=sensitive,
                    atomic=getattr(stage, "atomic", False) is True,
                    shed=shed if callable(shed) else None,
                )
            )
        self.sensitive = any(s.sensitive for s in self._stages)
        self._lock = threading.Lock()
        self._records_in = 0
        self._records_out = 0
        self._failed = 0
        self._reported: set[tuple[str, type[BaseException]]] = set()
        self._counter: Any = None
        self._histogram: Any = None
        if meter_provider is not None:
            meter = meter_provider.get_meter("llmotel.sdk", __version__)
            self._counter = meter.create_counter(
                ext.LLMOTEL_PIPELINE_RECORDS,
                unit="{record}",
                description="Records seen by each pipeline stage, by outcome "
                "(in, out, dropped, failed, content_removed).",
            )
            self._histogram = meter.create_histogram(
                ext.LLMOTEL_PIPELINE_STAGE_DURATION,
                unit="s",
                description="Time a pipeline stage spent on one export batch.",
                explicit_bucket_boundaries_advisory=[
                    0.00001,
                    0.0001,
                    0.0005,
                    0.001,
                    0.005,
                    0.01,
                    0.05,
                    0.1,
                    0.5,
                    1.0,
                    5.0,
                ],
            )

    @property
    def stage_callables(self) -> tuple[Callable[[Any], Any], ...]:
        return tuple(s.call for s in self._stages)

    @property
    def has_stages(self) -> bool:
        return bool(self._stages)

    # -- running ---------------------------------------------------------------------------

    def run(self, records: list[_R], *, shedding: bool = False) -> list[_R]:
        """Run the stages over ``records``; ``shedding``: content-sensitive stages run their ``shed``."""
        for stage in self._stages:
            if not records:
                break
            call = stage.call
            if shedding and stage.sensitive:
                if stage.shed is None:
                    continue
                call = stage.shed
            n_in = len(records)
            start = perf_counter_ns()
            if stage.batch is not None and call is stage.call:
                records, failed, stripped = self._run_batch(stage, records)
            else:
                records, failed, stripped = self._run_each(stage, records, call)
            self._account(stage, n_in, len(records), failed, stripped, perf_counter_ns() - start)
        return records

    def _run_each(
        self, stage: _Stage, records: list[_R], call: Callable[[Any], Any]
    ) -> tuple[list[_R], int, int]:
        record_type = self._record_type
        out: list[_R] = []
        failed = stripped = 0
        sensitive = stage.sensitive
        # A snapshot undoes what a failing stage half did; a content-sensitive stage strips instead,
        # an atomic one has changed nothing when it raises.
        snapshots = not (sensitive or stage.atomic)
        for record in records:
            snapshot = record._snapshot() if snapshots else None
            try:
                result = call(record)
            except Exception as exc:  # noqa: BLE001 - a stage must never break export
                self._report(stage, exc)
            else:
                if result is None:
                    continue
                if isinstance(result, record_type):
                    out.append(result)
                    continue
                self._report(stage, TypeError(f"returned {type(result).__name__}"))
            failed += 1
            if sensitive:
                if self._strip(record, stage.name):
                    stripped += 1
                    out.append(record)
            else:
                if snapshot is not None:
                    record._restore(snapshot)
                out.append(record)
        return out, failed, stripped

    def _run_batch(self, stage: _Stage, records: list[_R]) -> tuple[list[_R], int, int]:
        assert stage.batch is not None
        snapshots = None if stage.sensitive or stage.atomic else [r._snapshot() for r in records]
        try:
            result = stage.batch(list(records))
            if not isinstance(result, list | tuple) or not all(
                isinstance(r, self._record_type) for r in result
            ):
                raise TypeError(f"process_batch returned {type(result).__name__}")
        except Exception as exc:  # noqa: BLE001 - a stage must never break export
            self._report(stage, exc)
        else:
            return list(result), 0, 0
        if not stage.sensitive:
            if snapshots is not None:
                for record, snapshot in zip(records, snapshots, strict=True):
                    record._restore(snapshot)
            return records, len(records), 0
        out = [r for r in records if self._strip(r, stage.name)]
        return out, len(records), len(out)

    def _strip(self, record: _R, stage: str) -> bool:
        """Remove content from ``record`` in place; False if even that failed (then drop it)."""
        try:
            if isinstance(record, MutableSpan):
                _strip_span(record, stage)
            else:
                _strip_log(record, stage)
        except Exception:  # noqa: BLE001 - fail closed: the caller drops the record
            _logger.warning("could not strip content after stage %r failed; record dropped", stage)
            return False
        return True

    # -- accounting ------------------------------------------------------------------------

    def _report(self, stage: _Stage, exc: BaseException) -> None:
        kind = (stage.name, type(exc))
        with self._lock:
            first = kind not in self._reported
            if first:
                self._reported.add(kind)
        level = logging.WARNING if first else logging.DEBUG
        if stage.sensitive:
            # The message of an exception raised while handling content may quote that content.
            _logger.log(
                level,
                "content-sensitive stage %r raised %s; the record's content was removed",
                stage.name,
                type(exc).__name__,
            )
        else:
            _logger.log(
                level,
                "stage %r raised %s; the record passes unchanged by it",
                stage.name,
                type(exc).__name__,
                exc_info=exc if first else None,
            )

    def _account(
        self, stage: _Stage, n_in: int, n_out: int, failed: int, stripped: int, elapsed_ns: int
    ) -> None:
        # Includes failures whose content could not even be stripped; a batch stage may also add.
        dropped = max(n_in - n_out, 0)
        with self._lock:
            stage.records_in += n_in
            stage.records_out += n_out
            stage.dropped += dropped
            stage.failed += failed
            stage.content_removed += stripped
            stage.duration_ns += elapsed_ns
        if self._counter is not None:
            for outcome, value in (
                ("in", n_in),
                ("out", n_out),
                ("dropped", dropped),
                ("failed", failed),
                ("content_removed", stripped),
            ):
                if value:
                    self._counter.add(value, self._metric_attrs(stage, outcome))
            self._histogram.record(elapsed_ns / 1e9, self._metric_attrs(stage, None))

    def _metric_attrs(self, stage: _Stage, outcome: str | None) -> dict[str, str]:
        key = outcome or ""
        attrs = stage.metric_attrs.get(key)
        if attrs is None:
            attrs = {_SIGNAL: self.signal, _STAGE: stage.name}
            if outcome is not None:
                attrs[_OUTCOME] = outcome
            stage.metric_attrs[key] = attrs
        return attrs

    def transform(
        self,
        items: Sequence[_O],
        copy: Callable[[_O], _R],
        rebuild: Callable[[_R], _O],
    ) -> list[_O]:
        """Copy ``items`` into mutable records, run the stages, rebuild what survives.

        A record that cannot be rebuilt is counted as failed; its original passes on unless a
        content-sensitive stage ran (then exporting the original could leak what it removed).
        """
        if not self.has_stages:
            self.count(len(items), len(items))
            return list(items)
        records = self.run([copy(item) for item in items])
        out: list[_O] = []
        failed = 0
        for record in records:
            try:
                out.append(rebuild(record))
            except Exception as exc:  # noqa: BLE001 - never raise into the export thread
                failed += 1
                self.report_rebuild_failure(exc)
                if not self.sensitive:
                    out.append(cast("_O", record.source))
        self.count(len(items), len(out), failed)
        return out

    def shed(
        self,
        items: Sequence[_O],
        copy: Callable[[_O], _R],
        rebuild: Callable[[_R], _O],
    ) -> list[_O]:
        """Copy ``items``, strip their content first, then run the stages in shedding mode, rebuild.

        The strip comes before any stage, so the expensive content-sensitive stages have nothing left to
        analyze; they run their cheap ``shed`` instead (or nothing). A record that cannot be stripped or
        rebuilt is dropped: its original still holds the content.
        """
        records: list[_R] = []
        for item in items:
            record = copy(item)
            if self._strip(record, BACKLOG):
                records.append(record)
        out: list[_O] = []
        failed = len(items) - len(records)
        for record in self.run(records, shedding=True):
            try:
                out.append(rebuild(record))
            except Exception as exc:  # noqa: BLE001 - never raise into the export thread
                failed += 1
                self.report_rebuild_failure(exc)
        self.count(len(items), len(out), failed)
        return out

    def count(self, records_in: int, records_out: int, failed: int = 0) -> None:
        with self._lock:
            self._records_in += records_in
            self._records_out += records_out
            self._failed += failed
        if failed and self._counter is not None:
            self._counter.add(failed, {_SIGNAL: self.signal, _STAGE: _PIPELINE, _OUTCOME: "failed"})

    def report_rebuild_failure(self, exc: BaseException) -> None:
        kind = (_PIPELINE, type(exc))
        with self._lock:
            first = kind not in self._reported
            self._reported.add(kind)
        _logger.log(
            logging.WARNING if first else logging.DEBUG,
            "could not rebuild a record after the stages ran (%s); %s",
            type(exc).__name__,
            "it was dropped" if self.sensitive else "the original passes",
        )

    def stats(self) -> PipelineStats:
        with self._lock:
            return PipelineStats(
                records_in=self._records_in,
                records_out=self._records_out,
                failed=self._failed,
                stages=MappingProxyType(
                    {
                        s.name: StageStats(
                            records_in=s.records_in,
                            records_out=s.records_out,
                            dropped=s.dropped,
                            failed=s.failed,
                            content_removed=s.content_removed,
                            duration_s=s.duration_ns / 1e9,
                        )
                        for s in self._stages
                    }
                ),
            )


def _strip_attributes(attributes: dict[str, Any], is_content: Callable[[str], bool]) -> None:
    for key in [k for k in attributes if not isinstance(k, str) or is_content(k)]:
        del attributes[key]


def _strip_span(record: MutableSpan, stage: str) -> None:
    attributes: object = record.attributes
    if not isinstance(attributes, dict):  # a broken stage may have replaced it
        record.attributes = {}
    _strip_attributes(record.attributes, is_content_attribute)
    record.attributes[CONTENT_REMOVED_ATTRIBUTE] = stage
    for event in record.events:
        _strip_attributes(event.attributes, is_event_content_attribute)
    for link in record.links:
        _strip_attributes(link.attributes, is_content_attribute)
    status = record.status
    if status.description:
        record.status = Status(status.status_code)


def _strip_log(record: MutableLogRecord, stage: str) -> None:
    attributes: object = record.attributes
    if not isinstance(attributes, dict):  # a broken stage may have replaced it
        record.attributes = {}
    _strip_attributes(record.attributes, is_event_content_attribute)
    record.attributes[CONTENT_REMOVED_ATTRIBUTE] = stage
    record.body = None


# -- exporters ---------------------------------------------------------------------------------


class PipelineSpanExporter(SpanExporter):
    """A ``SpanExporter`` that runs ``stages`` over every span before handing it to ``exporter``.

    Each exported span is copied into a :class:`MutableSpan`; the stages run in order (on the
    thread that calls :meth:`export` — the batch processor's worker); the survivors are rebuilt as
    new ``ReadableSpan`` objects and exported by ``exporter``. The finished spans themselves are
    never modified. A stage that raises never breaks the export: see :func:`content_sensitive` for
    what happens to the record. With ``meter_provider``, the pipeline reports
    ``llmotel.pipeline.records`` and ``llmotel.pipeline.stage.duration``; :meth:`stats` returns the
    same counts in any case.
    """

    def __init__(
        self,
        stages: Sequence[SpanStage],
        exporter: SpanExporter,
        *,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self._pipeline: _Pipeline[MutableSpan] = _Pipeline(
            stages, MutableSpan, "traces", meter_provider
        )
        self._exporter = exporter

    @property
    def exporter(self) -> SpanExporter:
        """The exporter the transformed spans go to."""
        return self._exporter

    @property
    def stages(self) -> tuple[SpanStage, ...]:
        """The stages, in the order they run."""
        return cast("tuple[SpanStage, ...]", self._pipeline.stage_callables)

    def stats(self) -> PipelineStats:
        """A snapshot of the pipeline's counters (safe to call from any thread)."""
        return self._pipeline.stats()

    def process(self, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
        """Run the stages over ``spans`` and return the new spans, without exporting them."""
        return self._pipeline.transform(spans, MutableSpan.from_span, MutableSpan.to_span)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Transform ``spans`` and export what the stages kept."""
        out = self.process(spans)
        if not out:
            return SpanExportResult.SUCCESS
        return self._exporter.export(out)

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def _rebuild_log(record: MutableLogRecord) -> ReadableLogRecord:
    # A record whose content a failing stage removed loses its exception text too.
    return record.to_log_record(keep_exception=CONTENT_REMOVED_ATTRIBUTE not in record.attributes)


class PipelineLogExporter(LogRecordExporter):
    """A ``LogRecordExporter`` that runs ``stages`` over every log record before ``exporter``.

    The log counterpart of :class:`PipelineSpanExporter`: stages get :class:`MutableLogRecord`
    copies; new ``ReadableLogRecord`` objects go to ``exporter``. A failing content-sensitive stage
    also removes the record's body.
    """

    def __init__(
        self,
        stages: Sequence[LogStage],
        exporter: LogRecordExporter,
        *,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self._pipeline: _Pipeline[MutableLogRecord] = _Pipeline(
            stages, MutableLogRecord, "logs", meter_provider
        )
        self._exporter = exporter

    @property
    def exporter(self) -> LogRecordExporter:
        """The exporter the transformed records go to."""
        return self._exporter

    @property
    def stages(self) -> tuple[LogStage, ...]:
        """The stages, in the order they run."""
        return cast("tuple[LogStage, ...]", self._pipeline.stage_callables)

    def stats(self) -> PipelineStats:
        """A snapshot of the pipeline's counters (safe to call from any thread)."""
        return self._pipeline.stats()

    def process(self, batch: Sequence[ReadableLogRecord]) -> list[ReadableLogRecord]:
        """Run the stages over ``batch`` and return the new records, without exporting them."""
        return self._pipeline.transform(batch, MutableLogRecord.from_log_record, _rebuild_log)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Transform ``batch`` and export what the stages kept."""
        out = self.process(batch)
        if not out:
            return LogRecordExportResult.SUCCESS
        return self._exporter.export(out)

    def shutdown(self) -> None:
        self._exporter.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


# -- processors --------------------------------------------------------------------------------

_DEFAULT_MAX_QUEUE_BYTES = 32 * 1024 * 1024
_DEFAULT_SHUTDOWN_TIMEOUT_MILLIS = 5000.0


def _env_number(name: str, default: float) -> float:
    """An ``OTEL_BSP_*``/``OTEL_BLRP_*`` default; an unusable value falls back (validation is the distro's)."""
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


def _option(value: float | None, variable: str, default: float) -> float:
    return _env_number(variable, default) if value is None else value


def _value_size(value: object) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(v) if isinstance(v, str | bytes) else 8 for v in value)
    return 8


def _attributes_size(attributes: Mapping[str, object] | None) -> int:
    if not attributes:
        return 0
    # The SDK's BoundedAttributes takes a lock per item read; its copy() is one C-level dict copy.
    copy = None if type(attributes) is dict else getattr(attributes, "copy", None)
    plain: Mapping[str, object] = copy() if copy is not None else attributes
    size = 40 * len(plain)  # key and slot; numbers and booleans count no more
    for value in plain.values():
        if isinstance(value, str):
            size += len(value)
        elif not isinstance(value, int | float):
            size += _value_size(value)
    return size


def _log_size(record: ReadableLogRecord) -> int:
    log = record.log_record
    return 256 + _value_size(log.body) + _attributes_size(log.attributes)


def _exporters(exporter: _X | Sequence[_X]) -> list[_X]:
    return list(exporter) if isinstance(exporter, Sequence) else [exporter]


def _batching_queue(
    pipeline: _Pipeline[Any],
    exporters: list[Any],
    copy: Callable[[Any], Any],
    rebuild: Callable[[Any], Any],
    *,
    size_of: Callable[[Any], int],
    success: object,
    variables: str,
    default_delay_millis: float,
    max_queue_size: int | None,
    max_queue_bytes: int | None,
    max_export_batch_size: int | None,
    schedule_delay_millis: float | None,
    shutdown_timeout_millis: float | None,
    meter_provider: MeterProvider | None,
) -> ExportQueue[Any]:
    """The queue and worker of a batching pipeline processor: batches run through ``pipeline``'s
    stages (as records ``copy`` makes and ``rebuild`` turns back), or its cheap shed path under load;
    options left ``None`` come from the SDK's ``{variables}_*`` variables (``OTEL_BSP``/``OTEL_BLRP``)."""
    return ExportQueue(
        pipeline.signal,
        exporters,
        process=lambda batch: pipeline.transform(batch, copy, rebuild),
        shed=(lambda batch: pipeline.shed(batch, copy, rebuild)) if pipeline.sensitive else None,
        size_of=size_of,
        success=success,
        max_queue_size=int(_option(max_queue_size, f"{variables}_MAX_QUEUE_SIZE", 2048)),
        max_queue_bytes=_DEFAULT_MAX_QUEUE_BYTES if max_queue_bytes is None else max_queue_bytes,
        max_export_batch_size=int(
            _option(max_export_batch_size, f"{variables}_MAX_EXPORT_BATCH_SIZE", 512)
        ),
        schedule_delay_millis=_option(
            schedule_delay_millis, f"{variables}_SCHEDULE_DELAY", default_delay_millis
        ),
        shutdown_timeout_millis=_DEFAULT_SHUTDOWN_TIMEOUT_MILLIS
        if shutdown_timeout_millis is None
        else shutdown_timeout_millis,
        meter_provider=meter_provider,
    )


class PipelineSpanProcessor(SpanProcessor):
    """Batches finished spans, runs ``stages`` over them on its own worker thread, exports them.

    ``exporter`` may be one exporter or several: the stages run once per batch and every exporter gets the same
    spans. For wiring by hand::

        provider.add_span_processor(PipelineSpanProcessor([ConventionNormalizer()], OTLPSpanExporter()))

    The queue is bounded by ``max_queue_size`` spans and ``max_queue_bytes`` (an estimate of their size). When
    the worker falls behind (a quarter of either bound queued, or spans keep coming and the content-sensitive
    stages have used their 5 % share of its time) and a stage is content-sensitive, spans are *shed*: their
    content is stripped before the stages run, the content-sensitive stages are skipped (or run their cheap
    ``shed``), and the span is exported marked ``llmotel.pipeline.content_removed = backlog``.
    Only a full queue, a failing exporter or the shutdown timeout drop spans. Both are counted in the
    ``llmotel.pipeline.shed`` metric (with ``meter_provider``) and in :meth:`export_stats`, and logged once.
    ``shutdown()`` returns within ``shutdown_timeout_millis``. The batch options default to the SDK's
    ``OTEL_BSP_*`` variables; ``export_timeout_millis`` is accepted for ``BatchSpanProcessor`` compatibility
    (each exporter has its own timeout).
    """

    def __init__(
        self,
        stages: Sequence[SpanStage],
        exporter: SpanExporter | Sequence[SpanExporter],
        *,
        meter_provider: MeterProvider | None = None,
        max_queue_size: int | None = None,
        max_queue_bytes: int | None = None,
        schedule_delay_millis: float | None = None,
        max_export_batch_size: int | None = None,
        export_timeout_millis: float | None = None,
        shutdown_timeout_millis: float | None = None,
    ) -> None:
        del export_timeout_millis
        self._pipeline: _Pipeline[MutableSpan] = _Pipeline(
            stages, MutableSpan, "traces", meter_provider
        )
        pipeline = self._pipeline
        self._exporters: list[SpanExporter] = _exporters(exporter)
        self._queue: ExportQueue[ReadableSpan] = _batching_queue(
            pipeline,
            self._exporters,
            self._record,
            MutableSpan.to_span,
            size_of=estimate_bytes,
            success=SpanExportResult.SUCCESS,
            variables="OTEL_BSP",
            default_delay_millis=5000,
            max_queue_size=max_queue_size,
            max_queue_bytes=max_queue_bytes,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_millis=schedule_delay_millis,
            shutdown_timeout_millis=shutdown_timeout_millis,
            meter_provider=meter_provider,
        )

    @property
    def exporters(self) -> tuple[SpanExporter, ...]:
        """The exporters the transformed spans go to."""
        return tuple(self._exporters)

    @property
    def stages(self) -> tuple[SpanStage, ...]:
        """The stages, in the order they run."""
        return cast("tuple[SpanStage, ...]", self._pipeline.stage_callables)

    def stats(self) -> PipelineStats:
        """A snapshot of the stages' counters (safe to call from any thread)."""
        return self._pipeline.stats()

    def export_stats(self) -> ExportStats:
        """A snapshot of the queue's counters: exported, shed and dropped spans (safe from any thread)."""
        return self._queue.stats()

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is not None and context.trace_flags.sampled:
            self._queue.put(span)

    def _record(self, span: ReadableSpan) -> MutableSpan:
        """The stages' record of a queued span: the span itself when it is a copy handed to this
        processor (made for it alone, by the tail sampler), otherwise a copy."""
        if type(span) is SpanCopy and span.owned_by(self):
            return MutableSpan.editing(span)
        return MutableSpan.from_span(span)

    def shutdown(self, timeout_millis: float | None = None) -> None:
        """Export what is queued and shut the exporters down, within ``timeout_millis`` (default: the
        processor's ``shutdown_timeout_millis``)."""
        self._queue.shutdown(timeout_millis)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._queue.force_flush(timeout_millis)


def _readable_log(log_record: Any) -> ReadableLogRecord:
    """What the SDK's batch processor queues: a frozen record without the (possibly large) context."""
    if isinstance(log_record, ReadableLogRecord):
        return log_record
    api_record = copy.copy(log_record.log_record)
    api_record.context = Context()
    resource = log_record.resource if log_record.resource is not None else Resource.create({})
    return ReadableLogRecord(
        log_record=api_record,
        resource=resource,
        instrumentation_scope=log_record.instrumentation_scope,
        limits=log_record.limits,
    )


class PipelineLogRecordProcessor(LogRecordProcessor):
    """The log counterpart of :class:`PipelineSpanProcessor`, with the same queue, shedding and counts.

    A shed record loses its body and content attributes. The batch options default to the SDK's
    ``OTEL_BLRP_*`` variables.
    """

    def __init__(
        self,
        stages: Sequence[LogStage],
        exporter: LogRecordExporter | Sequence[LogRecordExporter],
        *,
        meter_provider: MeterProvider | None = None,
        max_queue_size: int | None = None,
        max_queue_bytes: int | None = None,
        schedule_delay_millis: float | None = None,
        max_export_batch_size: int | None = None,
        export_timeout_millis: float | None = None,
        shutdown_timeout_millis: float | None = None,
    ) -> None:
        del export_timeout_millis
        self._pipeline: _Pipeline[MutableLogRecord] = _Pipeline(
            stages, MutableLogRecord, "logs", meter_provider
        )
        pipeline = self._pipeline
        self._exporters: list[LogRecordExporter] = _exporters(exporter)
        self._queue: ExportQueue[ReadableLogRecord] = _batching_queue(
            pipeline,
            self._exporters,
            MutableLogRecord.from_log_record,
            _rebuild_log,
            size_of=_log_size,
            success=LogRecordExportResult.SUCCESS,
            variables="OTEL_BLRP",
            default_delay_millis=1000,
            max_queue_size=max_queue_size,
            max_queue_bytes=max_queue_bytes,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_millis=schedule_delay_millis,
            shutdown_timeout_millis=shutdown_timeout_millis,
            meter_provider=meter_provider,
        )

    @property
    def exporters(self) -> tuple[LogRecordExporter, ...]:
        """The exporters the transformed records go to."""
        return tuple(self._exporters)

    @property
    def stages(self) -> tuple[LogStage, ...]:
        """The stages, in the order they run."""
        return cast("tuple[LogStage, ...]", self._pipeline.stage_callables)

    def stats(self) -> PipelineStats:
        """A snapshot of the stages' counters (safe to call from any thread)."""
        return self._pipeline.stats()

    def export_stats(self) -> ExportStats:
        """A snapshot of the queue's counters: exported, shed and dropped records."""
        return self._queue.stats()

    def on_emit(self, log_record: Any) -> None:
        self._queue.put(_readable_log(log_record))

    def shutdown(self, timeout_millis: float | None = None) -> None:
        """Export what is queued and shut the exporters down, within ``timeout_millis``."""
        self._queue.shutdown(timeout_millis)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._queue.force_flush(timeout_millis)
