"""Generated texts with person names, street addresses and dates of birth, for the NER tier.

Shared by test_ner.py and benchmarks/bench_redaction.py. Each record holds the planted values;
a value counts as caught when none of its words (2+ characters, numbers included) survive in
the redacted text. Names come from several Faker locales; templates vary in register (chat,
support tickets, forms, tool-call JSON, lowercase chatter) so the score is not tuned to one
sentence shape. PII-free texts (with capitalised place and product words) measure what the tier
removes that it should not.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field

from faker import Faker

_NAME_LOCALES = ["en_US", "en_GB", "en_AU", "en_IN", "de_DE", "es_ES", "fr_FR", "it_IT", "nl_NL"]
_ADDRESS_LOCALES = ["en_US", "en_GB", "en_AU"]
_WORD = re.compile(r"[\w']{2,}")


@dataclass
class NerRecord:
    text: str
    planted: dict[str, list[str]] = field(default_factory=dict)


def _dob(fake: Faker, rnd: random.Random) -> str:
    day = fake.date_of_birth(minimum_age=18, maximum_age=90)
    return rnd.choice(
        [
            day.strftime("%d %B %Y"),
            day.strftime("%B %d, %Y"),
            day.strftime("%m/%d/%Y"),
            day.strftime("%d.%m.%Y"),
            day.strftime("%Y-%m-%d"),
            day.strftime("%-d %b %Y"),
        ]
    )


_PERSON_TEMPLATES = [
    "Hi, my name is {name} and I need help with my order.",
    "Please forward this to {name}, she handles refunds.",
    "Customer {name} called twice about the outage.",
    "Can you draft a reply to {name} thanking him for the feedback?",
    "Meeting notes: {name} will own the migration; {name2} reviews.",
    "Dear {name},\n\nYour subscription renews next week.",
    "ticket opened by {name} (priority: high)",
    "Summarise the thread between {name} and {name2}.",
    "I spoke with {name} from the billing team yesterday.",
    "Signed, {name}",
]
_ADDRESS_TEMPLATES = [
    "Ship it to {street}, {city}.",
    "My address is {street}, {city} {postcode}.",
    "Delivery address: {street}\n{city}",
    "We moved to {street} last month.",
    "Send the invoice to {name} at {street}, {city}.",
    "the package never arrived at {street}",
]
_DOB_TEMPLATES = [
    "My date of birth is {dob}.",
    "DOB: {dob}",
    "I was born on {dob} in {city}.",
    "Patient {name}, born {dob}, reports mild symptoms.",
    "Verify the account: name {name}, date of birth {dob}.",
    "birthday {dob}, please update my profile",
]
_CLEAN_TEMPLATES = [
    "What is the capital of France? Paris, and it sits on the Seine.",
    "Write a haiku about the Pacific Ocean at dawn.",
    "Translate 'good morning' into German and Spanish.",
    "Compare PostgreSQL and MySQL for a write-heavy workload.",
    "The meeting moved to Tuesday at 3 PM because of the Berlin office holiday.",
    "Explain how Kubernetes schedules pods across nodes.",
    "List three famous landmarks in Rome and one in Tokyo.",
    "Our Q3 revenue grew 12% while costs stayed flat.",
    "Summarise the plot of Pride and Prejudice in two sentences.",
    "Use Python 3.12 and FastAPI for the new service.",
    "The Amazon rainforest spans nine countries in South America.",
    "Deploy version 2.4.1 to the staging cluster on Monday.",
]


def _wrap(rnd: random.Random, text: str) -> str:
    """Vary where the text sits: plain, inside a tool-call JSON argument, or a markdown quote."""
    choice = rnd.random()
    if choice < 0.2:
        return json.dumps({"note": text, "priority": "normal"})
    if choice < 0.3:
        return "> " + text.replace("\n", "\n> ")
    return text


def generate(count: int, seed: int = 7) -> list[NerRecord]:
    """``count`` records per kind (person, address, date of birth, PII-free), reproducibly."""
    rnd = random.Random(seed)
    fakes = {loc: Faker(loc) for loc in sorted({*_NAME_LOCALES, *_ADDRESS_LOCALES})}
    for i, fake in enumerate(fakes.values()):
        fake.seed_instance(seed + i)
    records: list[NerRecord] = []
    for _ in range(count):
        fake = fakes[rnd.choice(_NAME_LOCALES)]
        # First and last name only: titles ("Dr", "Sig.ra", "B.Sc.") identify no one.
        name = f"{fake.first_name()} {fake.last_name()}"
        name2 = f"{fake.first_name()} {fake.last_name()}"
        text = rnd.choice(_PERSON_TEMPLATES).format(name=name, name2=name2)
        planted = [name] + ([name2] if "{name2}" in text or name2 in text else [])
        records.append(NerRecord(_wrap(rnd, text), {"PERSON": planted}))
    for _ in range(count):
        fake = fakes[rnd.choice(_ADDRESS_LOCALES)]
        street = fake.street_address()
        template = rnd.choice(_ADDRESS_TEMPLATES)
        text = template.format(
            street=street, city=fake.city(), postcode=fake.postcode(), name=fake.name()
        )
        records.append(NerRecord(_wrap(rnd, text), {"ADDRESS": [street]}))
    for _ in range(count):
        fake = fakes[rnd.choice(_NAME_LOCALES)]
        dob = _dob(fake, rnd)
        text = rnd.choice(_DOB_TEMPLATES).format(dob=dob, name=fake.name(), city=fake.city())
        records.append(NerRecord(_wrap(rnd, text), {"DOB": [dob]}))
    records.extend(NerRecord(_wrap(rnd, rnd.choice(_CLEAN_TEMPLATES))) for _ in range(count))
    return records


def caught(value: str, output: str) -> bool:
    """True when no word of ``value`` is left in ``output``."""
    words = _WORD.findall(output)
    return not any(w in words for w in _WORD.findall(value))


def recall(records: list[NerRecord], outputs: list[str]) -> dict[str, float]:
    """Per planted kind, the fraction of values caught."""
    hits: dict[str, list[bool]] = {}
    for record, output in zip(records, outputs, strict=True):
        for kind, values in record.planted.items():
            hits.setdefault(kind, []).extend(caught(v, output) for v in values)
    return {kind: round(sum(v) / len(v), 3) for kind, v in sorted(hits.items())}


def changed_fraction(records: list[NerRecord], outputs: list[str]) -> float:
    """Fraction of characters of the PII-free texts that the redaction changed."""
    total = changed = 0
    for record, output in zip(records, outputs, strict=True):
        if record.planted:
            continue
        total += len(record.text)
        changed += _changed(record.text, output)
    return round(changed / total, 4) if total else 0.0


def _changed(before: str, after: str) -> int:
    import difflib

    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return len(before) - sum(block.size for block in matcher.get_matching_blocks())
