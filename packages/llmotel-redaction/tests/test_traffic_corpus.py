"""Recall per planted kind and over-redaction on the second, traffic-shaped corpus
(see traffic_corpus): varied syntaxes, languages and wrappings, through ``redact_attributes``."""

from __future__ import annotations

import collections
import json

import pytest
from traffic_corpus import TARGETS, TrafficGenerator, leaked

from llmotel.redaction import Redaction, Redactor


@pytest.fixture(scope="module")
def generator() -> TrafficGenerator:
    return TrafficGenerator(seed=20261206)


def test_recall_per_kind(redactor: Redactor, generator: TrafficGenerator) -> None:
    records = generator.records(40 * len(TARGETS))
    found: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    missed: dict[str, list[str]] = collections.defaultdict(list)
    for record in records:
        attributes: dict[str, object] = {record.key: record.value}
        redactor.redact_attributes(attributes, Redaction())
        out = str(attributes.get(record.key, ""))
        for kind, value in record.planted:
            total[kind] += 1
            if leaked(value, out):
                missed[kind].append(record.value[:300])
            else:
                found[kind] += 1
    report = {kind: found[kind] / total[kind] for kind in TARGETS}
    print("\nrecall:", {k: f"{v:.3f} of {total[k]}" for k, v in report.items()})
    assert set(total) == set(TARGETS)
    below = {k: (report[k], missed[k][:2]) for k in TARGETS if report[k] < TARGETS[k]}
    assert not below


def test_over_redaction_on_pii_free_traffic(
    redactor: Redactor, generator: TrafficGenerator
) -> None:
    texts = generator.clean_texts(300)
    flagged = sum(sum(f.end - f.start for f in redactor.analyze(t)) for t in texts)
    size = sum(len(t) for t in texts)
    print(f"\nover-redaction: {flagged / size:.4%} of {size} characters")
    assert flagged / size <= 0.005


def test_pii_free_records_keep_their_json(redactor: Redactor, generator: TrafficGenerator) -> None:
    records = generator.clean_records(200)
    changed = []
    for key, value in records:
        attributes: dict[str, object] = {key: value}
        redactor.redact_attributes(attributes, Redaction())
        if attributes[key] != value:
            changed.append(value)
    assert len(changed) <= 1, changed[:2]
    for key, value in records:
        if key != "exception.message":
            json.loads(value)


def test_redacting_the_output_again_changes_nothing(
    redactor: Redactor, generator: TrafficGenerator
) -> None:
    changed = []
    for record in generator.records(10 * len(TARGETS)):
        attributes: dict[str, object] = {record.key: record.value}
        redactor.redact_attributes(attributes, Redaction())
        once = attributes[record.key]
        again = Redaction()
        redactor.redact_attributes(attributes, again)
        if again.total or attributes[record.key] != once:
            changed.append((dict(again.counts), str(once)[:200]))
    assert not changed
