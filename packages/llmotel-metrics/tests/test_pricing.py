"""Pricing's cached float rates against genai_prices.calc_price, model by model."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import warnings
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import ModelPrice, TieredPrices

from llmotel.metrics import PROVIDER_ALIASES, Cost, PriceOverride, Pricing, load_price_file

TIMES = [
    datetime(2024, 3, 1, 3, 0, tzinfo=UTC),
    datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
    datetime(2026, 11, 18, 19, 33, tzinfo=UTC),
]


def _ns(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000_000


def test_rates_match_calc_price_for_every_bundled_model() -> None:
    pricing = Pricing()
    rnd = random.Random(8)
    checked = 0
    for provider in get_snapshot().providers:
        for model in provider.models:
            for _ in range(3):
                # Token counts around the tier thresholds (128k, 200k, 272k) and far past them.
                inp = rnd.choice([0, 17, 1500, 130_000, 210_000, 300_000, 2_000_000])
                cr = rnd.randint(0, inp // 2)
                cw = rnd.randint(0, (inp - cr) // 2)
                out = rnd.randint(0, 30_000)
                when = rnd.choice(TIMES)
                usage = Usage(
                    input_tokens=inp, output_tokens=out, cache_read_tokens=cr, cache_write_tokens=cw
                )
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        expected = calc_price(
                            usage, model.id, provider_id=provider.id, genai_request_timestamp=when
                        )
                except (ValueError, LookupError):
                    # genai-prices rejects some usages of per-modality models: nothing to compare.
                    continue
                cost = pricing.cost(
                    provider.id,
                    model.id,
                    input_tokens=inp,
                    output_tokens=out,
                    cache_read_tokens=cr,
                    cache_write_tokens=cw,
                    time_ns=_ns(when),
                )
                assert cost is not None, (provider.id, model.id)
                label = (provider.id, model.id, inp, out, cr, cw, when)
                assert cost.total == pytest.approx(float(expected.total_price), rel=1e-9), label
                assert cost.input + cost.cache_read + cost.cache_write == pytest.approx(
                    float(expected.input_price), rel=1e-9, abs=1e-15
                ), label
                assert cost.output == pytest.approx(
                    float(expected.output_price), rel=1e-9, abs=1e-15
                ), label
                checked += 1
    assert checked > 5000


def _tiered_model() -> tuple[str, str, TieredPrices]:
    for provider in get_snapshot().providers:
        for model in provider.models:
            prices = model.prices
            if isinstance(prices, ModelPrice) and isinstance(
                prices.__dict__.get("input_mtok"), TieredPrices
            ):
                return provider.id, model.id, prices.__dict__["input_mtok"]
    raise AssertionError("no tiered model in the bundled data")


def test_tiered_prices_switch_for_all_tokens_past_the_threshold() -> None:
    provider, model, tiered = _tiered_model()
    threshold = tiered.tiers[0].start
    pricing = Pricing()
    below = pricing.cost(provider, model, input_tokens=threshold)
    above = pricing.cost(provider, model, input_tokens=threshold + 1)
    assert below is not None
    assert above is not None
    assert below.input == pytest.approx(float(tiered.base) * threshold / 1e6, rel=1e-12)
    assert above.input == pytest.approx(
        float(tiered.tiers[0].price) * (threshold + 1) / 1e6, rel=1e-12
    )


def test_time_dependent_prices_follow_the_call_time() -> None:
    # deepseek-chat has off-peak prices for part of the day (a TimeOfDateConstraint).
    pricing = Pricing()
    for when in (
        datetime(2026, 6, 1, 2, 0, tzinfo=UTC),
        datetime(2026, 6, 1, 20, 0, tzinfo=UTC),
    ):
        expected = calc_price(
            Usage(input_tokens=10_000, output_tokens=1000),
            "deepseek-chat",
            provider_id="deepseek",
            genai_request_timestamp=when,
        )
        cost = pricing.cost(
            "deepseek", "deepseek-chat", input_tokens=10_000, output_tokens=1000, time_ns=_ns(when)
        )
        assert cost is not None
        assert cost.total == pytest.approx(float(expected.total_price), rel=1e-12)
    day = pricing.cost("deepseek", "deepseek-chat", input_tokens=10_000, time_ns=_ns(TIMES[1]))
    night = pricing.cost("deepseek", "deepseek-chat", input_tokens=10_000, time_ns=_ns(TIMES[2]))
    assert day is not None
    assert night is not None
    assert day.total != night.total


@pytest.mark.parametrize(
    ("semconv_provider", "model"),
    [
        ("x_ai", "grok-3"),
        ("gcp.gen_ai", "gemini-2.5-flash"),
        ("gcp.vertex_ai", "gemini-2.5-flash"),
        ("gcp.gemini", "gemini-2.5-flash"),
        ("azure.ai.openai", "gpt-4o"),
        ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        # what llmotel-instrumentation-bedrock names the models (cross-region prefixes dropped)
        ("aws.bedrock", "meta.llama3-8b-instruct-v1:0"),
        ("aws.bedrock", "amazon.nova-lite-v1:0"),
        ("mistral_ai", "mistral-large-latest"),
        ("moonshot_ai", "kimi-k2-0711-preview"),
        ("azure.ai.inference", "gpt-4o-mini"),
        ("ibm.watsonx.ai", "gpt-4o"),
        ("openai", "gpt-4o"),
        ("anthropic", "claude-3-5-haiku-latest"),
        ("deepseek", "deepseek-chat"),
        ("groq", "llama-3.3-70b-versatile"),
    ],
)
def test_semconv_provider_names_are_priced(semconv_provider: str, model: str) -> None:
    cost = Pricing().cost(semconv_provider, model, input_tokens=1000, output_tokens=100)
    assert cost is not None
    assert cost.total > 0
    alias = PROVIDER_ALIASES.get(semconv_provider, semconv_provider) or None
    try:
        expected = calc_price(Usage(input_tokens=1000, output_tokens=100), model, provider_id=alias)
    except LookupError:
        # ibm.watsonx.ai: unknown to genai-prices, found from the model name.
        expected = calc_price(Usage(input_tokens=1000, output_tokens=100), model)
    assert cost.total == pytest.approx(float(expected.total_price), rel=1e-12)


def test_unknown_models_and_providers_are_unpriced() -> None:
    pricing = Pricing()
    assert pricing.cost("openai", "acme-llm-7", input_tokens=10) is None
    assert pricing.cost("acme", "acme-llm-7", input_tokens=10) is None
    # A known provider that lacks the model does not borrow another provider's price.
    assert pricing.cost("groq", "claude-3-5-haiku-latest", input_tokens=10) is None


def test_cache_counts_without_a_cache_price_cost_the_input_price() -> None:
    pricing = Pricing(
        [PriceOverride(model="plain", input_mtok=2.0, output_mtok=8.0)]  # no cache prices
    )
    cost = pricing.cost("any", "plain", input_tokens=1_000_000, cache_read_tokens=600_000)
    assert cost == Cost(input=2.0)


def test_overrides_win_over_bundled_prices_and_can_be_scoped_to_a_provider() -> None:
    pricing = Pricing(
        {
            "gpt-4o": {"input_mtok": 1, "output_mtok": 2, "provider": "azure.ai.openai"},
            "ft:gpt-4o-mini:acme::abc": {
                "input_mtok": 0.3,
                "output_mtok": 1.2,
                "cache_read_mtok": 0.15,
            },
        }
    )
    assert pricing.cost("azure.ai.openai", "gpt-4o", input_tokens=10**6) == Cost(input=1.0)
    bundled = pricing.cost("openai", "gpt-4o", input_tokens=10**6)
    assert bundled is not None
    assert bundled.input != 1.0
    ft = pricing.cost(
        "openai",
        "FT:gpt-4o-mini:acme::abc",
        input_tokens=2 * 10**6,
        output_tokens=10**6,
        cache_read_tokens=10**6,
    )
    assert ft == Cost(input=0.3, output=1.2, cache_read=0.15)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_price_file(tmp_path: Path, suffix: str) -> None:
    data = {"my-model": {"input_mtok": 3, "output_mtok": 15, "cache_write_mtok": 3.75}}
    path = tmp_path / f"prices{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data))
    else:
        path.write_text("my-model:\n  input_mtok: 3\n  output_mtok: 15\n  cache_write_mtok: 3.75\n")
    [override] = load_price_file(path)
    assert override == PriceOverride(
        model="my-model", input_mtok=3.0, output_mtok=15.0, cache_write_mtok=3.75
    )
    cost = Pricing([override]).cost(
        None, "my-model", input_tokens=2 * 10**6, cache_write_tokens=10**6
    )
    assert cost == Cost(input=3.0, cache_write=3.75)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "expected a mapping of model name to prices"),
        ('{"m": {"input_mtok": -1}}', "input_mtok must be a non-negative number"),
        ('{"m": {"inputs": 1}}', "unknown keys ['inputs']"),
        ("{not json", "cannot parse price file"),
    ],
)
def test_bad_price_files_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_price_file(path)


def test_missing_price_file() -> None:
    with pytest.raises(ValueError, match="cannot read price file"):
        load_price_file("/nonexistent/prices.json")


def test_rates_are_recomputed_when_genai_prices_data_changes() -> None:
    from genai_prices import data_snapshot

    pricing = Pricing()
    before = pricing.cost("openai", "gpt-4o", input_tokens=10**6)
    bundled = data_snapshot.get_snapshot()
    provider = next(p for p in bundled.providers if p.id == "openai")
    model = provider.find_model("gpt-4o")
    assert model is not None
    cheaper = type(model)(id=model.id, match=model.match, prices=ModelPrice(input_mtok=Decimal(1)))
    updated_provider = type(provider)(
        id=provider.id, name=provider.name, api_pattern=provider.api_pattern, models=[cheaper]
    )
    data_snapshot.set_custom_snapshot(
        data_snapshot.DataSnapshot(providers=[updated_provider], from_auto_update=True)
    )
    try:
        assert pricing.cost("openai", "gpt-4o", input_tokens=10**6) == Cost(input=1.0)
    finally:
        data_snapshot.set_custom_snapshot(None)
    assert pricing.cost("openai", "gpt-4o", input_tokens=10**6) == before


@pytest.mark.parametrize(
    ("litellm_provider", "model"),
    [
        ("together_ai", "Gryphe/MythoMax-L2-13b"),
        ("fireworks_ai", "accounts/fireworks/models/deepseek-v3-0324"),
        ("voyage", "voyage-3"),
        ("openrouter", "ai21/jamba-1-5-large"),
    ],
)
def test_litellm_provider_ids_are_priced(litellm_provider: str, model: str) -> None:
    # llmotel-instrumentation-litellm names a provider semconv has no value for by LiteLLM's id.
    usage = {"input_tokens": 1000, "output_tokens": 100}
    cost = Pricing().cost(litellm_provider, model, **usage)
    assert cost is not None
    provider_id = PROVIDER_ALIASES.get(litellm_provider, litellm_provider)
    expected = calc_price(Usage(**usage), model, provider_id=provider_id)
    assert cost.total == pytest.approx(float(expected.total_price), rel=1e-12)


_WATCH_PRICE_DATA = r"""
import sys, threading

seen = []


class Watch:  # records the thread that imports genai-prices' price data
    def find_spec(self, name, path=None, target=None):
        if name == "genai_prices.data":
            seen.append(threading.current_thread().name)
        return None


sys.meta_path.insert(0, Watch())
from llmotel.metrics._pricing import Pricing, preload

assert "genai_prices.data" not in sys.modules
pricing = Pricing()
"""


def _run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_price_data_loads_off_the_thread_that_makes_the_pricing() -> None:
    # Loaded by the first lookup, the data would cost the thread that ends the first priced span
    # ~17-220 ms: the application's, or an event loop's.
    out = _run_python(
        _WATCH_PRICE_DATA
        + """
for thread in threading.enumerate():  # the one Pricing() started
    if thread.name == "llmotel-prices-preload":
        thread.join(60)
loaded = list(seen)
cost = pricing.cost("openai", "gpt-4o-mini", input_tokens=1000, output_tokens=100)
print(loaded, seen, round(cost.total, 9), preload() is preload())
"""
    )
    assert out == "['llmotel-prices-preload'] ['llmotel-prices-preload'] 0.00021 True"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_a_fork_right_after_the_pricing_is_made_prices_in_the_child() -> None:
    out = _run_python(
        _WATCH_PRICE_DATA
        + """
import os

pid = os.fork()  # the fork waits for the load rather than copy it half done
if pid == 0:
    cost = pricing.cost("openai", "gpt-4o-mini", input_tokens=1000, output_tokens=100)
    os._exit(0 if cost is not None and round(cost.total, 9) == 0.00021 else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), seen)
"""
    )
    assert out == "0 ['llmotel-prices-preload']"
