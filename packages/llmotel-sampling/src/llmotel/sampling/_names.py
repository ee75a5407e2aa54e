"""Attribute and metric names this package reads and writes, in one place."""

from __future__ import annotations

from llmotel.semconv import extensions as ext
from llmotel.semconv.attributes import (
    GEN_AI_CONVERSATION_ID,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)
from llmotel.semconv.attributes import SESSION_ID as SESSION_ID
from llmotel.semconv.attributes import USER_ID as USER_ID

CONVERSATION_ID = GEN_AI_CONVERSATION_ID
INPUT_TOKENS = GEN_AI_USAGE_INPUT_TOKENS
OUTPUT_TOKENS = GEN_AI_USAGE_OUTPUT_TOKENS

# USD cost of a span, when something priced it (no standard name yet; see docs/sampling.md).
COST_USD = ext.LLMOTEL_COST_USD

# llmotel's own names (llmotel.semconv.extensions, the one place they are defined).
SAMPLING_POLICY = ext.LLMOTEL_SAMPLING_POLICY  # written on every span the tail sampler forwards
SAMPLING_RATE = ext.LLMOTEL_SAMPLING_RATE

# Attributes of the self-telemetry metrics.
SAMPLING_DECISION = ext.LLMOTEL_SAMPLING_DECISION
SAMPLING_TRIGGER = ext.LLMOTEL_SAMPLING_TRIGGER
SAMPLING_BOUND = ext.LLMOTEL_SAMPLING_BOUND
SAMPLING_REASON = ext.LLMOTEL_SAMPLING_REASON

# Self-telemetry.
METER_NAME = "llmotel.sampling"
BUFFERED_TRACES = ext.LLMOTEL_SAMPLING_BUFFERED_TRACES
BUFFERED_SPANS = ext.LLMOTEL_SAMPLING_BUFFERED_SPANS
BUFFERED_BYTES = ext.LLMOTEL_SAMPLING_BUFFERED_BYTES
DECISIONS = ext.LLMOTEL_SAMPLING_DECISIONS
FORCED_DECISIONS = ext.LLMOTEL_SAMPLING_FORCED_DECISIONS
LATE_SPANS = ext.LLMOTEL_SAMPLING_LATE_SPANS
RATE_LIMITED_SPANS = ext.LLMOTEL_SAMPLING_RATE_LIMITED_SPANS
