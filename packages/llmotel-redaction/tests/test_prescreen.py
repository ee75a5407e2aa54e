"""The pre-screens, the windows and the blanking of claimed blocks change speed, never results."""

from __future__ import annotations

from redaction_corpus import Generator
from traffic_corpus import TrafficGenerator

from llmotel.redaction import DEFAULT_ENTITIES
from llmotel.redaction._analyzer import Analyzer
from llmotel.redaction._recognizers import build_recognizers


def test_same_findings_with_and_without_prescreen_and_windows() -> None:
    fast = Analyzer(build_recognizers(DEFAULT_ENTITIES))
    exhaustive = Analyzer(build_recognizers(DEFAULT_ENTITIES))
    for entry in exhaustive._entries:
        entry.trigger = None
        entry.window = None
        entry.prefilter = None
        entry.claims = False
        entry.unblanked = False
        entry.recognizer.PATTERN_NEEDLES = {}  # type: ignore[attr-defined]
    gen = Generator(seed=99)
    texts = [r.value for r in gen.records(120)]
    texts += [gen.document(8_000).value for _ in range(3)]
    texts += gen.clean_records(60)
    traffic = TrafficGenerator(seed=99)
    texts += [r.value for r in traffic.records(120)]
    texts += traffic.clean_texts(30)
    for text in texts:
        assert fast.analyze(text) == exhaustive.analyze(text)
