"""Helpers shared by the tests of llmotel-metrics: GenAI span attributes and fixed times."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from llmotel.semconv import attributes as a

MakeSpan = Callable[..., ReadableSpan]

# 2026-11-18 19:33:20 UTC; the call takes 1.5 s.
END_NS = 1_795_030_400_000_000_000
START_NS = END_NS - 1_500_000_000


def genai_attributes(
    *,
    model: str = "gpt-4o",
    response_model: str | None = "gpt-4o-2024-08-06",
    provider: str = "openai",
    operation: str = "chat",
    input_tokens: int | None = 1000,
    output_tokens: int | None = 200,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The attributes a semconv-speaking instrumentation puts on an inference span."""
    attrs: dict[str, Any] = {
        a.GEN_AI_OPERATION_NAME: operation,
        a.GEN_AI_PROVIDER_NAME: provider,
        a.GEN_AI_REQUEST_MODEL: model,
    }
    if response_model is not None:
        attrs[a.GEN_AI_RESPONSE_MODEL] = response_model
    if input_tokens is not None:
        attrs[a.GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    if output_tokens is not None:
        attrs[a.GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    attrs.update(extra or {})
    return attrs
