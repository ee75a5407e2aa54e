"""The redaction stage for llmotel's span and log pipelines, and its summary and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TypeVar

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider

from llmotel.redaction._analyzer import AnalysisTimeout
from llmotel.redaction._redactor import DROP, FAILED_MARKER, Redaction, Redactor
from llmotel.redaction.version import __version__
from llmotel.sdk.pipeline import MutableLogRecord, MutableSpan

__all__ = [
    "COUNT_ATTRIBUTE",
    "FAILED_ATTRIBUTE",
    "RedactionStage",
    "entity_count_attribute",
]

_logger = logging.getLogger("llmotel.redaction")

COUNT_ATTRIBUTE = "llmotel.redaction.count"
"""Int on every record the stage saw: how many values it changed."""
FAILED_ATTRIBUTE = "llmotel.redaction.failed"
"""``"timeout"`` or ``"error"`` when the record's content was replaced by the failure marker."""
_ENTITY_TYPE = "llmotel.redaction.entity_type"
_REASON = "llmotel.redaction.reason"
_SIGNAL = "llmotel.redaction.signal"

_R = TypeVar("_R", MutableSpan, MutableLogRecord)


def entity_count_attribute(entity_type: str) -> str:
    """The per-entity count attribute.

    ``EMAIL_ADDRESS`` → ``llmotel.redaction.email_address.count``.
    """
    return f"llmotel.redaction.{entity_type.lower()}.count"


class RedactionStage:
    """Pipeline stage: redacts a :class:`MutableSpan` or :class:`MutableLogRecord` in place.

    On spans it rewrites attributes, event attributes (``exception.message``,
    ``exception.stacktrace`` …), link attributes and, with ``redact_span_names``, the name; on
    log records the body and attributes. Each record gets :data:`COUNT_ATTRIBUTE` and one
    :func:`entity_count_attribute` per entity type found (counts, never values).

    Fail closed: when analysis raises or one record takes longer than ``time_budget`` seconds,
    every analyzable value of that record becomes ``<REDACTION_FAILED>``, the log body is
    removed, :data:`FAILED_ATTRIBUTE` says why, and ``llmotel.redaction.failures`` counts it.
    The stage never raises.

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
        redact_span_names: bool = False,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if time_budget <= 0:
            raise ValueError("time_budget must be positive (seconds)")
        self.redactor = redactor if redactor is not None else Redactor()
        self._budget = time_budget
        self._span_names = redact_span_names
        meter = (meter_provider or metrics.get_meter_provider()).get_meter(
            "llmotel.redaction", __version__
        )
        self._entities = meter.create_counter(
            "llmotel.redaction.entities",
            unit="{entity}",
            description="Values redacted, by entity type.",
        )
        self._failures = meter.create_counter(
            "llmotel.redaction.failures",
            unit="{record}",
            description="Records whose content was replaced because analysis failed or timed out.",
        )
        self._duration = meter.create_histogram(
            "llmotel.redaction.duration",
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
        """Redact every record of one export batch."""
        return [self(record) for record in records]

    def _redact(
        self, record: MutableSpan | MutableLogRecord, redaction: Redaction, deadline: float
    ) -> None:
        redactor = self.redactor
        redactor.redact_attributes(record.attributes, redaction, deadline)
        if isinstance(record, MutableSpan):
            for event in record.events:
                redactor.redact_attributes(event.attributes, redaction, deadline)
            for link in record.links:
                redactor.redact_attributes(link.attributes, redaction, deadline)
            if self._span_names:
                name = redactor.redact_value(record.name, redaction, deadline)
                record.name = name if isinstance(name, str) else "<REDACTED>"
        elif record.body is not None:
            body = redactor.redact_value(record.body, redaction, deadline)
            record.body = None if body is DROP else body

    def shed(self, record: _R) -> _R:
        """The pipeline's call for a record it sheds under load, instead of analysis: every value this
        stage would analyze becomes ``<REDACTION_FAILED>`` (the pipeline has removed the content first)."""
        self._fail_closed(record, mark=False)
        return record

    def _fail_closed(self, record: MutableSpan | MutableLogRecord, *, mark: bool = True) -> None:
        redactor = self.redactor
        redactor.fail_closed(record.attributes)
        if isinstance(record, MutableSpan):
            for event in record.events:
                redactor.fail_closed(event.attributes)
            for link in record.links:
                redactor.fail_closed(link.attributes)
            if self._span_names:
                record.name = FAILED_MARKER
        else:
            record.body = None
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
