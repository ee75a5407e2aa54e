"""Checking spans against the GenAI semantic conventions v1.41 (the generated registry).

* :func:`validate_span` returns the :class:`Violation` list of one span;
* :func:`assert_semconv` is the pytest helper every llmotel instrumentation test calls: it raises
  ``AssertionError`` listing the violations;
* :class:`SemconvValidator` is a pipeline stage that reports violations as a metric and a debug
  log, and never changes or drops a span.

What is checked, for spans that carry ``gen_ai.operation.name``: the attributes the span
definition marks *required*; the conditionally-required ones whose condition can be read off the
span (``error.type`` when the status is ERROR, ``server.port`` when ``server.address`` is set);
the type of every registry attribute present; values of closed enums; use of deprecated
attributes; the span name against the definition's name patterns; and that the JSON content
attributes (``gen_ai.input.messages`` ...) decode with the conventions' schemas. Span kind is not
checked: the pipeline cannot change it, and other instrumentations disagree on it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.status import Status

from llmotel.sdk._records import MutableSpan
from llmotel.sdk.version import __version__
from llmotel.semconv import attributes as A
from llmotel.semconv import extensions as ext
from llmotel.semconv.messages import (
    decode_input_messages,
    decode_output_messages,
    decode_retrieval_documents,
    decode_system_instructions,
    decode_tool_definitions,
)
from llmotel.semconv.registry import ATTRIBUTES, RequirementLevel, SpanDef, span_defs_for

__all__ = ["SemconvValidator", "Violation", "assert_semconv", "validate_span"]

_logger = logging.getLogger("llmotel.sdk.validation")

_PLACEHOLDER = re.compile(r"\{([a-z0-9_.]+)\}")

_DECODERS: Mapping[str, Callable[[Any], Any]] = {
    A.GEN_AI_INPUT_MESSAGES: decode_input_messages,
    A.GEN_AI_OUTPUT_MESSAGES: decode_output_messages,
    A.GEN_AI_SYSTEM_INSTRUCTIONS: decode_system_instructions,
    A.GEN_AI_TOOL_DEFINITIONS: decode_tool_definitions,
    A.GEN_AI_RETRIEVAL_DOCUMENTS: decode_retrieval_documents,
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a span departs from the conventions.

    ``rule`` is one of ``required``, ``conditionally_required``, ``type``, ``enum``,
    ``deprecated``, ``name``, ``content``; ``attribute`` the attribute concerned (``None`` for the
    name); ``message`` says what was expected and what was found.
    """

    rule: str
    attribute: str | None
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "any":
        return True
    if expected.endswith("[]"):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            return False
        return all(_type_ok(expected[:-2], item) for item in value)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _definition(operation: str, provider: str | None, kind: SpanKind | None) -> SpanDef | None:
    kind_name = kind.name.lower() if kind is not None else None
    defs = span_defs_for(operation, provider, kind_name) or span_defs_for(operation, provider)
    return defs[0] if defs else None


def _expected_names(definition: SpanDef, attributes: Mapping[str, Any]) -> list[str]:
    names = []
    for pattern in definition.name_patterns:
        missing = False

        def fill(match: re.Match[str]) -> str:
            nonlocal missing
            value = attributes.get(match[1])
            if value is None or value == "":
                missing = True
                return ""
            return str(value)

        name = _PLACEHOLDER.sub(fill, pattern)
        # A pattern whose placeholder is unavailable degrades to what is left of it
        # ("{gen_ai.operation.name} {gen_ai.request.model}" without a model: "chat").
        names.append(" ".join(name.split()) if missing else name)
    return names


def validate(
    name: str,
    attributes: Mapping[str, Any],
    *,
    kind: SpanKind | None = None,
    status: Status | None = None,
) -> list[Violation]:
    """The violations of a span given by its parts (see :func:`validate_span`)."""
    violations: list[Violation] = []
    for key, value in attributes.items():
        attr_def = ATTRIBUTES.get(key)
        if attr_def is None:
            continue
        if attr_def.deprecated is not None:
            renamed = attr_def.renamed_to
            hint = f"use {renamed}" if renamed else attr_def.deprecated.note or "removed"
            violations.append(Violation("deprecated", key, f"{key} is deprecated: {hint}"))
        if not _type_ok(attr_def.type, value):
            violations.append(
                Violation(
                    "type",
                    key,
                    f"{key} must be {attr_def.type}, got {type(value).__name__} {value!r:.60}",
                )
            )
            continue
        if attr_def.members and not attr_def.open_enum and isinstance(value, str):
            allowed = attr_def.member_values()
            if value not in allowed:
                violations.append(
                    Violation(
                        "enum", key, f"{key}={value!r} is not one of {', '.join(sorted(allowed))}"
                    )
                )
        decoder = _DECODERS.get(key)
        if decoder is not None:
            try:
                decoder(value)
            except ValueError as exc:
                violations.append(
                    Violation("content", key, f"{key} does not match its schema: {exc}")
                )
    operation = attributes.get(A.GEN_AI_OPERATION_NAME)
    if not isinstance(operation, str):
        return violations
    provider = attributes.get(A.GEN_AI_PROVIDER_NAME)
    definition = _definition(operation, provider if isinstance(provider, str) else None, kind)
    if definition is None:
        return violations
    violations.extend(
        Violation("required", r.id, f"{r.id} is required on {definition.id} spans")
        for r in definition.attributes.values()
        if r.level is RequirementLevel.REQUIRED and r.id not in attributes
    )
    if (
        status is not None
        and status.status_code is StatusCode.ERROR
        and A.ERROR_TYPE in definition.attributes
        and A.ERROR_TYPE not in attributes
    ):
        violations.append(
            Violation(
                "conditionally_required",
                A.ERROR_TYPE,
                f"{A.ERROR_TYPE} is required when the span's status is ERROR",
            )
        )
    if (
        A.SERVER_ADDRESS in attributes
        and A.SERVER_PORT in definition.attributes
        and A.SERVER_PORT not in attributes
    ):
        violations.append(
            Violation(
                "conditionally_required",
                A.SERVER_PORT,
                f"{A.SERVER_PORT} is required when {A.SERVER_ADDRESS} is set",
            )
        )
    expected = _expected_names(definition, attributes)
    if expected and name not in expected:
        violations.append(
            Violation(
                "name", None, f"span name {name!r} should be {' or '.join(map(repr, expected))}"
            )
        )
    return violations


def validate_span(span: ReadableSpan | MutableSpan) -> list[Violation]:
    """The violations of ``span`` (a finished SDK span or a pipeline record); ``[]`` if none.

    Spans without ``gen_ai.operation.name`` are only checked for attribute types, enum values,
    deprecated names and content format.
    """
    attributes = span.attributes or {}
    return validate(span.name, attributes, kind=span.kind, status=span.status)


def assert_semconv(span: ReadableSpan | MutableSpan, *, allow: Sequence[str] = ()) -> None:
    """Fail (``AssertionError``) unless ``span`` follows the GenAI conventions.

    For tests: ``assert_semconv(span_exporter.get_finished_spans()[0])``. The message lists every
    violation. ``allow`` names violations to tolerate: a rule (``"deprecated"`` for a span that
    keeps old names on purpose) or a rule and attribute (``"required:gen_ai.request.model"``). A
    span without ``gen_ai.operation.name`` fails: it is not a GenAI span.
    """
    attributes = span.attributes or {}
    problems = [
        v
        for v in validate_span(span)
        if v.rule not in allow and f"{v.rule}:{v.attribute}" not in allow
    ]
    if A.GEN_AI_OPERATION_NAME not in attributes:
        problems.insert(0, Violation("required", A.GEN_AI_OPERATION_NAME, "not a GenAI span"))
    if problems:
        listing = "\n".join(f"  - {v}" for v in problems)
        raise AssertionError(
            f"span {span.name!r} violates the GenAI semantic conventions:\n{listing}"
        )


class SemconvValidator:
    """A span pipeline stage that reports semconv violations and passes every span on unchanged.

    Each violation is counted on ``llmotel.semconv.violations`` (``{violation}``; attributes
    ``llmotel.semconv.rule``, ``gen_ai.operation.name`` and, when there is one,
    ``llmotel.semconv.attribute``) when ``meter_provider`` is given, logged at DEBUG on
    ``llmotel.sdk.validation``, and added to :attr:`violation_count`. It never raises. Put it
    after the ConventionNormalizer to check what is exported.
    """

    name = "SemconvValidator"
    atomic = True  # it only reads the record

    def __init__(self, *, meter_provider: MeterProvider | None = None) -> None:
        self.violation_count = 0
        self._counter: Any = None
        if meter_provider is not None:
            meter = meter_provider.get_meter("llmotel.sdk", __version__)
            self._counter = meter.create_counter(
                ext.LLMOTEL_SEMCONV_VIOLATIONS,
                unit="{violation}",
                description="GenAI semantic-convention violations found on exported spans.",
            )

    def __call__(self, record: MutableSpan) -> MutableSpan:
        try:
            violations = validate_span(record)
        except Exception:  # noqa: BLE001 - a validator must never affect export
            _logger.debug("could not validate span %r", record.name, exc_info=True)
            return record
        if not violations:
            return record
        self.violation_count += len(violations)
        operation = record.attributes.get(A.GEN_AI_OPERATION_NAME)
        for violation in violations:
            _logger.debug("span %r: %s", record.name, violation)
            if self._counter is not None:
                attrs = {ext.LLMOTEL_SEMCONV_RULE: violation.rule}
                if isinstance(operation, str):
                    attrs[A.GEN_AI_OPERATION_NAME] = operation
                if violation.attribute is not None:
                    attrs[ext.LLMOTEL_SEMCONV_ATTRIBUTE] = violation.attribute
                self._counter.add(1, attrs)
        return record
