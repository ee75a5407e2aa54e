"""The frozen dataclasses of ``llmotel.semconv.registry`` (the data itself is generated)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class RequirementLevel(StrEnum):
    """How strongly a span, event or metric asks for an attribute."""

    REQUIRED = "required"
    CONDITIONALLY_REQUIRED = "conditionally_required"
    RECOMMENDED = "recommended"
    OPT_IN = "opt_in"


@dataclass(frozen=True, slots=True)
class Deprecation:
    """Why a name is deprecated: ``reason`` is ``renamed``, ``obsoleted`` or ``uncategorized``."""

    reason: str
    renamed_to: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class EnumMember:
    """One well-known value of an enum attribute."""

    id: str
    value: str
    brief: str
    stability: str
    deprecated: Deprecation | None = None


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One attribute of a registry.

    ``type`` is ``string``, ``int``, ``double``, ``boolean``, ``string[]``, ``int[]``, ``double[]``,
    ``boolean[]`` or ``any`` (structured: a JSON string or an AnyValue map/list). An enum attribute
    has ``members`` and the type of its values. The GenAI enums are open: values outside
    ``members`` are allowed (``open_enum``). ``registry`` is ``gen_ai``, ``openai`` or ``mcp``, or
    the core registry (``server``, ``error``, ...) of an attribute the GenAI conventions reference.
    """

    id: str
    type: str
    brief: str
    stability: str
    registry: str
    members: tuple[EnumMember, ...] = ()
    open_enum: bool = True
    deprecated: Deprecation | None = None

    @property
    def is_enum(self) -> bool:
        return bool(self.members)

    @property
    def renamed_to(self) -> str | None:
        return self.deprecated.renamed_to if self.deprecated else None

    def member_values(self, *, include_deprecated: bool = False) -> frozenset[str]:
        """The well-known values (without deprecated members unless asked)."""
        return frozenset(
            m.value for m in self.members if include_deprecated or m.deprecated is None
        )


@dataclass(frozen=True, slots=True)
class AttributeRequirement:
    """An attribute as a span, event or metric asks for it.

    ``condition`` is the free text of a ``conditionally_required`` (or conditional ``recommended``)
    level, e.g. ``"if the operation ended in an error"``. ``sampling_relevant`` attributes should be
    given when the span starts so that samplers can see them.
    """

    id: str
    level: RequirementLevel
    condition: str | None = None
    sampling_relevant: bool = False


@dataclass(frozen=True, slots=True)
class _SignalDef:
    attributes: Mapping[str, AttributeRequirement]

    def ids(self, *levels: RequirementLevel) -> frozenset[str]:
        """Ids of the attributes at any of ``levels`` (all attributes if none given)."""
        return frozenset(a.id for a in self.attributes.values() if not levels or a.level in levels)

    @property
    def required(self) -> frozenset[str]:
        return self.ids(RequirementLevel.REQUIRED)


@dataclass(frozen=True, slots=True)
class SpanDef(_SignalDef):
    """A span of the conventions (``spans.yaml``), attributes resolved through ``extends``.

    ``name_patterns`` are the span names the conventions ask for, most specific first, e.g.
    ``("{gen_ai.operation.name} {gen_ai.request.model}",)`` or
    ``("invoke_agent {gen_ai.agent.name}", "invoke_agent")``. ``operation_names`` are the
    ``gen_ai.operation.name`` values the span is for (empty: not keyed by operation, e.g. MCP).
    ``provider_name`` is set on provider-specific spans.
    """

    id: str
    kind: str
    brief: str
    stability: str
    name_patterns: tuple[str, ...]
    operation_names: tuple[str, ...]
    provider_name: str | None
    extends: str | None


@dataclass(frozen=True, slots=True)
class EventDef(_SignalDef):
    """An event of the conventions (``events.yaml``, deprecated events included)."""

    name: str
    id: str
    brief: str
    stability: str
    deprecated: Deprecation | None = None


@dataclass(frozen=True, slots=True)
class MetricDef(_SignalDef):
    """A metric of the conventions (``metrics.yaml``).

    ``instrument`` is ``histogram``, ``counter``, ``updowncounter`` or ``gauge``; ``value_type`` is
    ``int``/``double`` when the conventions say; ``bucket_boundaries`` are the advisory explicit
    histogram boundaries.
    """

    name: str
    id: str
    instrument: str
    unit: str
    value_type: str | None
    brief: str
    stability: str
    bucket_boundaries: tuple[float, ...] | None = None
