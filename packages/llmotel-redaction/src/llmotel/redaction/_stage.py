"""The redaction stage for llmotel's span and log pipelines, and its summary and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace.status import Status

from llmotel.redaction._analyzer import AnalysisTimeout
from llmotel.redaction._redactor import DROP, FAILED_MARKER, Redaction, Redactor
from llmotel.redaction._resource import ResourceRedactor
from llmotel.redaction.version import __version__
from llmotel.sdk.pipeline import MutableLogRecord, MutableSpan
from llmotel.semconv import extensions as ext

__all__ = [
    "COUNT_ATTRIBUTE",
    "FAILED_ATTRIBUTE",
    "RedactionStage",
    "entity_count_attribute",
]

_logger = logging.getLogger("llmotel.redaction")

COUNT_ATTRIBUTE = ext.LLMOTEL_REDACTION_COUNT
"""Int on every record the stage saw: how many values it changed."""
FAILED_ATTRIBUTE = ext.LLMOTEL_REDACTION_FAILED
"""``"timeout"`` or ``"error"`` when the record's content was replaced by the failure marker."""
_ENTITY_TYPE = ext.LLMOTEL_REDACTION_ENTITY_TYPE
_REASON = ext.LLMOTEL_REDACTION_REASON
_SIGNAL = ext.LLMOTEL_REDACTION_SIGNAL

_R = TypeVar("_R", MutableSpan, MutableLogRecord)
_CLEAN_NAMES_MAX = 4096


def entity_count_attribute(entity_type: str) -> str:
    """The per-entity count attribute.

    ``EMAIL_ADDRESS`` → ``llmotel.redaction.email_address.count``.
    """
    return f"llmotel.redaction.{entity_type.lower()}.count"


class RedactionStage:
    """Pipeline stage: redacts a :class:`MutableSpan` or :class:`MutableLogRecord` in place.

    On spans it rewrites the attributes, the status description (exception messages, provider
    errors), every event's name and attributes (``exception.message``, ``exception.stacktrace``
    …), the link attributes and the span name; on log records the body, the attributes and the
    event name. Allow-listed attributes are screened for :data:`SCREENED_ENTITIES` only. Each
    distinct resource is redacted once (its result is reused for every later record). Names
    (span, event, log event) are analysed unless ``redact_names=False``; a name seen clean once is
    not analysed again. Each record gets :data:`COUNT_ATTRIBUTE` and one
    :func:`entity_count_attribute` per entity type found (counts, never values).

    Fail closed: when analysis raises or one record takes longer than ``time_budget`` seconds,
    every analyzable value of that record (names and the status description included) becomes
    ``<REDACTION_FAILED>``, the log body is removed, :data:`FAILED_ATTRIBUTE` says why, and
    ``llmotel.redaction.failures`` counts it. The stage never raises.

    Metrics (from ``meter_provider``, else the global one): ``llmotel.redaction.entities``
    (counter, by ``llmotel.redaction.entity_type``), ``llmotel.redaction.failures`` (counter, by
    ``llmotel.redaction.reason``) and ``llmotel.redaction.duration`` (histogram, seconds per
    record), all with ``llmotel.redaction.signal`` = ``span`` | ``log``.
    """

    content_sensitive = True

    def __init__(
        self,
        redactor: Redactor | None = None,
        *,
        time_budget: float = 0.5,
        redact_names: bool = True,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if time_budget <= 0:
            raise ValueError("time_budget must be positive (seconds)")
        self.redactor = redactor if redactor is not None else Redactor()
        self._budget = time_budget
        self._names = redact_names
        # Names repeat ("chat gpt-4o"): one seen without findings is not analysed again.
        self._clean_names: set[str] = set()
        self._resources = ResourceRedactor(self.redactor)
        meter = (meter_provider or metrics.get_meter_provider()).get_meter(
            "llmotel.redaction", __version__
        )
        self._entities = meter.create_counter(
            ext.LLMOTEL_REDACTED_ENTITIES,
            unit="{entity}",
            description="Values redacted, by entity type.",
        )
        self._failures = meter.create_counter(
            ext.LLMOTEL_REDACTION_FAILURES,
            unit="{record}",
            description="Records whose content was replaced because analysis failed or timed out.",
        )
        self._duration = meter.create_histogram(
            ext.LLMOTEL_REDACTION_DURATION,
            unit="s",
            description="Time spent redacting one record on the export thread.",
        )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        meter_provider: MeterProvider | None = None,
    ) -> RedactionStage:
        """A stage configured from the ``LLMOTEL_REDACTION_*`` variables (see the README).

        Raises :class:`llmotel.sdk.config.ConfigError` naming the bad variable.
        """
        from llmotel.redaction._config import redactor_from_env, stage_options_from_env

        return cls(
            redactor_from_env(environ),
            meter_provider=meter_provider,
            **stage_options_from_env(environ),
        )

    def __call__(self, record: _R) -> _R:
        """Redact ``record`` in place and return it."""
        signal = "span" if isinstance(record, MutableSpan) else "log"
        started = time.monotonic()
        redaction = Redaction()
        try:
            self._redact(record, redaction, started + self._budget)
        except AnalysisTimeout:
            redaction.failed = "timeout"
        except Exception:  # noqa: BLE001 - fail closed, never raise into the export thread
            _logger.warning("redaction failed; content replaced", exc_info=True)
            redaction.failed = "error"
        try:
            self._summarize(record, redaction, signal, time.monotonic() - started)
        except Exception:  # noqa: BLE001 - a broken summary must not leak content
            _logger.warning("redaction summary failed", exc_info=True)
            redaction.failed = redaction.failed or "error"
            self._fail_closed(record)
        return record

    def process_batch(self, records: list[_R]) -> list[_R]:
        """Redact every record of one export batch.

        Recognizers that work best on many texts at once (the ``[ner]`` tier's spaCy pipeline,
        anything with ``prefetch(texts)`` and ``clear()``) first get every text of the batch
        that will be analysed, in one call.
        """
        batching: list[Any] = [r for r in self.redactor.recognizers if hasattr(r, "prefetch")]
        if not batching:
            return [self(record) for record in records]
        try:
            with self.redactor.collecting() as texts:
                for record in records:
                    self._collect(record)
            for recognizer in batching:
                recognizer.prefetch(texts)
        except Exception:  # noqa: BLE001 - each record is then analysed on its own
            _logger.warning("batched analysis failed; analysing record by record", exc_info=True)
        try:
            return [self(record) for record in records]
        finally:
            for recognizer in batching:
                recognizer.clear()

    def _collect(self, record: MutableSpan | MutableLogRecord) -> None:
        """Walk the fields :meth:`_redact` analyses, on copies: inside ``redactor.collecting()``
        this gathers the texts and changes nothing."""
        redactor = self.redactor
        scratch = Redaction()
        redactor.redact_attributes(dict(record.attributes), scratch)
        names: list[str] = []
        if isinstance(record, MutableSpan):
            if record.status.description:
                redactor.redact_value(record.status.description, scratch)
            for event in record.events:
                names.append(event.name)
                redactor.redact_attributes(dict(event.attributes), scratch)
            for link in record.links:
                redactor.redact_attributes(dict(link.attributes), scratch)
            names.append(record.name)
        else:
            if record.body is not None:
                redactor.redact_value(record.body, scratch)
            names.append(record.event_name or "")
        if self._names:
            for name in names:
                if name and name not in self._clean_names:
                    redactor.redact_value(name, scratch)

    def _redact(
        self, record: MutableSpan | MutableLogRecord, redaction: Redaction, deadline: float
    ) -> None:
        redactor = self.redactor
        record.resource = self._resources.redact(record.resource)
        redactor.redact_attributes(record.attributes, redaction, deadline)
        if isinstance(record, MutableSpan):
            status = record.status
            if status.description:
                description = redactor.redact_value(status.description, redaction, deadline)
                if description is not status.description:
                    text = description if isinstance(description, str) else "<REDACTED>"
                    record.status = Status(status.status_code, text)
            for event in record.events:
                if self._names:
                    event.name = self._name(event.name, redaction, deadline)
                redactor.redact_attributes(event.attributes, redaction, deadline)
            for link in record.links:
                redactor.redact_attributes(link.attributes, redaction, deadline)
            if self._names:
                record.name = self._name(record.name, redaction, deadline)
        else:
            if record.body is not None:
                body = redactor.redact_value(record.body, redaction, deadline)
                record.body = None if body is DROP else body
            if self._names and record.event_name:
                record.event_name = self._name(record.event_name, redaction, deadline)

    def _name(self, name: str, redaction: Redaction, deadline: float) -> str:
        clean = self._clean_names
        if not name or name in clean:
            return name
        new: object = self.redactor.redact_value(name, redaction, deadline)
        if new is name:
            if len(clean) >= _CLEAN_NAMES_MAX:
                clean.clear()  # unbounded name sets (ids in names) must not grow memory
            clean.add(name)
            return name
        if isinstance(new, str):
            return new
        return "<REDACTED>"

    def shed(self, record: _R) -> _R:
        """The pipeline's call for a record it sheds under load, instead of analysis: every value this
        stage would analyze becomes ``<REDACTION_FAILED>`` (the pipeline has removed the content first)."""
        self._fail_closed(record, mark=False)
        return record

    def _fail_closed(self, record: MutableSpan | MutableLogRecord, *, mark: bool = True) -> None:
        redactor = self.redactor
        redactor.fail_closed(record.attributes)
        if isinstance(record, MutableSpan):
            if record.status.description:
                record.status = Status(record.status.status_code, FAILED_MARKER)
            for event in record.events:
                redactor.fail_closed(event.attributes)
                if self._names and event.name not in self._clean_names:
                    event.name = FAILED_MARKER
            for link in record.links:
                redactor.fail_closed(link.attributes)
            if self._names and record.name not in self._clean_names:
                record.name = FAILED_MARKER
        else:
            record.body = None
            if self._names and record.event_name and record.event_name not in self._clean_names:
                record.event_name = FAILED_MARKER
        if not self._resources.is_redacted(record.resource):
            record.resource = Resource({}, record.resource.schema_url)
        if mark:
            record.attributes[FAILED_ATTRIBUTE] = "error"

    def _summarize(
        self,
        record: MutableSpan | MutableLogRecord,
        redaction: Redaction,
        signal: str,
        elapsed: float,
    ) -> None:
        if redaction.failed:
            self._fail_closed(record)
            record.attributes[FAILED_ATTRIBUTE] = redaction.failed
            self._failures.add(1, {_REASON: redaction.failed, _SIGNAL: signal})
        attributes = record.attributes
        attributes[COUNT_ATTRIBUTE] = redaction.total
        for entity, count in redaction.counts.items():
            attributes[entity_count_attribute(entity)] = count
            self._entities.add(count, {_ENTITY_TYPE: entity, _SIGNAL: signal})
        self._duration.record(elapsed, {_SIGNAL: signal})
