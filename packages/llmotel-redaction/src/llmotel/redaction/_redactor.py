"""The redactor: text, attribute values and whole attribute maps, structure-aware.

Message attributes (``gen_ai.input.messages`` & co.) arrive as JSON strings or as structured
values; either way only the text leaves are analyzed and the result keeps the same shape (a JSON
string stays a JSON string, valid, with the same keys and nesting).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from llmotel.redaction._analyzer import DEFAULT_THRESHOLDS, Analyzer, Finding
from llmotel.redaction._entities import (
    API_KEY,
    BEARER_TOKEN,
    CONNECTION_STRING,
    CREDIT_CARD,
    DEFAULT_ENTITIES,
    DEFAULT_PHONE_REGIONS,
    EMAIL_ADDRESS,
    IBAN_CODE,
    JWT,
    PASSWORD,
    PRIVATE_KEY,
    US_SSN,
)
from llmotel.redaction._operators import Operator, Replace
from llmotel.redaction._secret_keys import secret_key_entity
from llmotel.semconv import attributes as sc

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer

__all__ = [
    "DEFAULT_ALLOW_KEYS",
    "DEFAULT_DENY_KEYS",
    "FAILED_MARKER",
    "SCREENED_ENTITIES",
    "SECRET_KEY",
    "Redaction",
    "Redactor",
]

SECRET_KEY = "SECRET_KEY"
"""Entity type counted when a value is redacted because of its key (deny keys)."""

FAILED_MARKER = "<REDACTION_FAILED>"
"""What replaces every analyzable value of a record whose analysis failed or ran out of time."""

DEFAULT_DENY_KEYS: frozenset[str] = frozenset(
    {
        "http.request.header.authorization",
        "http.request.header.proxy-authorization",
        "http.request.header.cookie",
        "http.request.header.x-api-key",
        "http.request.header.api-key",
        "http.request.header.anthropic-api-key",
        "http.response.header.set-cookie",
    }
)
"""Attribute keys whose whole value is always redacted (counted as ``SECRET_KEY``)."""

DEFAULT_ALLOW_KEYS: frozenset[str] = frozenset(
    {
        sc.GEN_AI_OPERATION_NAME,
        sc.GEN_AI_PROVIDER_NAME,
        sc.GEN_AI_REQUEST_MODEL,
        sc.GEN_AI_RESPONSE_MODEL,
        sc.GEN_AI_RESPONSE_ID,
        sc.GEN_AI_RESPONSE_FINISH_REASONS,
        sc.GEN_AI_TOOL_NAME,
        sc.GEN_AI_TOOL_CALL_ID,
        sc.ERROR_TYPE,
        sc.EXCEPTION_TYPE,
        sc.SERVER_ADDRESS,  # the model endpoint, not the user's address
    }
)
"""Structural attributes (model names, ids, enums, the endpoint): only screened for
:data:`SCREENED_ENTITIES`, never for the rest. Keys starting with ``llmotel.`` are treated the
same way."""

SCREENED_ENTITIES: frozenset[str] = frozenset(
    {
        EMAIL_ADDRESS,
        CREDIT_CARD,
        IBAN_CODE,
        US_SSN,
        API_KEY,
        JWT,
        BEARER_TOKEN,
        PRIVATE_KEY,
        PASSWORD,
        CONNECTION_STRING,
    }
)
"""What allow-listed and ``llmotel.*`` attributes are still screened for: types whose shape or
checksum makes a match on an id or a host name very unlikely (e-mail, card, IBAN, SSN, secrets).
Phone numbers, IP addresses and the like are not looked for there (``server.address`` is an IP)."""

# In a message or part object (one with "role" or "type"), these keys hold enums: a value that is
# one of the known ones is structure; anything else is analyzed like content. ``id`` and
# ``name`` hold whatever the application put there (a tool name, a call id, a user's e-mail)
# and are always analyzed.
_ENUM_VALUES: dict[str, frozenset[str]] = {
    "type": frozenset(
        {
            "text",
            "thinking",
            "reasoning",
            "tool_call",
            "tool_call_response",
            "server_tool_call",
            "server_tool_call_response",
            "blob",
            "file",
            "uri",
            "image",
            "image_url",
            "audio",
            "video",
            "document",
            "input_text",
            "output_text",
            "input_image",
            "input_audio",
            "refusal",
            "function",
            "function_call",
            "function_call_output",
            "tool_use",
            "tool_result",
            "message",
            "object",
            "string",
            "number",
            "integer",
            "boolean",
            "array",
            "null",
        }
    ),
    "role": frozenset({"system", "user", "assistant", "tool", "developer", "model", "function"}),
    "finish_reason": frozenset(
        {
            "stop",
            "length",
            "content_filter",
            "tool_call",
            "tool_calls",
            "function_call",
            "error",
            "end_turn",
            "max_tokens",
            "stop_sequence",
            "tool_use",
            "pause_turn",
            "refusal",
        }
    ),
    "modality": frozenset({"image", "video", "audio", "text", "document"}),
}
_SCREENED_CLEAN_MAX = 4096
_SECRET_TYPES = frozenset({PASSWORD, API_KEY, BEARER_TOKEN, CREDIT_CARD})
# What Replace and Pseudonymize write by default: <EMAIL_ADDRESS>, <EMAIL_ADDRESS:86a34e419f114244>.
_MARKER = re.compile(r"<[A-Z][A-Z_]*(?::[0-9a-f]{16})?>")
# Objects that carry a name and a value in two fields (HAR headers, Kubernetes env entries,
# form fields): the name field says what the value field holds.
_PAIR_NAMES = ("name", "key", "Name", "Key", "header")
_PAIR_VALUES = frozenset({"value", "Value"})
_MIME_TYPE = re.compile(r"[\w.+-]{1,64}/[\w.+-]{1,64}")
_BASE64 = re.compile(r"[A-Za-z0-9+/=_\-\s]*")
DROP: Any = object()
"""Sentinel from :meth:`Redactor.redact_value`: an operator asked to drop the holder."""


class Redaction:
    """The outcome of redacting one record: ``counts`` per entity type and whether it ``failed``."""

    __slots__ = ("counts", "failed")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.failed: str | None = None

    @property
    def total(self) -> int:
        """How many values were changed."""
        return sum(self.counts.values())


class Redactor:
    """Finds PII and secrets in text and structured attribute values and rewrites them.

    Pass the entity types to detect (default :data:`DEFAULT_ENTITIES`), an ``operators`` mapping
    from entity type to :class:`Operator` (``default_operator`` for the rest, default
    :class:`Replace` → ``<EMAIL_ADDRESS>``), per-entity score ``thresholds``, the ``phone_regions``
    national numbers are parsed for, extra Presidio ``recognizers`` (your own
    ``PatternRecognizer`` instances or an NER recognizer), ``deny_keys`` (attribute keys always
    redacted whole) and ``allow_keys`` (never analyzed).

    Bounds: a text longer than ``max_text_length`` characters is cut there and ends in
    ``<TRUNCATED n chars>`` (the tail is never exported unanalyzed); JSON nested deeper than
    ``max_depth`` is replaced by ``<REDACTED:DEPTH>``; base64 ``blob`` parts are not analyzed and,
    with ``drop_binary``, emptied. The constructor warms every recognizer up.
    """

    def __init__(
        self,
        *,
        entities: Iterable[str] = DEFAULT_ENTITIES,
        operators: Mapping[str, Operator] | None = None,
        default_operator: Operator | None = None,
        thresholds: Mapping[str, float] = DEFAULT_THRESHOLDS,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        recognizers: Iterable[EntityRecognizer] = (),
        deny_keys: Iterable[str] = DEFAULT_DENY_KEYS,
        allow_keys: Iterable[str] = DEFAULT_ALLOW_KEYS,
        max_text_length: int = 100_000,
        max_depth: int = 32,
        drop_binary: bool = False,
    ) -> None:
        if max_text_length < 1 or max_depth < 1:
            raise ValueError("max_text_length and max_depth must be positive")
        # Presidio (and spaCy under it) loads here, on first use, not on import.
        from llmotel.redaction._recognizers import build_recognizers

        built = [*build_recognizers(entities, phone_regions), *recognizers]
        self.recognizers: tuple[EntityRecognizer, ...] = tuple(built)
        """Every recognizer this redactor runs (read-only)."""
        self._analyzer = Analyzer(built, thresholds)
        # Per thread: while collecting (see :meth:`collecting`), texts go here, unanalysed.
        self._local = threading.local()
        # Structural values repeat (model, provider, host names): one screened clean is not
        # screened again. Bounded: unique ids must not grow memory.
        self._screened_clean: set[str] = set()
        # The same recognizer objects, restricted to the types allow-listed keys are screened for.
        self._screen = Analyzer(
            [rec for rec in built if set(rec.supported_entities) <= SCREENED_ENTITIES], thresholds
        )
        self._operators = dict(operators or {})
        self._default_operator = default_operator or Replace()
        self._deny = frozenset(k.lower() for k in deny_keys)
        self._allow = frozenset(allow_keys)
        self._max_text = max_text_length
        self._max_depth = max_depth
        self._drop_binary = drop_binary
        self._secret_types = frozenset(self._analyzer.entities) & _SECRET_TYPES
        self._analyzer.warm_up()

    @property
    def entities(self) -> tuple[str, ...]:
        """The entity types this redactor detects."""
        return self._analyzer.entities

    def analyze(self, text: str) -> list[Finding]:
        """The entities found in ``text`` (non-overlapping, by position), nothing rewritten."""
        return self._analyzer.analyze(text)

    @contextmanager
    def collecting(self) -> Iterator[list[str]]:
        """Within the block, on this thread, nothing is analysed or rewritten: every text that
        would be analysed is appended to the yielded list instead (for batching recognizers that
        want all texts of an export batch at once, e.g. spaCy's ``nlp.pipe``)."""
        texts: list[str] = []
        previous = getattr(self._local, "sink", None)
        self._local.sink = texts
        try:
            yield texts
        finally:
            self._local.sink = previous

    def redact_text(self, text: str, redaction: Redaction | None = None) -> str | None:
        """``text`` with every finding rewritten by its operator (``None``: drop the holder).

        Counts go to ``redaction`` when given.
        """
        result = self._text(text, redaction or Redaction(), None)
        return None if result is DROP else result

    def redact_attributes(
        self,
        attributes: dict[str, Any],
        redaction: Redaction,
        deadline: float | None = None,
    ) -> None:
        """Rewrite ``attributes`` in place: deny keys, allow keys (screened for
        :data:`SCREENED_ENTITIES` only), then every string leaf.

        Raises :class:`AnalysisTimeout` past ``deadline`` (a ``time.monotonic()`` value).
        """
        for key in list(attributes):
            value = attributes[key]
            if key.lower() in self._deny:
                new = self._denied(value, redaction)
                if new is DROP:
                    del attributes[key]
                else:
                    attributes[key] = new
                continue
            if key in self._allow or key.startswith("llmotel."):
                new = self.screen_value(value, redaction, deadline)
                if new is DROP:
                    del attributes[key]
                elif new is not value:
                    attributes[key] = new
                continue
            secret = self._secret_entity(key.rsplit(".", 1)[-1])
            if secret is not None and isinstance(value, str) and value:
                # "app.db.password": the key says what the value is, whatever it looks like.
                new = self._secret(secret, value, redaction)
            else:
                new = self.redact_value(value, redaction, deadline)
            if new is DROP:
                del attributes[key]
            elif new is not value:
                attributes[key] = new

    def redact_value(
        self, value: Any, redaction: Redaction, deadline: float | None = None, depth: int = 0
    ) -> Any:
        """One attribute value (str, bytes, sequence or mapping) redacted; same type and shape.

        Returns the same object when nothing changed, and a sentinel that
        :meth:`redact_attributes` reads as "drop this attribute" when an operator asked for it.
        """
        if isinstance(value, str):
            new_value = self._embedded(value, redaction, deadline, depth)
            if new_value is not None:
                return new_value
            return self._text(value, redaction, deadline)
        if isinstance(value, bytes):
            text = value.decode("utf-8", "replace")
            new_text = self._text(text, redaction, deadline)
            if new_text is DROP:
                return DROP
            return value if new_text is text else new_text.encode("utf-8", "surrogatepass")
        if isinstance(value, Mapping | list | tuple):
            return self._json(value, redaction, deadline, depth, None)
        return value

    def screen_value(self, value: Any, redaction: Redaction, deadline: float | None = None) -> Any:
        """A structural value (a string or a list of strings) rewritten where it holds one of
        :data:`SCREENED_ENTITIES`; anything else is returned as it is."""
        if isinstance(value, str):
            return self._screen_text(value, redaction, deadline)
        if isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
            items = [
                self._screen_text(v, redaction, deadline) if isinstance(v, str) else v
                for v in value
            ]
            if any(i is DROP for i in items):
                return DROP
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return tuple(items) if isinstance(value, tuple) else items
        return value

    def _screen_text(self, text: str, redaction: Redaction, deadline: float | None) -> Any:
        clean = self._screened_clean
        if text in clean:
            return text
        new = self._text(text, redaction, deadline, self._screen)
        if new is text:
            if len(clean) >= _SCREENED_CLEAN_MAX:
                clean.clear()
            clean.add(text)
        return new

    def fail_closed(self, attributes: dict[str, Any]) -> None:
        """Replace every value this redactor would analyze by :data:`FAILED_MARKER`."""
        for key, value in list(attributes.items()):
            if key in self._allow or key.startswith("llmotel."):
                continue
            if isinstance(value, str | bytes | Mapping) or (
                isinstance(value, list | tuple) and any(not _is_number(v) for v in value)
            ):
                attributes[key] = FAILED_MARKER

    # -- internals ---------------------------------------------------------------------------

    def _embedded(
        self, value: str, redaction: Redaction, deadline: float | None, depth: int
    ) -> Any:
        """``value`` redacted as the JSON it holds, or ``None`` when it holds none.

        A string that parses as a JSON object or array is walked; one that parses as a JSON
        *string* (``"{\\"ssn\\": …}"``: JSON serialized twice) is decoded and redacted as what
        it holds, then encoded again. Either way it comes back the same object when unchanged.
        """
        stripped = value.strip()
        first = stripped[:1]
        if first not in ("{", "[", '"') or len(value) > 50 * self._max_text:
            return None
        if first == '"' and (len(stripped) < 2 or stripped[-1] != '"'):
            return None
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            return None
        if isinstance(parsed, str):
            if depth >= self._max_depth:
                redaction.counts["DEPTH_LIMIT"] += 1
                return "<REDACTED:DEPTH>"
            inner = self.redact_value(parsed, redaction, deadline, depth + 1)
            if inner is DROP:
                return DROP
            return value if inner is parsed else json.dumps(inner, ensure_ascii=False)
        if not isinstance(parsed, dict | list):
            return None
        new = self._json(parsed, redaction, deadline, depth, None)
        if new is DROP:
            return DROP
        return value if new is parsed else json.dumps(new, ensure_ascii=False)

    def _json(
        self,
        node: Any,
        redaction: Redaction,
        deadline: float | None,
        depth: int,
        key: str | None,
    ) -> Any:
        if depth >= self._max_depth:
            redaction.counts["DEPTH_LIMIT"] += 1
            return "<REDACTED:DEPTH>"
        if isinstance(node, Mapping):
            is_part = "type" in node or "role" in node
            is_blob = node.get("type") == "blob"
            named = self._named_secret(node)
            out: dict[str, Any] | None = None
            for k, v in node.items():
                if is_part and _is_structural(k, v):
                    continue
                if is_blob and k == "content" and isinstance(v, str) and _BASE64.fullmatch(v):
                    new: Any = "" if self._drop_binary and v else v
                elif named is not None and k in _PAIR_VALUES and isinstance(v, str) and v:
                    # {"name": "DB_PASSWORD", "value": "…"}: a header list, a k8s env entry.
                    new = self._secret(named, v, redaction)
                else:
                    new = self._json(v, redaction, deadline, depth + 1, k)
                if new is DROP:
                    return DROP
                if new is not v:
                    if out is None:
                        out = dict(node)
                    out[k] = new
            return node if out is None else out
        if isinstance(node, list | tuple):
            items: list[Any] | None = None
            for i, v in enumerate(node):
                new = self._json(v, redaction, deadline, depth + 1, None)
                if new is DROP:
                    return DROP
                if new is not v:
                    if items is None:
                        items = list(node)
                    items[i] = new
            if items is None:
                return node
            return tuple(items) if isinstance(node, tuple) else items
        if isinstance(node, str):
            secret = self._secret_entity(key) if key else None
            if secret is not None and node:
                # {"userPassword": "…"}, {"token": "…"}: the key says what the value is.
                return self._secret(secret, node, redaction)
            return self.redact_value(node, redaction, deadline, depth)
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int | float) and key:
            secret = self._secret_entity(key)
            if secret == CREDIT_CARD or (secret == PASSWORD and abs(node) >= 1000):
                # {"pin": 4821}, {"cvv": 123}: a numeric password or code is still one; a
                # one- to three-digit number under "pin" is a pin of a board ({"pin": 17}).
                return self._secret(secret, str(node), redaction)
        if isinstance(node, bytes):
            return self.redact_value(node, redaction, deadline, depth)
        return node

    def _named_secret(self, node: Mapping[str, Any]) -> str | None:
        """The secret type of a name/value pair object's value, from its name field."""
        for field in _PAIR_NAMES:
            name = node.get(field)
            if isinstance(name, str):
                return self._secret_entity(name)
        return None

    def _secret_entity(self, key: str) -> str | None:
        """The secret type ``key`` names, when this redactor detects that type."""
        entity = secret_key_entity(key)
        return entity if entity is not None and entity in self._secret_types else None

    def _denied(self, value: Any, redaction: Redaction) -> Any:
        if isinstance(value, list | tuple):
            items = [self._secret(SECRET_KEY, _as_text(v), redaction) for v in value if v]
            return DROP if any(i is DROP for i in items) else items
        return self._secret(SECRET_KEY, _as_text(value), redaction) if value else value

    def _secret(self, entity: str, value: str, redaction: Redaction) -> Any:
        if _MARKER.fullmatch(value):
            return value  # already one of our replacements: redacting twice changes nothing
        operator = self._operators.get(entity, self._default_operator)
        new = operator.apply(entity, value)
        if new is None:
            return DROP
        if operator.changes_text:
            redaction.counts[entity] += 1
        return new

    def _text(
        self,
        text: str,
        redaction: Redaction,
        deadline: float | None,
        analyzer: Analyzer | None = None,
    ) -> Any:
        if not text:
            return text
        sink = getattr(self._local, "sink", None)
        if sink is not None and analyzer is None:
            sink.append(text[: self._max_text])
            return text
        tail = ""
        if len(text) > self._max_text:
            tail = f"<TRUNCATED {len(text) - self._max_text} chars>"
            redaction.counts["TRUNCATED"] += 1
            text = text[: self._max_text]
        findings = (analyzer or self._analyzer).analyze(text, deadline)
        if not findings:
            return text + tail if tail else text
        pieces: list[str] = []
        position = 0
        changed = bool(tail)
        for finding in findings:
            operator = self._operators.get(finding.entity_type, self._default_operator)
            original = text[finding.start : finding.end]
            new = operator.apply(finding.entity_type, original)
            if new is None:
                redaction.counts[finding.entity_type] += 1
                return DROP
            if operator.changes_text:
                redaction.counts[finding.entity_type] += 1
                changed = True
            pieces.append(text[position : finding.start])
            pieces.append(new)
            position = finding.end
        if not changed:
            return text
        pieces.append(text[position:])
        pieces.append(tail)
        return "".join(pieces)


def _is_structural(key: str, value: Any) -> bool:
    """Whether ``key: value`` of a message or part object is an enum the schema defines."""
    if not isinstance(value, str):
        return False
    if key == "mime_type":
        return _MIME_TYPE.fullmatch(value) is not None
    known = _ENUM_VALUES.get(key)
    return known is not None and value in known


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, bool | int | float)
