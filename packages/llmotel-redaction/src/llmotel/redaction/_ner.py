"""Opt-in NER tier (``[ner]`` extra): person names, places, street addresses, dates of birth.

A spaCy pipeline the user provisions finds ``PERSON`` and places (``GPE``/``LOC``/``FAC`` →
``LOCATION``); its ``DATE`` entities, and numeric dates, count as ``DATE_OF_BIRTH`` only next to
a birth word ("born", "DOB", "date of birth" …). Small spaCy pipelines do not tag street lines,
so the tier adds ``STREET_ADDRESS`` patterns (house number + capitalised street name + street
type, US state + ZIP, UK postcodes, German "…straße 12"). Everything runs on the export thread;
:class:`RedactionStage` hands a whole batch's texts to :meth:`SpacyNerRecognizer.prefetch`, which
runs them through ``nlp.pipe`` at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from llmotel.redaction._entities import (
    DATE_OF_BIRTH,
    DEFAULT_NER_ENTITIES,
    LOCATION,
    NER_ENTITIES,
    PERSON,
    STREET_ADDRESS,
)
from llmotel.sdk.config import ConfigError

__all__ = [
    "DATE_OF_BIRTH",
    "DEFAULT_NER_ENTITIES",
    "LOCATION",
    "NER_ENTITIES",
    "PERSON",
    "STREET_ADDRESS",
    "SpacyNerRecognizer",
    "ner_recognizer",
]

# spaCy labels → the entity types we report.
_LABELS = {"PERSON": PERSON, "PER": PERSON, "GPE": LOCATION, "LOC": LOCATION, "FAC": LOCATION}
_MODEL_ENTITIES = frozenset({PERSON, LOCATION, DATE_OF_BIRTH})

# spaCy's small English pipelines tag names by their capitals: a text without a capitalised
# word is not worth the model (ids, enums, lowercase chatter).
_CAPITALISED = regex.compile(r"\p{Lu}\p{Ll}")
_BIRTH = regex.compile(
    r"\b(?:born|birth|birthday|b-?day|dob|d\.o\.b\.?|geboren|né|née|nacido|nata?o)\b",
    regex.IGNORECASE,
)
# The birth word comes shortly before the date ("born on", "DOB:") with no digit in between,
# or right after it ("14.03.1985 (date of birth)").
_BIRTH_BEFORE = 30
_BIRTH_AFTER = 20
_NUMERIC_DATE = regex.compile(
    r"\b(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:19|20)?\d\d|(?:19|20)\d\d[/.\-]\d{1,2}[/.\-]\d{1,2})\b"
)
# Street types: the USPS suffix list (Publication 28, the common half) and British/Australian ones.
_STREET_TYPES = "|".join(
    sorted(
        {
            *[
                "Alley",
                "Annex",
                "Arcade",
                "Avenue",
                "Ave",
                "Bayou",
                "Beach",
                "Bend",
                "Bluffs?",
                "Boulevard",
                "Blvd",
                "Branch",
                "Bridge",
                "Brooks?",
                "Burgs?",
                "Bypass",
                "Camp",
                "Canyon",
                "Cape",
                "Causeway",
                "Centers?",
                "Circles?",
                "Cir",
                "Cliffs?",
                "Club",
                "Commons?",
                "Corners?",
                "Course",
                "Courts?",
                "Ct",
                "Coves?",
                "Creek",
                "Crescent",
                "Cres",
                "Crest",
                "Crossing",
                "Curve",
                "Dale",
                "Dam",
                "Divide",
                "Drives?",
                "Dr",
                "Estates?",
                "Expressway",
                "Extensions?",
                "Falls?",
                "Ferry",
                "Fields?",
                "Flats?",
                "Fords?",
                "Forest",
                "Forges?",
                "Forks?",
                "Fort",
                "Freeway",
                "Gardens?",
                "Gateway",
                "Glens?",
                "Greens?",
                "Groves?",
                "Harbors?",
                "Haven",
                "Heights",
                "Highway",
                "Hwy",
                "Hills?",
                "Hollow",
                "Inlet",
                "Islands?",
                "Isle",
                "Junctions?",
                "Keys?",
                "Knolls?",
                "Lakes?",
                "Landing",
                "Lane",
                "Ln",
                "Lights?",
                "Loaf",
                "Locks?",
                "Lodge",
                "Loop",
                "Mall",
                "Manors?",
                "Meadows?",
                "Mews",
                "Mills?",
                "Mission",
                "Motorway",
                "Mount",
                "Mountains?",
                "Neck",
                "Orchard",
                "Oval",
                "Overpass",
                "Parks?",
                "Parkways?",
                "Pkwy",
                "Pass",
                "Passage",
                "Path",
                "Pike",
                "Pines?",
                "Place",
                "Pl",
                "Plains?",
                "Plaza",
                "Points?",
                "Ports?",
                "Prairie",
                "Radial",
                "Ramp",
                "Ranch",
                "Rapids?",
                "Rest",
                "Ridges?",
                "River",
                "Roads?",
                "Rd",
                "Route",
                "Row",
                "Rue",
                "Run",
                "Shoals?",
                "Shores?",
                "Skyway",
                "Springs?",
                "Spurs?",
                "Squares?",
                "Sq",
                "Station",
                "Stravenue",
                "Stream",
                "Streets?",
                "St",
                "Summit",
                "Terrace",
                "Ter",
                "Throughway",
                "Trace",
                "Track",
                "Trafficway",
                "Trail",
                "Trl",
                "Tunnel",
                "Turnpike",
                "Underpass",
                "Unions?",
                "Valleys?",
                "Viaduct",
                "Views?",
                "Villages?",
                "Ville",
                "Vista",
                "Walks?",
                "Wall",
                "Ways?",
                "Wells?",
                "Close",
                "Grange",
                "Drove",
                "Rise",
                "Parade",
                "Quadrant",
                "Colonnade",
                "Towers?",
                "Deviation",
                "Esplanade",
                "Promenade",
                "Wharf",
                "Quay",
                "Yard",
            ]
        },
        key=len,
        reverse=True,
    )
)
_UNIT = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Studio|Level|#)\.?[ \t]*[\w\-]{1,6}"
_STREET = regex.compile(
    r"(?:\b" + _UNIT + r",?\s+)?"
    r"\b\d{1,5}[A-Za-z]?(?:[/ -]\d{1,5})?,?[ \t]+(?:(?:[NSEW]|North|South|East|West)\.?[ \t]+)?"
    r"(?:\p{Lu}[\p{L}'.\-]*[ \t]+){1,4}?(?:" + _STREET_TYPES + r")\b"
    r"(?:,?[ \t]*" + _UNIT + r")?"
    # "Flat 9\nBurke Lights": a unit line, then the street without a house number.
    r"|\b" + _UNIT + r",?\s+(?:\p{Lu}[\p{L}'.\-]*[ \t]+){1,4}?(?:" + _STREET_TYPES + r")\b"
)
_STREET_DE = regex.compile(
    r"\b\p{Lu}[\p{Ll}ß\-]+(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)"
    r"[ \t]+\d{1,4}[a-z]?\b"
)
_US_STATE_ZIP = regex.compile(
    r"\b(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|"
    r"S[CD]|T[NX]|UT|V[AT]|W[AIVY])[ \t]+\d{5}(?:-\d{4})?\b"
)
_UK_POSTCODE = regex.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[ABD-HJLNP-UW-Z]{2}\b")
_ADDRESS_PATTERNS = (_STREET, _STREET_DE, _US_STATE_ZIP, _UK_POSTCODE)
# The words after an honorific, a salutation, a sign-off or a self-introduction are a name even
# when the model does not know it (names outside its English training data).
_NAME_WORD = r"\p{Lu}[\p{Ll}'\-]+(?:-\p{Lu}[\p{Ll}']+)?"
_PERSON_CUE = regex.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Madam|Dear|Signed|Regards|Sincerely|Cheers)\.?,?"
    r"|\b(?:[Mm]y name is|[Tt]his is|I am|I'm|[Nn]ame:))[ \t]+"
    r"(?P<name>"
    + _NAME_WORD
    + r"(?:[ \t]+(?:(?:van|von|de|del|der|da|di|le|la|du)[ \t]+)?"
    + _NAME_WORD
    + r"){1,3})"
)

_Ents = tuple[tuple[str, int, int], ...]


class SpacyNerRecognizer(EntityRecognizer):
    """A Presidio recognizer for the NER tier, running a loaded spaCy pipeline.

    Model findings score :attr:`SCORE` (spaCy gives none); pattern findings score
    :attr:`PATTERN_SCORE`, higher, so that a street line wins over the ``PERSON`` the model sees
    in "12 Phillip Walk". :meth:`prefetch` runs many texts through ``nlp.pipe`` in one go and
    keeps their entities, for the calling thread, until :meth:`clear`; a text not prefetched is
    run on its own. The entities of the last ``cache_size`` texts are kept, since Presidio asks
    once per entity type.
    """

    SCORE = 0.85
    PATTERN_SCORE = 0.9

    def __init__(
        self,
        nlp: Any,
        entities: Sequence[str] = DEFAULT_NER_ENTITIES,
        *,
        batch_size: int = 64,
        cache_size: int = 256,
    ) -> None:
        unknown = set(entities) - set(NER_ENTITIES)
        if unknown:
            raise ValueError(f"unknown NER entity types {sorted(unknown)}; known: {NER_ENTITIES}")
        self._nlp = nlp
        self._batch_size = batch_size
        self._cache_size = cache_size
        self._cache: OrderedDict[str, _Ents] = OrderedDict()
        # Per thread: the span and log export threads may share this recognizer.
        self._local = threading.local()
        self._lock = threading.Lock()
        super().__init__(supported_entities=list(entities), name="SpacyNerRecognizer")

    def load(self) -> None:
        pass

    def prefetch(self, texts: Iterable[str]) -> None:
        """Run the model over ``texts`` at once (``nlp.pipe``); :meth:`analyze` then looks them
        up. Texts the model would not be run on (no capitalised word) are skipped."""
        if not _MODEL_ENTITIES & set(self.supported_entities):
            return
        prefetched = self._prefetched()
        todo = list(
            dict.fromkeys(t for t in texts if t not in prefetched and _CAPITALISED.search(t))
        )
        if not todo:
            return
        docs = self._nlp.pipe(todo, batch_size=self._batch_size)
        prefetched.update((text, _entities(doc)) for text, doc in zip(todo, docs, strict=True))

    def clear(self) -> None:
        """Forget what :meth:`prefetch` stored on this thread (the stage calls it after each
        batch)."""
        self._prefetched().clear()

    def _prefetched(self) -> dict[str, _Ents]:
        prefetched: dict[str, _Ents] | None = getattr(self._local, "prefetched", None)
        if prefetched is None:
            prefetched = self._local.prefetched = {}
        return prefetched

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        wanted = set(entities) & set(self.supported_entities)
        out: list[RecognizerResult] = []
        if PERSON in wanted:
            out.extend(
                RecognizerResult(PERSON, m.start("name"), m.end("name"), self.PATTERN_SCORE)
                for m in _PERSON_CUE.finditer(text)
            )
        if wanted & _MODEL_ENTITIES and _CAPITALISED.search(text):
            for label, start, end in self._ents(text):
                if label in wanted and label != DATE_OF_BIRTH:
                    out.append(RecognizerResult(label, start, end, self.SCORE))
                elif label == "DATE" and DATE_OF_BIRTH in wanted and _near_birth(text, start, end):
                    out.append(RecognizerResult(DATE_OF_BIRTH, start, end, self.SCORE))
        if DATE_OF_BIRTH in wanted and _BIRTH.search(text):
            out.extend(
                RecognizerResult(DATE_OF_BIRTH, m.start(), m.end(), self.PATTERN_SCORE)
                for m in _NUMERIC_DATE.finditer(text)
                if _near_birth(text, m.start(), m.end())
            )
        if STREET_ADDRESS in wanted:
            for pattern in _ADDRESS_PATTERNS:
                out.extend(
                    RecognizerResult(STREET_ADDRESS, m.start(), m.end(), self.PATTERN_SCORE)
                    for m in pattern.finditer(text)
                )
        return out

    def _ents(self, text: str) -> _Ents:
        found = self._prefetched().get(text)
        if found is not None:
            return found
        found = self._cache.get(text)
        if found is not None:
            return found
        found = _entities(self._nlp(text))
        with self._lock:
            self._cache[text] = found
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return found


def _entities(doc: Any) -> _Ents:
    return tuple(
        (_LABELS.get(ent.label_, ent.label_), ent.start_char, ent.end_char) for ent in doc.ents
    )


def _near_birth(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - _BIRTH_BEFORE) : start]
    cues = list(_BIRTH.finditer(before))
    if cues and not any(c.isdigit() for c in before[cues[-1].end() :]):
        return True
    after = text[end : end + _BIRTH_AFTER]
    cue = _BIRTH.search(after)
    return cue is not None and not any(c.isdigit() for c in after[: cue.start()])


def ner_recognizer(
    model: str,
    entities: Sequence[str] = DEFAULT_NER_ENTITIES,
    *,
    variable: str = "LLMOTEL_REDACTION_NER_MODEL",
) -> SpacyNerRecognizer:
    """Load the spaCy pipeline ``model`` (a package name or a path) and wrap it as a recognizer.

    Only the components NER needs are loaded (``tok2vec``, ``ner``). Raises
    :class:`~llmotel.sdk.config.ConfigError` naming ``variable`` and ``model`` when the pipeline is
    not installed; nothing is downloaded.
    """
    try:
        import spacy
    except ImportError:
        raise ConfigError(
            variable,
            model,
            "an installed spaCy pipeline, but spaCy is not installed: "
            "pip install 'llmotel-redaction[ner]'",
        ) from None
    try:
        nlp = spacy.load(
            model, exclude=["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"]
        )
    except OSError:
        raise ConfigError(
            variable,
            model,
            f"an installed spaCy pipeline; {model!r} is not installed (llmotel never downloads "
            f"models: install it yourself, e.g. `python -m spacy download {model}`)",
        ) from None
    if "ner" not in nlp.pipe_names:
        raise ConfigError(variable, model, "a spaCy pipeline with an 'ner' component")
    return SpacyNerRecognizer(nlp, entities)
