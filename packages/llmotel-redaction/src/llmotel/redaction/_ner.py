"""Opt-in NER (``[ner]`` extra): PERSON and LOCATION from a spaCy pipeline the user provisions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from llmotel.sdk.config import ConfigError

__all__ = ["SpacyNerRecognizer", "ner_recognizer"]

# spaCy labels → the entity types we report.
_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}


class SpacyNerRecognizer(EntityRecognizer):
    """A Presidio recognizer running a loaded spaCy pipeline's named-entity recognizer.

    Scores are fixed at 0.85 (spaCy gives none); only ``PERSON`` and ``LOCATION`` are reported.
    """

    SCORE = 0.85

    def __init__(self, nlp: Any, entities: Sequence[str] = ("PERSON", "LOCATION")) -> None:
        self._nlp = nlp
        super().__init__(supported_entities=list(entities), name="SpacyNerRecognizer")

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        wanted = set(entities) & set(self.supported_entities)
        return [
            RecognizerResult(_LABELS[ent.label_], ent.start_char, ent.end_char, self.SCORE)
            for ent in self._nlp(text).ents
            if _LABELS.get(ent.label_) in wanted
        ]


def ner_recognizer(
    model: str,
    entities: Sequence[str] = ("PERSON", "LOCATION"),
    *,
    variable: str = "LLMOTEL_REDACTION_NER_MODEL",
) -> SpacyNerRecognizer:
    """Load the spaCy pipeline ``model`` (a package name or a path) and wrap it as a recognizer.

    Raises :class:`~llmotel.sdk.config.ConfigError` naming ``variable`` and ``model`` when the
    pipeline is not installed; nothing is downloaded.
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
        nlp = spacy.load(model, exclude=["parser", "lemmatizer", "tagger", "attribute_ruler"])
    except OSError:
        raise ConfigError(
            variable,
            model,
            f"an installed spaCy pipeline; {model!r} is not installed (llmotel never downloads "
            f"models: install it yourself, e.g. `python -m spacy download {model}`)",
        ) from None
    return SpacyNerRecognizer(nlp, entities)
