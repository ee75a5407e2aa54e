"""Recall per entity type and over-redaction on a seeded, generated corpus (see redaction_corpus).

A planted value counts as found when it no longer appears anywhere in the redacted attribute.
Over-redaction is the share of characters inside findings on PII-free telemetry text.
"""

from __future__ import annotations

import collections

import pytest
from redaction_corpus import TARGETS, Generator

from llmotel.redaction import Redaction, Redactor


@pytest.fixture(scope="module")
def generator() -> Generator:
    return Generator(seed=20240601)


def test_recall_per_entity_type(redactor: Redactor, generator: Generator) -> None:
    records = generator.records(450) + [generator.document(n) for n in (20_000, 35_000, 50_000)]
    found: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    missed: dict[str, list[str]] = collections.defaultdict(list)
    for record in records:
        attributes: dict[str, object] = {record.key: record.value}
        redactor.redact_attributes(attributes, Redaction())
        out = str(attributes.get(record.key, ""))
        for kind, value in record.planted:
            total[kind] += 1
            if value in out:
                missed[kind].append(value)
            else:
                found[kind] += 1
    report = {kind: found[kind] / total[kind] for kind in TARGETS}
    print("\nrecall:", {k: f"{v:.3f} of {total[k]}" for k, v in report.items()})
    assert set(total) == set(TARGETS)
    assert all(total[kind] >= 30 for kind in TARGETS), total
    below = {k: (report[k], missed[k][:3]) for k in TARGETS if report[k] < TARGETS[k]}
    assert not below


def test_over_redaction_on_pii_free_text(redactor: Redactor, generator: Generator) -> None:
    texts = generator.clean_records(400)
    flagged = 0
    size = 0
    for text in texts:
        flagged += sum(f.end - f.start for f in redactor.analyze(text))
        size += len(text)
    print(f"\nover-redaction: {flagged / size:.4%} of {size} characters")
    assert flagged / size <= 0.005
