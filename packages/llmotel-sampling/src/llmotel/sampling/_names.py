"""Attribute and metric names this package reads and writes, in one place."""

from __future__ import annotations

from llmotel.semconv.attributes import (
    GEN_AI_CONVERSATION_ID,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)
from llmotel.semconv.attributes import SESSION_ID as SESSION_ID
from llmotel.semconv.attributes import USER_ID as USER_ID
from llmotel.semconv.extensions import LLMOTEL_COST_USD

CONVERSATION_ID = GEN_AI_CONVERSATION_ID
INPUT_TOKENS = GEN_AI_USAGE_INPUT_TOKENS
OUTPUT_TOKENS = GEN_AI_USAGE_OUTPUT_TOKENS

# USD cost of a span, when something priced it (no standard name yet; see docs/sampling.md).
COST_USD = LLMOTEL_COST_USD

# Written by the tail sampler on every span it forwards.
SAMPLING_POLICY = "llmotel.sampling.policy"
SAMPLING_RATE = "llmotel.sampling.rate"

# Attributes of the self-telemetry metrics.
SAMPLING_DECISION = "llmotel.sampling.decision"
SAMPLING_TRIGGER = "llmotel.sampling.trigger"
SAMPLING_BOUND = "llmotel.sampling.bound"
SAMPLING_REASON = "llmotel.sampling.reason"

# Self-telemetry.
METER_NAME = "llmotel.sampling"
BUFFERED_TRACES = "llmotel.sampling.buffered.traces"
BUFFERED_SPANS = "llmotel.sampling.buffered.spans"
BUFFERED_BYTES = "llmotel.sampling.buffered.bytes"
DECISIONS = "llmotel.sampling.decisions"
FORCED_DECISIONS = "llmotel.sampling.forced_decisions"
LATE_SPANS = "llmotel.sampling.late_spans"
RATE_LIMITED_SPANS = "llmotel.sampling.rate_limited.spans"
