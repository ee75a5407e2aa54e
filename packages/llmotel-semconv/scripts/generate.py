#!/usr/bin/env python3
"""Generate ``llmotel.semconv._generated`` from the OpenTelemetry GenAI semantic conventions.

Reads the YAML model of semantic-conventions v1.41.0 (``model/gen-ai`` incl. ``deprecated/``,
``model/openai``, ``model/mcp``) and the hand summary of the unreleased GenAI main branch
(``latest-main-summary.json``), and writes plain Python modules of constants, enums and registry
data.

    python packages/llmotel-semconv/scripts/generate.py                 # rewrite _generated/
    python packages/llmotel-semconv/scripts/generate.py --check         # exit 1 if it is stale
    python packages/llmotel-semconv/scripts/generate.py --out /tmp/gen  # write elsewhere (tests)

The semconv folder defaults to the pinned copy ``packages/llmotel-semconv/semconv`` (v1.41.0);
``--semconv-dir`` overrides it. The output is deterministic (same inputs, same bytes) and already
formatted the way ``ruff format`` would format it, because ruff is configured to skip
``_generated/``. Needs the standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

SCRIPT = pathlib.Path(__file__).resolve()
PACKAGE_DIR = SCRIPT.parent.parent
REPO_ROOT = PACKAGE_DIR.parent.parent
DEFAULT_SEMCONV_DIR = PACKAGE_DIR / "semconv"
DEFAULT_OUT = PACKAGE_DIR / "src" / "llmotel" / "semconv" / "_generated"
DEFAULT_VERSION = "v1.41.0"
LINE = 100

# Model folders read from the semconv release, relative to its ``model/``.
MODEL_DIRS = ("gen-ai", "gen-ai/deprecated", "openai", "mcp")
# The registries whose every attribute gets a constant.
OWN_REGISTRIES = ("gen_ai", "openai", "mcp")

# Attributes that the GenAI spans, events and metrics reference but that are defined in other
# registries of the core semantic conventions (model/{error,server,client,exception,network,rpc,
# jsonrpc,azure,aws,session,user}/registry.yaml of v1.41.0), not in the pinned semconv/ copy. Kept
# here, briefs copied from those registries; the generator fails when a span/event/metric references
# an attribute that is neither in the GenAI registries nor in this table.
EXTERNAL_ATTRIBUTES: dict[str, dict[str, Any]] = {
    "error.type": {
        "registry": "error",
        "type": "string",
        "stability": "stable",
        "brief": "Describes a class of error the operation ended with.",
        "members": [
            {
                "id": "other",
                "value": "_OTHER",
                "stability": "stable",
                "brief": "A fallback error value to be used when the instrumentation doesn't "
                "define a custom value.",
            }
        ],
    },
    "server.address": {
        "registry": "server",
        "type": "string",
        "stability": "stable",
        "brief": "Server domain name if available without reverse DNS lookup; otherwise, IP "
        "address or Unix domain socket name.",
    },
    "server.port": {
        "registry": "server",
        "type": "int",
        "stability": "stable",
        "brief": "Server port number.",
    },
    "client.address": {
        "registry": "client",
        "type": "string",
        "stability": "stable",
        "brief": "Client address - domain name if available without reverse DNS lookup; otherwise, "
        "IP address or Unix domain socket name.",
    },
    "client.port": {
        "registry": "client",
        "type": "int",
        "stability": "stable",
        "brief": "Client port number.",
    },
    "exception.type": {
        "registry": "exception",
        "type": "string",
        "stability": "stable",
        "brief": "The type of the exception (its fully-qualified class name, if applicable). The "
        "dynamic type of the exception should be preferred over the static type in languages that "
        "support it.",
    },
    "exception.message": {
        "registry": "exception",
        "type": "string",
        "stability": "stable",
        "brief": "The exception message.",
    },
    "exception.stacktrace": {
        "registry": "exception",
        "type": "string",
        "stability": "stable",
        "brief": "A stacktrace as a string in the natural representation for the language runtime.",
    },
    "network.transport": {
        "registry": "network",
        "type": "string",
        "stability": "stable",
        "brief": "OSI transport layer or inter-process communication method.",
        "members": [
            {"id": "tcp", "value": "tcp", "stability": "stable", "brief": "TCP"},
            {"id": "udp", "value": "udp", "stability": "stable", "brief": "UDP"},
            {
                "id": "pipe",
                "value": "pipe",
                "stability": "stable",
                "brief": "Named or anonymous pipe.",
            },
            {"id": "unix", "value": "unix", "stability": "stable", "brief": "Unix domain socket"},
            {"id": "quic", "value": "quic", "stability": "stable", "brief": "QUIC"},
        ],
    },
    "network.protocol.name": {
        "registry": "network",
        "type": "string",
        "stability": "stable",
        "brief": "OSI application layer or non-OSI equivalent.",
    },
    "network.protocol.version": {
        "registry": "network",
        "type": "string",
        "stability": "stable",
        "brief": "The actual version of the protocol used for network communication.",
    },
    "rpc.response.status_code": {
        "registry": "rpc",
        "type": "string",
        "stability": "development",
        "brief": "Status code of the RPC returned by the RPC server or generated by the client.",
    },
    "jsonrpc.protocol.version": {
        "registry": "jsonrpc",
        "type": "string",
        "stability": "development",
        "brief": "Protocol version, as specified in the `jsonrpc` property of the request and its "
        "corresponding response.",
    },
    "jsonrpc.request.id": {
        "registry": "jsonrpc",
        "type": "string",
        "stability": "development",
        "brief": "A string representation of the `id` property of the request and its "
        "corresponding response.",
    },
    "azure.resource_provider.namespace": {
        "registry": "azure",
        "type": "string",
        "stability": "development",
        "brief": "Azure Resource Provider Namespace as recognized by the client.",
    },
    "aws.bedrock.guardrail.id": {
        "registry": "aws",
        "type": "string",
        "stability": "development",
        "brief": "The unique identifier of the AWS Bedrock Guardrail.",
    },
    "aws.bedrock.knowledge_base.id": {
        "registry": "aws",
        "type": "string",
        "stability": "development",
        "brief": "The unique identifier of the AWS Bedrock Knowledge base.",
    },
    # Not referenced by the GenAI model. messaging.*: the llmgine instrumentation describes the
    # message bus with them.
    "messaging.system": {
        "registry": "messaging",
        "type": "string",
        "stability": "development",
        "brief": "The messaging system as identified by the client instrumentation.",
    },
    "messaging.operation.type": {
        "registry": "messaging",
        "type": "string",
        "stability": "development",
        "brief": "A string identifying the type of the messaging operation.",
        "members": [
            {
                "id": "create",
                "value": "create",
                "stability": "development",
                "brief": 'A message is created. "Create" spans always refer to a single message.',
            },
            {
                "id": "send",
                "value": "send",
                "stability": "development",
                "brief": "One or more messages are provided for sending to an intermediary.",
            },
            {
                "id": "receive",
                "value": "receive",
                "stability": "development",
                "brief": "One or more messages are requested by a consumer.",
            },
            {
                "id": "process",
                "value": "process",
                "stability": "development",
                "brief": "One or more messages are processed by a consumer.",
            },
            {
                "id": "settle",
                "value": "settle",
                "stability": "development",
                "brief": "One or more messages are settled.",
            },
        ],
    },
    "messaging.operation.name": {
        "registry": "messaging",
        "type": "string",
        "stability": "development",
        "brief": "The system-specific name of the messaging operation.",
    },
    "messaging.destination.name": {
        "registry": "messaging",
        "type": "string",
        "stability": "development",
        "brief": "The message destination name.",
    },
    "messaging.message.id": {
        "registry": "messaging",
        "type": "string",
        "stability": "development",
        "brief": "A value used by the messaging system as an identifier for the message, "
        "represented as a string.",
    },
    # session.id, user.id: llmotel's context enrichment sets them on GenAI spans.
    "session.id": {
        "registry": "session",
        "type": "string",
        "stability": "development",
        "brief": "A unique id to identify a session.",
    },
    "user.id": {
        "registry": "user",
        "type": "string",
        "stability": "development",
        "brief": "Unique identifier of the user.",
    },
}

# Advisory histogram bucket boundaries. metrics.yaml of v1.41.0 does not carry them: they are
# normative text of the same release ("This metric SHOULD be specified with
# ExplicitBucketBoundaries of [...]") in docs/gen-ai/gen-ai-metrics.md and docs/gen-ai/mcp.md,
# which the pinned semconv/ copy does not carry.
# The generator fails if a name here is not a metric of the model.
_DURATION = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
_TOKENS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
_MCP_DURATION = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
BUCKETS: dict[str, tuple[float, ...]] = {
    "gen_ai.client.token.usage": _TOKENS,
    "gen_ai.client.operation.duration": _DURATION,
    "gen_ai.client.operation.time_to_first_chunk": _DURATION,
    "gen_ai.client.operation.time_per_output_chunk": _DURATION,
    "gen_ai.server.request.duration": _DURATION,
    "gen_ai.server.time_per_output_token": (
        0.01,
        0.025,
        0.05,
        0.075,
        0.1,
        0.15,
        0.2,
        0.3,
        0.4,
        0.5,
        0.75,
        1.0,
        2.5,
    ),
    "gen_ai.server.time_to_first_token": (
        0.001,
        0.005,
        0.01,
        0.02,
        0.04,
        0.06,
        0.08,
        0.1,
        0.25,
        0.5,
        0.75,
        1.0,
        2.5,
        5.0,
        7.5,
        10.0,
    ),
    "mcp.client.operation.duration": _MCP_DURATION,
    "mcp.server.operation.duration": _MCP_DURATION,
    "mcp.client.session.duration": _MCP_DURATION,
    "mcp.server.session.duration": _MCP_DURATION,
}

# gen-ai-spans.md (section "Inference") says which operations the inference span covers; the YAML
# only says it for the other spans ("The `gen_ai.operation.name` SHOULD be `embeddings`").
INFERENCE_GROUP = "attributes.gen_ai.inference.client"
INFERENCE_OPERATIONS = ("chat", "generate_content", "text_completion")

# Deprecated attributes that carried prompt/completion text (their briefs say so).
DEPRECATED_CONTENT_ATTRIBUTES = ("gen_ai.prompt", "gen_ai.completion")

REQUIREMENT_LEVELS = ("required", "conditionally_required", "recommended", "opt_in")


# --------------------------------------------------------------------------------------------------
# Model


@dataclass
class Member:
    id: str
    value: str
    brief: str
    stability: str
    deprecated: dict[str, Any] | None = None


@dataclass
class Attribute:
    id: str
    type: str
    brief: str
    stability: str
    registry: str
    note: str = ""
    members: list[Member] = field(default_factory=list)
    deprecated: dict[str, Any] | None = None


@dataclass
class Requirement:
    id: str
    level: str
    condition: str | None
    sampling_relevant: bool


@dataclass
class Span:
    id: str
    kind: str
    brief: str
    stability: str
    extends: str | None
    name_patterns: tuple[str, ...]
    operation_names: tuple[str, ...]
    provider_name: str | None
    attributes: list[Requirement]


@dataclass
class Event:
    id: str
    name: str
    brief: str
    stability: str
    attributes: list[Requirement]
    deprecated: dict[str, Any] | None


@dataclass
class Metric:
    id: str
    name: str
    instrument: str
    unit: str
    value_type: str | None
    brief: str
    note: str
    stability: str
    attributes: list[Requirement]
    buckets: tuple[float, ...] | None


@dataclass
class Model:
    version: str
    files: list[str]
    attributes: dict[str, Attribute]
    spans: dict[str, Span]
    events: dict[str, Event]
    metrics: dict[str, Metric]


def _clean(text: Any) -> str:
    """Collapse YAML folded/literal text to single-spaced prose (paragraph breaks kept)."""
    if text is None:
        return ""
    paragraphs = re.split(r"\n\s*\n", str(text).strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _deprecation(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    return {
        "reason": str(raw.get("reason", "uncategorized")),
        "renamed_to": raw.get("renamed_to"),
        "note": _clean(raw.get("note")) or None,
    }


def _load_groups(model_dir: pathlib.Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    groups: dict[str, dict[str, Any]] = {}
    files: list[str] = []
    for sub in MODEL_DIRS:
        for path in sorted((model_dir / sub).glob("*.yaml")):
            files.append(path.relative_to(model_dir.parent).as_posix())
            for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
                gid = group["id"]
                if gid in groups:
                    sys.exit(f"duplicate group id {gid!r} in {path}")
                group["_file"] = sub
                groups[gid] = group
    return groups, files


def _attribute_type(raw: Any) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(raw, str):
        return raw, []
    members = list(raw["members"])
    kinds = {type(m["value"]) for m in members}
    return ("int" if kinds == {int} else "string"), members


def _members(raw: Iterable[dict[str, Any]]) -> list[Member]:
    return [
        Member(
            id=str(m["id"]),
            value=str(m["value"]),
            brief=_clean(m.get("brief")),
            stability=str(m.get("stability", "development")),
            deprecated=_deprecation(m.get("deprecated")),
        )
        for m in raw
    ]


def _registry_attributes(groups: Mapping[str, dict[str, Any]]) -> dict[str, Attribute]:
    out: dict[str, Attribute] = {}
    for gid, group in groups.items():
        if not gid.startswith("registry."):
            continue
        registry = gid.removeprefix("registry.").split(".")[0]
        for raw in group.get("attributes", []):
            if "id" not in raw:
                continue
            type_, members = _attribute_type(raw["type"])
            out[raw["id"]] = Attribute(
                id=raw["id"],
                type=type_,
                brief=_clean(raw.get("brief")),
                stability=str(raw.get("stability", "development")),
                registry=registry,
                note=_clean(raw.get("note")),
                members=_members(members),
                deprecated=_deprecation(raw.get("deprecated")),
            )
    return out


def _external_attributes() -> dict[str, Attribute]:
    return {
        aid: Attribute(
            id=aid,
            type=spec["type"],
            brief=spec["brief"],
            stability=spec["stability"],
            registry=spec["registry"],
            members=_members(spec.get("members", [])),
        )
        for aid, spec in EXTERNAL_ATTRIBUTES.items()
    }


def _resolve(groups: Mapping[str, dict[str, Any]], gid: str) -> dict[str, dict[str, Any]]:
    """The attribute refs of a group after ``extends``: a child's fields override its parent's."""
    group = groups[gid]
    out = dict(_resolve(groups, group["extends"])) if group.get("extends") else {}
    for raw in group.get("attributes", []):
        aid = raw.get("ref") or raw["id"]
        out[aid] = {**out.get(aid, {}), **raw}
    return out


def _extends_chain(groups: Mapping[str, dict[str, Any]], gid: str) -> list[str]:
    chain = []
    while gid:
        chain.append(gid)
        gid = groups[gid].get("extends", "")
    return chain


def _requirements(
    resolved: Mapping[str, dict[str, Any]], known: Mapping[str, Attribute], where: str
) -> list[Requirement]:
    out = []
    for aid, raw in resolved.items():
        if aid not in known:
            sys.exit(f"{where} references {aid!r}: add it to EXTERNAL_ATTRIBUTES in {SCRIPT.name}")
        level_raw = raw.get("requirement_level", "recommended")
        condition = None
        if isinstance(level_raw, dict):
            ((level, condition),) = level_raw.items()
            condition = _clean(condition) or None
        else:
            level = level_raw
        if level not in REQUIREMENT_LEVELS:
            sys.exit(f"{where}: unknown requirement level {level!r} for {aid}")
        out.append(Requirement(aid, level, condition, bool(raw.get("sampling_relevant", False))))
    return out


_NAME_RE = re.compile(r"(?:SHOULD (?:be|follow the format)|and) `([^`]+)`")
_OPERATION_RE = re.compile(r"`gen_ai\.operation\.name` SHOULD be `([^`]+)`")
_PROVIDER_RE = re.compile(r'`gen_ai\.provider\.name` MUST be set to `"([^"]+)"`')


def _span_name_patterns(text: str) -> tuple[str, ...]:
    if "**Span name**" not in text:
        return ()
    paragraph = text[text.index("**Span name**") :].split("\n\n")[0]
    return tuple(dict.fromkeys(_NAME_RE.findall(paragraph)))


def _spans(
    groups: Mapping[str, dict[str, Any]], known: Mapping[str, Attribute], providers: list[str]
) -> dict[str, Span]:
    spans: dict[str, Span] = {}
    for gid, group in groups.items():
        if group.get("type") != "span":
            continue
        text = _clean(group.get("brief")) + "\n\n" + _clean(group.get("note"))
        chain = _extends_chain(groups, gid)
        patterns: tuple[str, ...] = ()
        for ancestor in chain:
            ancestor_text = _clean(groups[ancestor].get("brief"))
            ancestor_text += "\n\n" + _clean(groups[ancestor].get("note"))
            patterns = _span_name_patterns(ancestor_text)
            if patterns:
                break
        operations = tuple(dict.fromkeys(_OPERATION_RE.findall(text)))
        if not operations and INFERENCE_GROUP in chain:
            operations = INFERENCE_OPERATIONS
        provider = None
        if match := _PROVIDER_RE.search(text):
            provider = match.group(1)
        else:
            prefixed = [p for p in providers if gid.startswith(f"span.{p}.")]
            provider = max(prefixed, key=len) if prefixed else None
        spans[gid] = Span(
            id=gid,
            kind=str(group.get("span_kind", "internal")),
            brief=_clean(group.get("brief")).split("\n\n")[0],
            stability=str(group.get("stability", "development")),
            extends=group.get("extends"),
            name_patterns=patterns,
            operation_names=operations,
            provider_name=provider,
            attributes=_requirements(_resolve(groups, gid), known, gid),
        )
    return spans


def _events(
    groups: Mapping[str, dict[str, Any]], known: Mapping[str, Attribute]
) -> dict[str, Event]:
    events: dict[str, Event] = {}
    for gid, group in groups.items():
        if group.get("type") != "event":
            continue
        events[group["name"]] = Event(
            id=gid,
            name=group["name"],
            brief=_clean(group.get("brief")),
            stability=str(group.get("stability", "development")),
            attributes=_requirements(_resolve(groups, gid), known, gid),
            deprecated=_deprecation(group.get("deprecated")),
        )
    return events


def _metrics(
    groups: Mapping[str, dict[str, Any]], known: Mapping[str, Attribute]
) -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    for gid, group in groups.items():
        if group.get("type") != "metric":
            continue
        name = group["metric_name"]
        annotations = group.get("annotations", {}).get("code_generation", {})
        metrics[name] = Metric(
            id=gid,
            name=name,
            instrument=str(group["instrument"]),
            unit=str(group["unit"]),
            value_type=annotations.get("metric_value_type"),
            brief=_clean(group.get("brief")),
            note=_clean(group.get("note")),
            stability=str(group.get("stability", "development")),
            attributes=_requirements(_resolve(groups, gid), known, gid),
            buckets=BUCKETS.get(name),
        )
    unknown = set(BUCKETS) - set(metrics)
    if unknown:
        sys.exit(f"BUCKETS names metrics the model does not define: {sorted(unknown)}")
    return metrics


def load_model(semconv_dir: pathlib.Path, version: str = DEFAULT_VERSION) -> Model:
    model_dir = semconv_dir / version / "model"
    groups, files = _load_groups(model_dir)
    attributes = _registry_attributes(groups)
    for aid, ext in _external_attributes().items():
        if aid in attributes:
            sys.exit(f"{aid} is both in the GenAI registries and in EXTERNAL_ATTRIBUTES")
        attributes[aid] = ext
    providers = [m.value for m in attributes["gen_ai.provider.name"].members]
    return Model(
        version=version.removeprefix("v"),
        files=files,
        attributes=attributes,
        spans=_spans(groups, attributes, providers),
        events=_events(groups, attributes),
        metrics=_metrics(groups, attributes),
    )


def content_attributes(model: Model) -> list[str]:
    """Attributes carrying user content: opt-in on a span, or flagged as sensitive in their note."""
    found: set[str] = set(DEPRECATED_CONTENT_ATTRIBUTES)
    for span in model.spans.values():
        found.update(r.id for r in span.attributes if r.level == "opt_in")
    for attr in model.attributes.values():
        if attr.registry in OWN_REGISTRIES and "sensitive information" in attr.note:
            found.add(attr.id)
    return sorted(found)


# --------------------------------------------------------------------------------------------------
# Rendering: a tiny pretty-printer that emits what ``ruff format`` would (magic trailing commas).


def py_str(s: str) -> str:
    body = json.dumps(s, ensure_ascii=False)[1:-1]
    if '"' in s and "'" not in s:
        return "'" + body.replace('\\"', '"') + "'"
    return '"' + body + '"'


@dataclass
class Raw:
    """Source text emitted as is (names, numbers, already-rendered literals)."""

    text: str


@dataclass
class Call:
    func: str
    args: list[Any] = field(default_factory=list)
    kwargs: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Tup:
    items: list[Any]


@dataclass
class St:
    items: list[Any]


@dataclass
class Dct:
    items: list[tuple[Any, Any]]


def _flat(node: Any) -> str:
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, str):
        return py_str(node)
    if node is None or isinstance(node, bool):
        return repr(node)
    if isinstance(node, int | float):
        return repr(node)
    if isinstance(node, Call):
        parts = [_flat(a) for a in node.args] + [f"{k}={_flat(v)}" for k, v in node.kwargs]
        return f"{node.func}({', '.join(parts)})"
    if isinstance(node, Tup):
        inner = ", ".join(_flat(i) for i in node.items)
        return f"({inner},)" if len(node.items) == 1 else f"({inner})"
    if isinstance(node, St):
        return "{" + ", ".join(_flat(i) for i in node.items) + "}"
    if isinstance(node, Dct):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(v)}" for k, v in node.items) + "}"
    raise TypeError(node)


def render(node: Any, indent: int, prefix: str = "", suffix: str = "") -> list[str]:
    """Lines for ``prefix + node + suffix`` at ``indent``: flat if it fits, else exploded."""
    pad = " " * indent
    flat = _flat(node)
    if indent + len(prefix) + len(flat) + len(suffix) <= LINE:
        return [f"{pad}{prefix}{flat}{suffix}"]
    if not isinstance(node, Call | Tup | St | Dct):
        # ruff wraps a too-long assignment value in parentheses when that makes it fit.
        if prefix and indent + 4 + len(flat) <= LINE:
            return [f"{pad}{prefix}(", f"{pad}    {flat}", f"{pad}){suffix}"]
        if isinstance(node, str):
            # Too long even alone: implicit concatenation of line-sized parts.
            parts = [f"{pad}    {py_str(chunk)}" for chunk in _chunks(node, LINE - indent - 4)]
            if len(parts) > 1:
                return [f"{pad}{prefix}(", *parts, f"{pad}){suffix}"]
        return [f"{pad}{prefix}{flat}{suffix}"]
    if isinstance(node, Call):
        opener, closer = f"{node.func}(", ")"
        children = [render(a, indent + 4, suffix=",") for a in node.args]
        children += [render(v, indent + 4, prefix=f"{k}=", suffix=",") for k, v in node.kwargs]
    elif isinstance(node, Tup | St):
        opener, closer = ("(", ")") if isinstance(node, Tup) else ("{", "}")
        children = [render(i, indent + 4, suffix=",") for i in node.items]
    else:
        opener, closer = "{", "}"
        children = [
            render(v, indent + 4, prefix=f"{_flat(k)}: ", suffix=",") for k, v in node.items
        ]
    lines = [f"{pad}{prefix}{opener}"]
    for child in children:
        lines += child
    lines.append(f"{pad}{closer}{suffix}")
    return lines


def _chunks(text: str, width: int) -> list[str]:
    """Split ``text`` after spaces into pieces whose literals are at most ``width`` long."""
    words = re.findall(r"\S+\s*|\s+", text)
    chunks: list[str] = []
    current = ""
    for word in words:
        if current and len(py_str(current + word)) > width:
            chunks.append(current)
            current = ""
        current += word
    if current:
        chunks.append(current)
    return chunks


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def docstring(text: str, indent: int = 0) -> list[str]:
    """A docstring wrapped to the line length (no trailing blank, quotes kept safe)."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()
    if text.endswith('"'):
        text += " "
    pad = " " * indent
    one = f'{pad}"""{" ".join(text.split())}"""'
    if "\n\n" not in text and len(one) <= LINE:
        return [one]
    lines: list[str] = []
    for i, paragraph in enumerate(text.split("\n\n")):
        if i:
            lines.append("")
        lines += _wrap(paragraph, LINE, f'{pad}"""' if i == 0 else pad, pad)
    if len(lines[-1]) + 3 <= LINE:
        lines[-1] += '"""'
    else:
        lines.append(f'{pad}"""')
    return lines


def const_name(dotted: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", dotted).strip("_").upper()
    return f"_{name}" if name[:1].isdigit() else name


def class_name(dotted: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", dotted) if p) + "Values"


def member_name(member_id: str) -> str:
    return const_name(member_id)


def header(what: str, sources: Iterable[str]) -> list[str]:
    lines: list[str] = []
    for i, paragraph in enumerate(what.split("\n\n")):
        lines += ([""] if i else []) + _wrap(paragraph, LINE, '"""' if i == 0 else "")
    lines += ["", "Generated by packages/llmotel-semconv/scripts/generate.py from:", ""]
    for source in sources:
        lines += _wrap(source, LINE, "- ", "  ")
    lines += [
        "",
        "Do not edit: change the generator or its inputs and run `nox -s generate`.",
        '"""',
        "",
    ]
    return lines


class Module:
    def __init__(self, what: str, sources: Iterable[str]) -> None:
        self.lines = header(what, sources)
        self.imports: list[str] = []
        self.body: list[str] = []
        self.exports: list[str] = []

    def section(self, title: str) -> None:
        self.body += ["", *_wrap(title, LINE, "# ", "# "), ""]

    def const(self, name: str, value: Any, doc: str = "", annotation: str = "Final") -> None:
        if name in self.exports:
            sys.exit(f"duplicate name {name}")
        self.exports.append(name)
        self.body += render(value, 0, prefix=f"{name}: {annotation} = ")
        if doc:
            self.body += docstring(doc)

    def enum(self, name: str, doc: str, members: list[tuple[str, str, str]]) -> None:
        if name in self.exports:
            sys.exit(f"duplicate name {name}")
        self.exports.append(name)
        self.body += ["", "", f"class {name}(StrEnum):"]
        self.body += docstring(doc, 4)
        self.body.append("")
        seen: set[str] = set()
        for mname, value, mdoc in members:
            if mname in seen:
                sys.exit(f"duplicate member {name}.{mname}")
            seen.add(mname)
            self.body += render(value, 4, prefix=f"{mname} = ")
            if mdoc:
                self.body += docstring(mdoc, 4)
        self.body += ["", ""]

    def text(self) -> str:
        out = list(self.lines)
        out.append("from __future__ import annotations")
        out.append("")
        imports = _strip_blank(self.imports)
        body = _strip_blank(self.body)
        out += imports
        # isort/ruff: one blank line after the imports, two before a def/class or after a def.
        after_def = bool(imports) and imports[-1].startswith(" ")
        before_def = bool(body) and body[0].startswith(("class ", "def "))
        out += ["", ""] if after_def or before_def else [""]
        out += body
        out += ["", "", "__all__ = ["] if body[-1].startswith(" ") else ["", "__all__ = ["]
        out += [f"    {py_str(n)}," for n in sorted(self.exports, key=_all_key)]
        out += ["]"]
        text = "\n".join(out) + "\n"
        # Collapse runs of blank lines the way ruff does (at most two at top level) ...
        text = re.sub(r"\n{4,}", "\n\n\n", text)
        # ... and keep a section comment right above the class it introduces.
        text = re.sub(r"(\n# [^\n]*\n)\n+(?=\n\nclass )", r"\1", text)
        return text


def _strip_blank(lines: list[str]) -> list[str]:
    start = next((i for i, ln in enumerate(lines) if ln), len(lines))
    end = len(lines)
    while end > start and not lines[end - 1]:
        end -= 1
    return lines[start:end]


def _all_key(name: str) -> tuple[int, str]:
    """RUF022's isort-style order: CONSTANTS, then Classes, then the rest."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name


def _attr_doc(attr: Attribute) -> str:
    doc = "" if attr.deprecated and attr.brief.startswith("Deprecated") else attr.brief
    if attr.type and attr.type != "string":
        doc += f"\n\nType: {attr.type}."
    if attr.registry not in OWN_REGISTRIES:
        doc += f"\n\nFrom the `{attr.registry}` registry of the core semantic conventions."
    if attr.members:
        doc += f"\n\nValues: `{class_name(attr.id)}`."
    if attr.deprecated:
        doc += "\n\n" + _deprecation_text(attr.deprecated)
    return doc.strip()


def _deprecation_text(dep: Mapping[str, Any]) -> str:
    if dep.get("renamed_to"):
        return f"Deprecated: renamed to `{dep['renamed_to']}`."
    return "Deprecated" + (f": {dep['note']}" if dep.get("note") else ".")


def _member_rows(attr: Attribute) -> list[tuple[str, str, str]]:
    rows = []
    # Current members first: a deprecated member sharing a value then becomes the enum alias.
    for m in sorted(attr.members, key=lambda m: m.deprecated is not None):
        doc = m.brief
        if m.deprecated:
            doc = (doc + "\n\n" if doc else "") + _deprecation_text(m.deprecated)
        rows.append((member_name(m.id), m.value, doc))
    return rows


def _sources(model: Model, *extra: str) -> list[str]:
    return [f"semantic-conventions v{model.version}: {f}" for f in model.files] + list(extra)


def gen_attributes(model: Model) -> str:
    mod = Module(
        "Attribute names and enum values of the GenAI, OpenAI and MCP semantic conventions.",
        _sources(model),
    )
    mod.imports = ["from enum import StrEnum", "from typing import Final", ""]
    groups = [
        ("GenAI registry (registry.gen_ai)", lambda a: a.registry == "gen_ai" and not a.deprecated),
        (
            "OpenAI registry (registry.openai)",
            lambda a: a.registry == "openai" and not a.deprecated,
        ),
        ("MCP registry (registry.mcp)", lambda a: a.registry == "mcp" and not a.deprecated),
        (
            "Attributes of other registries (v1.41.0 core semantic conventions) that the GenAI "
            "spans, events and metrics reference, plus session.id and user.id (set by llmotel's "
            "context enrichment) and the messaging.* attributes of the llmgine instrumentation",
            lambda a: a.registry not in OWN_REGISTRIES,
        ),
        (
            "Deprecated (model/gen-ai/deprecated): recognise them, never emit them; see "
            "llmotel.semconv.deprecated",
            lambda a: a.registry in OWN_REGISTRIES and bool(a.deprecated),
        ),
    ]
    enums: list[Attribute] = []
    for title, pick in groups:
        mod.section(title)
        for attr in sorted((a for a in model.attributes.values() if pick(a)), key=lambda a: a.id):
            mod.const(const_name(attr.id), attr.id, _attr_doc(attr))
            if attr.members:
                enums.append(attr)
    mod.section("Content attributes")
    mod.const(
        "CONTENT_ATTRIBUTES",
        Call("frozenset", [St([Raw(const_name(a)) for a in content_attributes(model)])]),
        "Attributes that carry user content (prompts, completions, instructions, tool arguments "
        "and results, retrieved documents, queries): opt-in on the GenAI spans, or flagged as "
        "sensitive by the conventions, plus the deprecated `gen_ai.prompt`/`gen_ai.completion`. "
        "Redaction and the fail-closed pipeline strip or scrub exactly these.",
        annotation="Final[frozenset[str]]",
    )
    mod.section("Enum values (well-known values; the enums are open: other values MAY be used)")
    for attr in enums:
        if attr.deprecated:
            continue
        mod.enum(class_name(attr.id), f"Well-known values of `{attr.id}`.", _member_rows(attr))
    return mod.text()


def _metric_consts(
    mod: Module,
    name: str,
    instrument: str,
    unit: str,
    brief: str,
    buckets: tuple[float, ...] | None,
    note: str = "",
) -> None:
    base = const_name(name)
    doc = brief + (f"\n\n{note}" if note else "")
    mod.const(base, name, doc)
    mod.const(f"{base}_INSTRUMENT", instrument)
    mod.const(f"{base}_UNIT", unit)
    if brief:
        mod.const(f"{base}_DESCRIPTION", brief.split("\n\n")[0])
    if buckets is not None:
        mod.const(
            f"{base}_BUCKETS",
            Tup([Raw(repr(b)) for b in buckets]),
            "Advisory explicit bucket boundaries (`explicit_bucket_boundaries_advisory`).",
            annotation="Final[tuple[float, ...]]",
        )


def gen_metrics(model: Model) -> str:
    mod = Module(
        "Metric names, units, instrument types and advisory bucket boundaries of the GenAI and MCP "
        "semantic conventions.",
        _sources(
            model,
            "bucket boundaries: semantic-conventions v1.41.0 docs/gen-ai/gen-ai-metrics.md and "
            "docs/gen-ai/mcp.md (normative text; metrics.yaml does not carry them)",
        ),
    )
    mod.imports = ["from typing import Final", ""]
    for metric in sorted(model.metrics.values(), key=lambda m: m.name):
        mod.section(metric.name)
        _metric_consts(
            mod,
            metric.name,
            metric.instrument,
            metric.unit,
            metric.brief,
            metric.buckets,
            metric.note,
        )
    return mod.text()


def gen_events(model: Model) -> str:
    mod = Module("Event names of the GenAI semantic conventions.", _sources(model))
    mod.imports = ["from typing import Final", ""]
    mod.section("Events")
    for event in sorted(
        (e for e in model.events.values() if not e.deprecated), key=lambda e: e.name
    ):
        mod.const(const_name(event.name), event.name, event.brief)
    mod.section("Deprecated events (model/gen-ai/deprecated): recognise them, never emit them")
    for event in sorted((e for e in model.events.values() if e.deprecated), key=lambda e: e.name):
        assert event.deprecated is not None
        mod.const(
            const_name(event.name),
            event.name,
            event.brief + "\n\n" + _deprecation_text(event.deprecated),
        )
    return mod.text()


# --------------------------------------------------------------------------------------------------
# Registry data


def _dep_node(dep: Mapping[str, Any] | None) -> Any:
    if not dep:
        return None
    kwargs: list[tuple[str, Any]] = [("reason", dep["reason"])]
    if dep.get("renamed_to"):
        kwargs.append(("renamed_to", dep["renamed_to"]))
    if dep.get("note"):
        kwargs.append(("note", dep["note"]))
    return Call("Deprecation", kwargs=kwargs)


def _attr_node(attr: Attribute) -> Call:
    kwargs: list[tuple[str, Any]] = [
        ("id", attr.id),
        ("type", attr.type),
        ("brief", attr.brief),
        ("stability", attr.stability),
        ("registry", attr.registry),
    ]
    if attr.members:
        members = []
        for m in attr.members:
            mk: list[tuple[str, Any]] = [("id", m.id), ("value", m.value), ("brief", m.brief)]
            mk.append(("stability", m.stability))
            if m.deprecated:
                mk.append(("deprecated", _dep_node(m.deprecated)))
            members.append(Call("EnumMember", kwargs=mk))
        kwargs.append(("members", Tup(members)))
    if attr.deprecated:
        kwargs.append(("deprecated", _dep_node(attr.deprecated)))
    return Call("AttributeDef", kwargs=kwargs)


_LEVEL_NAMES = {
    "required": "REQUIRED",
    "conditionally_required": "CONDITIONALLY_REQUIRED",
    "recommended": "RECOMMENDED",
    "opt_in": "OPT_IN",
}


def _reqs_node(reqs: list[Requirement]) -> Call:
    items = []
    for r in reqs:
        args: list[Any] = [r.id, Raw(_LEVEL_NAMES[r.level])]
        if r.condition is not None or r.sampling_relevant:
            args.append(r.condition)
        if r.sampling_relevant:
            args.append(Raw("True"))
        items.append(Call("_req", args))
    return Call("_reqs", items)


def _span_node(span: Span) -> Call:
    return Call(
        "SpanDef",
        kwargs=[
            ("id", span.id),
            ("kind", span.kind),
            ("brief", span.brief),
            ("stability", span.stability),
            ("name_patterns", Tup(list(span.name_patterns))),
            ("operation_names", Tup(list(span.operation_names))),
            ("provider_name", span.provider_name),
            ("extends", span.extends),
            ("attributes", _reqs_node(span.attributes)),
        ],
    )


def _event_node(event: Event) -> Call:
    kwargs: list[tuple[str, Any]] = [
        ("name", event.name),
        ("id", event.id),
        ("brief", event.brief.split("\n\n")[0]),
        ("stability", event.stability),
        ("attributes", _reqs_node(event.attributes)),
    ]
    if event.deprecated:
        kwargs.append(("deprecated", _dep_node(event.deprecated)))
    return Call("EventDef", kwargs=kwargs)


def _metric_node(metric: Metric) -> Call:
    return Call(
        "MetricDef",
        kwargs=[
            ("name", metric.name),
            ("id", metric.id),
            ("instrument", metric.instrument),
            ("unit", metric.unit),
            ("value_type", metric.value_type),
            ("brief", metric.brief),
            ("stability", metric.stability),
            ("attributes", _reqs_node(metric.attributes)),
            (
                "bucket_boundaries",
                None if metric.buckets is None else Tup([Raw(repr(b)) for b in metric.buckets]),
            ),
        ],
    )


REGISTRY_IMPORTS = [
    "from collections.abc import Mapping",
    "from types import MappingProxyType",
    "from typing import Final",
    "",
    "from llmotel.semconv._registry_types import (",
    "    AttributeDef,",
    "    AttributeRequirement,",
    "    Deprecation,",
    "    EnumMember,",
    "    EventDef,",
    "    MetricDef,",
    "    RequirementLevel,",
    "    SpanDef,",
    ")",
    "",
    "REQUIRED = RequirementLevel.REQUIRED",
    "CONDITIONALLY_REQUIRED = RequirementLevel.CONDITIONALLY_REQUIRED",
    "RECOMMENDED = RequirementLevel.RECOMMENDED",
    "OPT_IN = RequirementLevel.OPT_IN",
    "_req = AttributeRequirement",
    "",
    "",
    "def _reqs(*items: AttributeRequirement) -> Mapping[str, AttributeRequirement]:",
    "    return MappingProxyType({item.id: item for item in items})",
    "",
]


def _mapping(
    mod: Module, name: str, value_type: str, items: list[tuple[str, Any]], doc: str
) -> None:
    private = f"_{name}"
    mod.body += render(Dct(items), 0, prefix=f"{private}: dict[str, {value_type}] = ")
    mod.const(
        name,
        Raw(f"MappingProxyType({private})"),
        doc,
        annotation=f"Final[Mapping[str, {value_type}]]",
    )
    mod.body.append("")


def gen_registry(model: Model) -> str:
    mod = Module(
        "Machine-readable registry of the GenAI, OpenAI and MCP semantic conventions.",
        _sources(model, "bucket boundaries: see metrics.py"),
    )
    mod.imports = list(REGISTRY_IMPORTS)
    mod.exports += ["REQUIRED", "CONDITIONALLY_REQUIRED", "RECOMMENDED", "OPT_IN"]
    mod.section("Attributes")
    attrs = sorted(model.attributes.values(), key=lambda a: a.id)
    _mapping(
        mod,
        "ATTRIBUTES",
        "AttributeDef",
        [(a.id, _attr_node(a)) for a in attrs],
        "Every attribute of the GenAI, OpenAI and MCP registries (deprecated ones included) and "
        "the attributes of other registries that they reference, by id.",
    )
    mod.section("Spans")
    spans = sorted(model.spans.values(), key=lambda s: s.id)
    _mapping(
        mod,
        "SPANS",
        "SpanDef",
        [(s.id, _span_node(s)) for s in spans],
        "Every span definition, by group id; attributes resolved through `extends`.",
    )
    mod.section("Events")
    events = sorted(model.events.values(), key=lambda e: e.name)
    _mapping(
        mod,
        "EVENTS",
        "EventDef",
        [(e.name, _event_node(e)) for e in events],
        "Every event definition (deprecated ones included), by event name.",
    )
    mod.section("Metrics")
    metrics = sorted(model.metrics.values(), key=lambda m: m.name)
    _mapping(
        mod,
        "METRICS",
        "MetricDef",
        [(m.name, _metric_node(m)) for m in metrics],
        "Every metric definition, by metric name.",
    )
    return mod.text()


def gen_deprecated(model: Model) -> str:
    mod = Module(
        "Deprecated GenAI names and what replaced them.",
        [f"semantic-conventions v{model.version}: {f}" for f in model.files if "deprecated" in f]
        + [
            f"semantic-conventions v{model.version}: model/gen-ai/registry.yaml "
            "(deprecated enum members)"
        ],
    )
    mod.imports = [
        "from collections.abc import Mapping",
        "from enum import StrEnum",
        "from types import MappingProxyType",
        "from typing import Final",
        "",
    ]
    deprecated = sorted((a for a in model.attributes.values() if a.deprecated), key=lambda a: a.id)
    renamed = [
        (a.id, a.deprecated["renamed_to"])
        for a in deprecated
        if a.deprecated and a.deprecated.get("renamed_to")
    ]
    removed = [
        (a.id, a.deprecated.get("note") or "")
        for a in deprecated
        if a.deprecated and not a.deprecated.get("renamed_to")
    ]

    mod.section("Attributes")
    mod.body += render(Dct(list(renamed)), 0, prefix="_RENAMED: dict[str, str] = ")
    mod.const(
        "RENAMED",
        Raw("MappingProxyType(_RENAMED)"),
        "Deprecated attribute id -> the attribute that replaces it.",
        annotation="Final[Mapping[str, str]]",
    )
    mod.body.append("")
    mod.body += render(Dct(list(removed)), 0, prefix="_REMOVED: dict[str, str] = ")
    mod.const(
        "REMOVED",
        Raw("MappingProxyType(_REMOVED)"),
        "Deprecated attribute ids with no replacement -> the deprecation note.",
        annotation="Final[Mapping[str, str]]",
    )

    # Enum values renamed inside an attribute. Where the YAML keeps the old member id but already
    # gives it the new value (gen_ai.token.type `completion` -> "output"), the old wire value is
    # the id.
    value_renames: list[tuple[str, Any]] = []
    for attr in sorted(model.attributes.values(), key=lambda a: a.id):
        pairs = []
        for m in attr.members:
            if m.deprecated and m.deprecated.get("renamed_to"):
                old = m.value if m.value != m.deprecated["renamed_to"] else m.id
                pairs.append((old, m.deprecated["renamed_to"]))
        if pairs:
            value_renames.append((attr.id, Dct(pairs)))
    mod.section("Enum values")
    mod.body += render(
        Dct(value_renames), 0, prefix="_RENAMED_VALUES: dict[str, Mapping[str, str]] = "
    )
    mod.const(
        "RENAMED_VALUES",
        Raw("MappingProxyType(_RENAMED_VALUES)"),
        "Attribute id -> {deprecated value: current value} for enum members the conventions "
        "renamed.",
        annotation="Final[Mapping[str, Mapping[str, str]]]",
    )
    mod.body.append("")

    system = model.attributes["gen_ai.system"]
    providers = {m.value for m in model.attributes["gen_ai.provider.name"].members}
    mapping: list[tuple[str, str]] = []
    unmapped: list[str] = []
    for m in system.members:
        target = (
            m.deprecated["renamed_to"]
            if m.deprecated and m.deprecated.get("renamed_to")
            else m.value
        )
        if target in providers:
            mapping.append((m.value, target))
        else:
            unmapped.append(m.value)
    mod.body += render(Dct(list(mapping)), 0, prefix="_SYSTEM_TO_PROVIDER_NAME: dict[str, str] = ")
    mod.const(
        "SYSTEM_TO_PROVIDER_NAME",
        Raw("MappingProxyType(_SYSTEM_TO_PROVIDER_NAME)"),
        "`gen_ai.system` value -> `gen_ai.provider.name` value, where the YAML gives one: the "
        "same well-known value, or the member's `renamed_to`.",
        annotation="Final[Mapping[str, str]]",
    )
    mod.const(
        "SYSTEM_VALUES_WITHOUT_PROVIDER_NAME",
        Tup(list(unmapped)),
        "`gen_ai.system` values for which the YAML names no `gen_ai.provider.name` value.",
        annotation="Final[tuple[str, ...]]",
    )

    mod.section("Events")
    events = sorted((e for e in model.events.values() if e.deprecated), key=lambda e: e.name)
    mod.body += render(
        Dct([(e.name, (e.deprecated or {}).get("note") or "") for e in events]),
        0,
        prefix="_DEPRECATED_EVENTS: dict[str, str] = ",
    )
    mod.const(
        "DEPRECATED_EVENTS",
        Raw("MappingProxyType(_DEPRECATED_EVENTS)"),
        "Deprecated event name -> the deprecation note (what reports that content now).",
        annotation="Final[Mapping[str, str]]",
    )

    mod.section("Enums of deprecated attributes")
    for attr in deprecated:
        if attr.members:
            mod.enum(
                class_name(attr.id), f"Values of the deprecated `{attr.id}`.", _member_rows(attr)
            )
    return mod.text()


def _latest_attr_id(text: str) -> str:
    return text.split(" (")[0].strip()


def gen_latest(model: Model, summary: Mapping[str, Any], summary_name: str) -> str:
    mod = Module(
        "The opt-in 'latest experimental' GenAI names (OTEL_SEMCONV_STABILITY_OPT_IN="
        "gen_ai_latest_experimental).\n\nOnly what is new or changed against v"
        f"{model.version} is here; every other name is the same as in llmotel.semconv.attributes.",
        [f"{summary_name} ({_clean(summary.get('_provenance'))})"],
    )
    mod.imports = [
        "from collections.abc import Mapping",
        "from enum import StrEnum",
        "from types import MappingProxyType",
        "from typing import Final",
        "",
        "from llmotel.semconv._registry_types import (",
        "    AttributeRequirement,",
        "    MetricDef,",
        "    RequirementLevel,",
        "    SpanDef,",
        ")",
        "",
        "REQUIRED = RequirementLevel.REQUIRED",
        "CONDITIONALLY_REQUIRED = RequirementLevel.CONDITIONALLY_REQUIRED",
        "RECOMMENDED = RequirementLevel.RECOMMENDED",
        "OPT_IN = RequirementLevel.OPT_IN",
        "_req = AttributeRequirement",
        "",
        "",
        "def _reqs(*items: AttributeRequirement) -> Mapping[str, AttributeRequirement]:",
        "    return MappingProxyType({item.id: item for item in items})",
        "",
    ]
    span = summary["inference_span"]
    known = set(model.attributes)
    prefixes: list[str] = []
    new_attrs: list[str] = []
    span_reqs: list[Requirement] = []
    sampling = set(span.get("sampling_relevant_at_start", []))
    for level in REQUIREMENT_LEVELS:
        for raw in span.get(level, []):
            aid = _latest_attr_id(raw)
            if aid.endswith(".<name>"):
                prefixes.append(aid.removesuffix("<name>"))
                continue
            span_reqs.append(Requirement(aid, level, None, aid in sampling))
            if aid not in known:
                new_attrs.append(aid)
    renamed: list[tuple[str, str]] = []
    type_changes: list[tuple[str, str]] = []
    for aid, change in sorted(span.get("type_changes_vs_v1.41.0", {}).items()):
        if m := re.match(r"renamed to (\S+)", change):
            renamed.append((aid, m.group(1)))
        else:
            type_changes.append((aid, change))
    modality_values: list[str] = []
    for metric in summary["metrics"].values():
        if isinstance(metric, dict) and "extra_required_attr" in metric:
            extra = metric["extra_required_attr"]
            aid = _latest_attr_id(extra)
            if aid not in known and aid not in new_attrs:
                new_attrs.append(aid)
            if m := re.search(r"\(([a-z_|]+)", extra):
                modality_values = m.group(1).split("|")

    mod.section("Attributes new in latest")
    for aid in sorted(new_attrs):
        doc = "New in latest; not in v" + model.version + "."
        for old, new in renamed:
            if new == aid:
                doc = f"Replaces `{old}` of v{model.version}."
        mod.const(const_name(aid), aid, doc)
    for prefix in prefixes:
        mod.const(
            const_name(prefix) + "_PREFIX",
            prefix,
            f"Prefix of the opt-in `{prefix}<name>` attributes (one per template variable).",
        )
    mod.const(
        "CONTENT_ATTRIBUTE_PREFIXES",
        Tup([Raw(const_name(p) + "_PREFIX") for p in prefixes]),
        "Prefixes of latest attributes that carry user content (in addition to "
        "llmotel.semconv.attributes.CONTENT_ATTRIBUTES).",
        annotation="Final[tuple[str, ...]]",
    )
    mod.section("Changes against v" + model.version)
    mod.body += render(Dct(list(renamed)), 0, prefix="_RENAMED: dict[str, str] = ")
    mod.const(
        "RENAMED",
        Raw("MappingProxyType(_RENAMED)"),
        f"v{model.version} attribute id -> its latest name.",
        annotation="Final[Mapping[str, str]]",
    )
    mod.body.append("")
    mod.body += render(Dct(list(type_changes)), 0, prefix="_TYPE_CHANGES: dict[str, str] = ")
    mod.const(
        "TYPE_CHANGES",
        Raw("MappingProxyType(_TYPE_CHANGES)"),
        f"Attribute id -> how its type changed against v{model.version}.",
        annotation="Final[Mapping[str, str]]",
    )
    removed_metrics = [_latest_attr_id(r) for r in summary["metrics"].get("removed", [])]
    mod.const(
        "REMOVED_METRICS",
        Tup(removed_metrics),
        f"Metrics of v{model.version} that latest no longer emits.",
        annotation="Final[tuple[str, ...]]",
    )

    mod.section("Metrics")
    metric_nodes: list[tuple[str, Any]] = []
    common = summary.get("common_metric_attributes", {})
    buckets_by_name: dict[str, tuple[float, ...]] = {}
    for name, spec in summary["metrics"].items():
        if isinstance(spec, dict) and isinstance(spec.get("buckets"), list):
            buckets_by_name[name] = tuple(spec["buckets"])
    for name in sorted(n for n, s in summary["metrics"].items() if isinstance(s, dict)):
        spec = summary["metrics"][name]
        raw_buckets = spec.get("buckets")
        buckets: tuple[float, ...] | None = None
        if isinstance(raw_buckets, list):
            buckets = tuple(raw_buckets)
        elif isinstance(raw_buckets, str):
            # "same as duration": the one metric of the summary whose name ends in that word.
            word = raw_buckets.removeprefix("same as ").strip()
            (buckets,) = [b for n, b in buckets_by_name.items() if n.endswith("." + word)]
        note = " ".join(_clean(spec.get(k)) for k in ("note", "since") if spec.get(k))
        _metric_consts(mod, name, spec["instrument"], spec["unit"], "", buckets, note)
        reqs: list[Requirement] = []
        for level in REQUIREMENT_LEVELS:
            for raw in common.get(level, []):
                aid = _latest_attr_id(raw)
                qualifier = raw[len(aid) :].strip(" ()")
                if qualifier and qualifier not in name:
                    continue
                reqs.append(Requirement(aid, level, None, False))
        if "extra_required_attr" in spec:
            reqs.insert(
                0,
                Requirement(_latest_attr_id(spec["extra_required_attr"]), "required", None, False),
            )
        metric_nodes.append(
            (
                name,
                Call(
                    "MetricDef",
                    kwargs=[
                        ("name", name),
                        ("id", "metric." + name),
                        ("instrument", spec["instrument"]),
                        ("unit", spec["unit"]),
                        ("value_type", None),
                        ("brief", note),
                        ("stability", "development"),
                        ("attributes", _reqs_node(reqs)),
                        (
                            "bucket_boundaries",
                            None if buckets is None else Tup([Raw(repr(b)) for b in buckets]),
                        ),
                    ],
                ),
            )
        )
    mod.section("Registry entries")
    mod.body += render(Dct(metric_nodes), 0, prefix="_METRICS: dict[str, MetricDef] = ")
    mod.const(
        "METRICS",
        Raw("MappingProxyType(_METRICS)"),
        "Every latest metric definition, by name.",
        annotation="Final[Mapping[str, MetricDef]]",
    )
    mod.body.append("")
    kind = span["kind"].split()[0].lower()
    span_id = span["span_type_id"].split(" (")[0]
    mod.const(
        "INFERENCE_SPAN",
        Call(
            "SpanDef",
            kwargs=[
                ("id", span_id),
                ("kind", kind),
                ("brief", "The inference span of the latest conventions."),
                ("stability", "development"),
                ("name_patterns", Tup([span["name"]])),
                ("operation_names", Tup(list(INFERENCE_OPERATIONS))),
                ("provider_name", None),
                ("extends", None),
                ("attributes", _reqs_node(span_reqs)),
            ],
        ),
        "Requirement levels of the inference span in latest.",
        annotation="Final[SpanDef]",
    )
    mod.section("Enum values")
    mod.enum(
        "GenAiOperationNameValues",
        "Well-known `gen_ai.operation.name` values in latest.",
        [(member_name(v), v, "") for v in summary["operation_names"]],
    )
    mod.enum(
        "GenAiProviderNameValues",
        "Well-known `gen_ai.provider.name` values in latest.",
        [(member_name(v), v, "") for v in summary["provider_names"]],
    )
    if modality_values:
        mod.enum(
            "GenAiTokenModalityValues",
            "Well-known `gen_ai.token.modality` values in latest.",
            [(member_name(v), v, "") for v in modality_values],
        )
    return mod.text()


def gen_source(model: Model, summary: Mapping[str, Any], summary_name: str) -> str:
    mod = Module(
        "Which semantic conventions the generated modules come from.", _sources(model, summary_name)
    )
    mod.imports = ["from typing import Final", ""]
    mod.section("Versions")
    mod.const(
        "SEMCONV_VERSION",
        model.version,
        "The GenAI semantic-conventions release emitted by default.",
    )
    mod.const(
        "SCHEMA_URL",
        f"https://opentelemetry.io/schemas/{model.version}",
        "Schema URL of that release, for tracers, meters and loggers.",
    )
    mod.const(
        "LATEST_PROVENANCE",
        _clean(summary.get("_provenance")),
        "Where the 'latest' names come from.",
    )
    return mod.text()


def generate(semconv_dir: pathlib.Path, version: str = DEFAULT_VERSION) -> dict[str, str]:
    """File name -> content of every generated module."""
    model = load_model(semconv_dir, version)
    summary_path = semconv_dir / "latest-main-summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return {
        "__init__.py": '"""Generated by scripts/generate.py: import the public modules."""\n',
        "source.py": gen_source(model, summary, summary_path.name),
        "attributes.py": gen_attributes(model),
        "metrics.py": gen_metrics(model),
        "events.py": gen_events(model),
        "registry.py": gen_registry(model),
        "deprecated.py": gen_deprecated(model),
        "latest.py": gen_latest(model, summary, summary_path.name),
    }


def default_semconv_dir() -> pathlib.Path:
    """``$LLMOTEL_SEMCONV_DIR``, else the pinned copy ``packages/llmotel-semconv/semconv``."""
    if os.environ.get("LLMOTEL_SEMCONV_DIR"):
        return pathlib.Path(os.environ["LLMOTEL_SEMCONV_DIR"])
    return DEFAULT_SEMCONV_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--semconv-dir", type=pathlib.Path, default=default_semconv_dir())
    parser.add_argument(
        "--version", default=DEFAULT_VERSION, help="release folder under the semconv dir"
    )
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--check", action="store_true", help="only report whether --out is up to date"
    )
    args = parser.parse_args(argv)
    if not (args.semconv_dir / args.version / "model").is_dir():
        parser.error(f"no {args.version}/model under {args.semconv_dir} (pass --semconv-dir)")
    files = generate(args.semconv_dir, args.version)
    stale = [name for name, text in files.items() if not _same(args.out / name, text)] + [
        p.name for p in _extra_files(args.out, files)
    ]
    if args.check:
        if stale:
            print(f"stale: {', '.join(sorted(stale))} in {args.out}; run `nox -s generate`")
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if not _same(args.out / name, text):
            (args.out / name).write_text(text, encoding="utf-8")
    for path in _extra_files(args.out, files):
        path.unlink()
    print(
        f"wrote {len(files)} modules to {args.out}"
        + (f" ({len(stale)} changed)" if stale else " (unchanged)")
    )
    return 0


def _same(path: pathlib.Path, text: str) -> bool:
    return path.is_file() and path.read_text(encoding="utf-8") == text


def _extra_files(out: pathlib.Path, files: Mapping[str, str]) -> Iterator[pathlib.Path]:
    if out.is_dir():
        yield from (p for p in sorted(out.glob("*.py")) if p.name not in files)


if __name__ == "__main__":
    sys.exit(main())
