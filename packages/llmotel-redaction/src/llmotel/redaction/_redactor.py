"""The redactor: text, attribute values and whole attribute maps, structure-aware.

Message attributes (``gen_ai.input.messages`` & co.) arrive as JSON strings or as structured
values; either way only the text leaves are analyzed and the result keeps the same shape (a JSON
string stays a JSON string, valid, with the same keys and nesting).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from presidio_analyzer import EntityRecognizer

from llmotel.redaction._analyzer import DEFAULT_THRESHOLDS, Analyzer, Finding
from llmotel.redaction._operators import Operator, Replace
from llmotel.redaction._recognizers import (
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
    build_recognizers,
)
from llmotel.semconv import attributes as sc

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

# Keys inside message/tool JSON whose string value is a secret whatever it looks like.
_SECRET_JSON_KEYS: dict[str, str] = {
    "password": PASSWORD,
    "passwd": PASSWORD,
    "passphrase": PASSWORD,
    "pwd": PASSWORD,
    "api_key": API_KEY,
    "apikey": API_KEY,
    "api-key": API_KEY,
    "secret": API_KEY,
    "client_secret": API_KEY,
    "access_token": API_KEY,
    "refresh_token": API_KEY,
    "auth_token": API_KEY,
    "authorization": API_KEY,
    "private_key": API_KEY,
}
# In a message or part object (one with "role" or "type"), these hold enums, ids and tool names.
_STRUCTURAL_JSON_KEYS = frozenset(
    {"type", "role", "id", "name", "finish_reason", "mime_type", "modality"}
)
_SCREENED_CLEAN_MAX = 4096
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
            secret = _SECRET_JSON_KEYS.get(key.rsplit(".", 1)[-1].lower())
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
            stripped = value.lstrip()
            if stripped[:1] in ("{", "[") and len(value) <= 50 * self._max_text:
                try:
                    parsed = json.loads(value)
                except (ValueError, RecursionError):
                    parsed = None
                if isinstance(parsed, dict | list):
                    new = self._json(parsed, redaction, deadline, depth, None)
                    if new is DROP:
                        return DROP
                    if new is parsed:
                        return value
                    return json.dumps(new, ensure_ascii=False)
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
            out: dict[str, Any] | None = None
            for k, v in node.items():
                if is_part and k in _STRUCTURAL_JSON_KEYS and not isinstance(v, dict | list):
                    continue
                if is_blob and k == "content":
                    new: Any = "" if self._drop_binary and v else v
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
            secret = _SECRET_JSON_KEYS.get(key.lower()) if key else None
            if secret is not None and node:
                return self._secret(secret, node, redaction)
            return self.redact_value(node, redaction, deadline, depth)
        if isinstance(node, bytes):
            return self.redact_value(node, redaction, deadline, depth)
        return node

    def _denied(self, value: Any, redaction: Redaction) -> Any:
        if isinstance(value, list | tuple):
            items = [self._secret(SECRET_KEY, _as_text(v), redaction) for v in value if v]
            return DROP if any(i is DROP for i in items) else items
        return self._secret(SECRET_KEY, _as_text(value), redaction) if value else value

    def _secret(self, entity: str, value: str, redaction: Redaction) -> Any:
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


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, bool | int | float)
