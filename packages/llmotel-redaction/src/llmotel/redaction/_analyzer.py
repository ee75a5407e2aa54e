"""The analysis engine: Presidio recognizers called directly, behind a cheap pre-screen.

Presidio's ``AnalyzerEngine.analyze`` runs every recognizer over every text, builds NLP artifacts
(even with the no-op engine), explanation objects and a context pass; most of its time goes to
recognizers that cannot match and to the phone matcher scanning the whole text once per region.
Here each recognizer's own ``analyze`` (its compiled patterns, ``validate_result`` and
``invalidate_result``) runs only when the text holds what its entity needs, the phone recognizer
only sees the digit runs that could be a number, and context words lift low scores the way
Presidio's context enhancer does.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmotel.redaction import _entities as r

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer

__all__ = ["DEFAULT_THRESHOLDS", "AnalysisTimeout", "Analyzer", "Finding"]

DEFAULT_THRESHOLDS: Mapping[str, float] = {"default": 0.4}
"""Minimum score per entity type (``"default"`` for the rest). 0.4 keeps Presidio's validated
results (1.0), medium patterns (0.5+), phone numbers that parse as valid for a region (0.4) and
weak patterns only when a context word is near (0.05 + 0.35 → 0.4)."""

# Recognizers are called without NLP artifacts: the pattern ones never use them, and an NER
# recognizer (``[ner]``) runs its own pipeline.
_NO_ARTIFACTS: Any = None
_CONTEXT_BOOST = 0.35
_CONTEXT_FLOOR = 0.4
_CONTEXT_BEFORE = 48
_CONTEXT_AFTER = 16


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity: ``text[start:end]`` is of ``entity_type`` with confidence ``score``."""

    entity_type: str
    start: int
    end: int
    score: float


class AnalysisTimeout(Exception):
    """Analysis of one record ran past its time budget."""


Trigger = Callable[[str, str], bool]


def _search(pattern: str, *, on_lower: bool = False) -> Trigger:
    compiled = re.compile(pattern)
    if on_lower:
        return lambda text, lower: compiled.search(lower) is not None
    return lambda text, lower: compiled.search(text) is not None


def _contains(*needles: str) -> Trigger:
    # A few needles: ``in`` tests; many: one C-level scan of an alternation (measured faster).
    unique = tuple(dict.fromkeys(needles))
    if len(unique) == 1:
        (needle,) = unique
        return lambda text, lower: needle in lower
    if len(unique) <= 6:
        return lambda text, lower: any(n in lower for n in unique)
    compiled = re.compile("|".join(re.escape(n) for n in unique))
    return lambda text, lower: compiled.search(lower) is not None


# What a text must contain for an entity to be possible at all (a superset of every match), for
# recognizers that do not declare their own ``NEEDLES``.
_TRIGGERS: dict[str, Trigger] = {
    r.EMAIL_ADDRESS: lambda text, lower: "@" in text,
    r.CREDIT_CARD: _search(r"\d{4}[- .]?\d{3}"),
    # Presidio's IBAN pattern, up to its second group: country, check digits, 8 characters.
    r.IBAN_CODE: _search(r"(?<![A-Z0-9])[A-Z]{2}\d\d(?:[ -]?[A-Z0-9]{4}){2}"),
    r.US_SSN: _search(r"\d{3}[- .]?\d\d[- .]?\d{4}|\d{5}-\d{4}|\d{3}-\d{6}"),
    # IPv4: two dots between digits; IPv6: "::" or three full groups (a time has two colons).
    r.IP_ADDRESS: _search(r"\d\.\d{1,3}\.\d|::|(?:[0-9A-Fa-f]{1,4}:){3}"),
    r.CRYPTO: _search(r"bc1|[13][a-zA-HJ-NP-Z0-9]{25}"),
    r.MAC_ADDRESS: _search(r"[0-9A-Fa-f]{2}[:\-][0-9A-Fa-f]{2}"),
    # The phone recognizer's own candidate shape, without its boundary rules.
    r.PHONE_NUMBER: _search(r"\d[\d \t().\-/]{5,22}\d"),
    r.URL: _contains("http", "www", "."),
}


# Shared first screens, each computed at most once per text: a run of three digits (cards,
# SSNs and IBANs all have one; phone numbers written in pairs, "+33 6 15 16 17 18", do not) and a 16-character token (every provider key,
# JWT and 40-character secret has one). A text without either skips those recognizers'
# own triggers entirely.
_PREFILTERS: dict[str, re.Pattern[str]] = {
    "digits": re.compile(r"\d\d\d"),
    "token": re.compile(r"[A-Za-z0-9_\-+/]{16}"),
}
_ENTITY_PREFILTERS = {
    r.CREDIT_CARD: "digits",
    r.US_SSN: "digits",
    r.IBAN_CODE: "digits",
    r.CRYPTO: "token",  # a wallet address is 26+ characters of one token
}


def _prefilter_for(recognizer: EntityRecognizer, entities: Sequence[str]) -> str | None:
    declared = getattr(recognizer, "PREFILTER", None)
    if declared is not None:
        return str(declared)
    names = {_ENTITY_PREFILTERS.get(e) for e in entities}
    return names.pop() if len(names) == 1 else None


def _trigger_for(recognizer: EntityRecognizer, entities: Sequence[str]) -> Trigger | None:
    needles = getattr(recognizer, "NEEDLES", None)
    if needles:
        return _contains(*needles)
    triggers = [_TRIGGERS.get(e) for e in entities]
    if not triggers or any(t is None for t in triggers):
        return None
    if len(triggers) == 1:
        return triggers[0]
    return lambda text, lower: any(t(text, lower) for t in triggers)  # type: ignore[misc]


# Entities whose Presidio regexes are costly to run over a whole document (the email pattern
# backtracks at every word): their single-entity recognizers run on windows around an anchor. (anchor, chars
# before, chars after); windows then widen to the nearest whitespace so no word is cut.
_WINDOWS: dict[str, tuple[re.Pattern[str], int, int]] = {
    r.EMAIL_ADDRESS: (re.compile("@"), 64, 256),
    r.IP_ADDRESS: (re.compile(r"\d\.\d|:[0-9a-f]{0,4}:"), 40, 48),
}
_WIDEN = 64
_SPACE = re.compile(r"\s")
_LAST_SPACE = re.compile(r"\s(?=\S*$)")
# Below this length a text is scanned whole: windows only pay off on longer texts.
_WINDOWED_FROM = 512


@dataclass(slots=True)
class _Entry:
    recognizer: EntityRecognizer
    entities: tuple[str, ...]
    trigger: Trigger | None
    context: tuple[str, ...]
    thresholds: dict[str, float]
    is_phone: bool
    fast_phone: bool
    window: tuple[re.Pattern[str], int, int] | None
    claims: bool
    unblanked: bool
    prefilter: str | None


def _blank(text: str, findings: Sequence[Finding]) -> str:
    pieces = []
    position = 0
    for finding in sorted(findings, key=lambda f: f.start):
        if finding.start < position:
            continue
        pieces.append(text[position : finding.start])
        pieces.append(" " * (finding.end - finding.start))
        position = finding.end
    pieces.append(text[position:])
    return "".join(pieces)


# Backslash escapes in text that holds serialized JSON or code (``\n``, ``\"``, ``\\``): the
# recognizers see them as blanks of the same length, so "\n536-90-4399" is a number after a
# line break, not a word, and every offset still points into the original text.
_ESCAPE = re.compile(r"\\(?:[\\nrtbf]|(?=[\"'/]))")


def _unescaped_view(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: " " * len(m.group()), text)


class Analyzer:
    """Finds entities in text with Presidio recognizers.

    ``recognizers`` are Presidio ``EntityRecognizer`` instances (each called once per text for
    all the entities it supports); ``thresholds`` maps an entity type (or ``"default"``) to the
    minimum score kept. :meth:`analyze` returns non-overlapping :class:`Finding` objects sorted
    by position.
    """

    def __init__(
        self,
        recognizers: Iterable[EntityRecognizer],
        thresholds: Mapping[str, float] = DEFAULT_THRESHOLDS,
    ) -> None:
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer

        default = thresholds.get("default", DEFAULT_THRESHOLDS["default"])
        self._entries: list[_Entry] = []
        for recognizer in recognizers:
            entities = tuple(dict.fromkeys(recognizer.supported_entities))
            if not entities:
                continue
            context = tuple(w.strip().lower() for w in (recognizer.context or ()) if w.strip())
            self._entries.append(
                _Entry(
                    recognizer=recognizer,
                    entities=entities,
                    trigger=_trigger_for(recognizer, entities),
                    context=context,
                    thresholds={e: thresholds.get(e, default) for e in entities},
                    is_phone=isinstance(recognizer, PhoneRecognizer),
                    fast_phone=callable(getattr(recognizer, "find", None)),
                    window=getattr(recognizer, "WINDOW", None)
                    or (_WINDOWS.get(entities[0]) if len(entities) == 1 else None),
                    claims=bool(getattr(recognizer, "CLAIMS", False)),
                    unblanked=bool(getattr(recognizer, "UNBLANKED", False)),
                    prefilter=_prefilter_for(recognizer, entities),
                )
            )
        # Recognizers that claim whole blocks run first, then those that must see the text
        # before the blocks are blanked (see ``analyze``).
        self._entries.sort(key=lambda e: (not e.claims, not e.unblanked))
        self.entities: tuple[str, ...] = tuple(
            dict.fromkeys(e for entry in self._entries for e in entry.entities)
        )

    def warm_up(self) -> None:
        """Compile every recognizer's patterns now, so the first real record does not pay for it."""
        sample = (
            "Mail jane.doe@example.com or call +1 (415) 555-0134; card 4111 1111 1111 1111, "
            "IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, IP 10.1.2.3 and 2001:db8::1, "
            "wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT, key sk-proj-abcdefghijklmnopqrstu123, "
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln, AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q "
            "Authorization: Bearer abcDEF123456789, aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY "
            'password: "hunter2", postgres://u:p@db.example.com/x -----BEGIN PRIVATE KEY----- '
            "mysql -u root -pS3cret, \\n my password is hunter2"
        )
        self.analyze(sample)

    def analyze(self, text: str, deadline: float | None = None) -> list[Finding]:
        """Entities found in ``text``; raises :class:`AnalysisTimeout` past ``deadline``
        (a ``time.monotonic()`` value)."""
        if not text:
            return []
        text = _unescaped_view(text)
        lower = text.lower()
        raw: list[Finding] = []
        phones: list[_Entry] = []
        masked = False
        screened: dict[str, bool] = {}
        claimed: list[Finding] = []
        for entry in self._entries:
            if not masked and not (entry.claims or entry.unblanked):
                masked = True
                if claimed:
                    # A private key block is one finding: the rest need not search inside it.
                    text = _blank(text, claimed)
                    lower = text.lower()
            if entry.prefilter is not None:
                passed = screened.get(entry.prefilter)
                if passed is None:
                    passed = _PREFILTERS[entry.prefilter].search(text) is not None
                    screened[entry.prefilter] = passed
                if not passed:
                    continue
            if entry.trigger is not None and not entry.trigger(text, lower):
                continue
            if entry.is_phone:
                phones.append(entry)
                continue
            if entry.window is not None and len(text) >= _WINDOWED_FROM:
                results = self._windowed(entry, entry.window, text, lower)
            else:
                results = self._run(entry, text, 0)
            found = len(raw)
            self._keep(entry, results, lower, raw)
            if entry.claims:
                claimed.extend(raw[found:])
            if deadline is not None and time.monotonic() > deadline:
                raise AnalysisTimeout
        # Phone last: its candidates already claimed by a stronger finding need no parsing.
        for entry in phones:
            self._keep(entry, self._phone(entry, text, raw), lower, raw)
            if deadline is not None and time.monotonic() > deadline:
                raise AnalysisTimeout
        return _resolve_overlaps(raw)

    def _keep(
        self,
        entry: _Entry,
        results: Iterable[tuple[str, int, int, float]],
        lower: str,
        out: list[Finding],
    ) -> None:
        for entity, start, end, score in results:
            threshold = entry.thresholds.get(entity)
            if threshold is None or end <= start:
                continue
            if score < threshold and entry.context:
                score = self._with_context(entry.context, lower, start, end, score)
            if score >= threshold:
                out.append(Finding(entity, start, end, score))

    @staticmethod
    def _with_context(
        context: Sequence[str], lower: str, start: int, end: int, score: float
    ) -> float:
        before = lower[max(0, start - _CONTEXT_BEFORE) : start]
        after = lower[end : end + _CONTEXT_AFTER]
        if any(word in before or word in after for word in context):
            return max(min(score + _CONTEXT_BOOST, 1.0), _CONTEXT_FLOOR)
        return score

    @staticmethod
    def _run(entry: _Entry, text: str, offset: int) -> list[tuple[str, int, int, float]]:
        return [
            (res.entity_type, offset + res.start, offset + res.end, res.score)
            for res in entry.recognizer.analyze(text, list(entry.entities), _NO_ARTIFACTS)
        ]

    def _windowed(
        self, entry: _Entry, window: tuple[re.Pattern[str], int, int], text: str, lower: str
    ) -> list[tuple[str, int, int, float]]:
        anchor, before, after = window
        spans: list[list[int]] = []
        size = len(text)
        # Anchors are lower-case patterns searched in the lower-cased text (same offsets):
        # a case-insensitive scan costs several times more.
        for match in anchor.finditer(lower if len(lower) == size else text):
            lo = max(0, match.start() - before)
            hi = min(size, match.end() + after)
            if spans and lo <= spans[-1][1]:
                spans[-1][1] = hi
            else:
                spans.append([lo, hi])
        out: list[tuple[str, int, int, float]] = []
        for lo, hi in spans:
            # Widen to the whitespace around the window (at most _WIDEN characters each way).
            if lo > 0 and not text[lo - 1].isspace():
                before_space = _LAST_SPACE.search(text, max(0, lo - _WIDEN), lo)
                lo = before_space.end() if before_space else max(0, lo - _WIDEN)
            if hi < size and not text[hi].isspace():
                after_space = _SPACE.search(text, hi, min(size, hi + _WIDEN))
                hi = after_space.start() if after_space else min(size, hi + _WIDEN)
            out.extend(self._run(entry, text[lo:hi], lo))
        return out

    @staticmethod
    def _phone(entry: _Entry, text: str, found: list[Finding]) -> list[tuple[str, int, int, float]]:
        # Digit runs a stronger finding (card, IBAN, SSN, IP) already covers need no parsing.
        threshold = min(entry.thresholds.values())
        claimed = [(f.start, f.end) for f in found if f.score > threshold]
        recognizer: Any = entry.recognizer
        if entry.fast_phone:
            return [
                (r.PHONE_NUMBER, s, e, recognizer.SCORE) for s, e in recognizer.find(text, claimed)
            ]
        return [
            (res.entity_type, res.start, res.end, res.score)
            for res in recognizer.analyze(text, list(entry.entities), _NO_ARTIFACTS)
        ]


def _resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """A finding inside a larger one goes (the larger one covers it: a key block inside the
    credentials value that holds it, an e-mail inside a connection string); of the rest, the
    strongest of overlapping findings stays (higher score, then longer). Sorted by start."""
    if len(findings) < 2:
        return findings
    outer: list[Finding] = []
    reach = -1
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.end <= reach and (outer[-1].start, outer[-1].end) != (
            finding.start,
            finding.end,
        ):
            continue
        outer.append(finding)
        reach = max(reach, finding.end)
    ranked = sorted(outer, key=lambda f: (-f.score, -(f.end - f.start), f.start))
    starts: list[int] = []
    kept: list[Finding] = []
    for finding in ranked:
        i = bisect.bisect_right(starts, finding.start)
        if i > 0 and kept[i - 1].end > finding.start:
            continue
        if i < len(kept) and kept[i].start < finding.end:
            continue
        starts.insert(i, finding.start)
        kept.insert(i, finding)
    return kept
