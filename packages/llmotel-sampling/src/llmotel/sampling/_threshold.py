"""OTEP 235 arithmetic: 56-bit randomness, rejection thresholds and the ``ot`` tracestate entry.

A span is kept when its randomness ``rv`` is at least the threshold ``th = 2**56 - p * 2**56`` for
a keep probability ``p``: the comparison the SDK's experimental composable samplers make
(``opentelemetry.sdk.trace._sampling_experimental``), redone here because that module is private.
"""

from __future__ import annotations

import hashlib

from opentelemetry.trace import TraceState

RANDOMNESS_BITS = 56
RANDOMNESS_MASK = (1 << RANDOMNESS_BITS) - 1
MAX_THRESHOLD = 1 << RANDOMNESS_BITS  # keeps nothing
OT_KEY = "ot"


def threshold_for(ratio: float) -> int:
    """The rejection threshold for keep probability ``ratio`` (0 keeps all, ``2**56`` none)."""
    return MAX_THRESHOLD - round(ratio * float(MAX_THRESHOLD))


def encode_threshold(threshold: int) -> str:
    """``th`` value: 14 hex digits with trailing zeros removed (``0`` for keep-all)."""
    if threshold == 0:
        return "0"
    return f"{threshold:014x}".rstrip("0")


def encode_randomness(randomness: int) -> str:
    """``rv`` value: exactly 14 hex digits."""
    return f"{randomness:014x}"


def randomness_of_key(key: str) -> int:
    """56 bits of BLAKE2b over the UTF-8 key: every process derives the same value for a session."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=7).digest(), "big")


def randomness_from_trace_state(trace_state: TraceState | None) -> int | None:
    """The explicit ``rv`` of an ``ot`` tracestate entry, or None when absent or malformed."""
    if not trace_state:
        return None
    ot = trace_state.get(OT_KEY)
    if not ot:
        return None
    for member in ot.split(";"):
        if member.startswith("rv:"):
            value = member[3:]
            if len(value) != 14:
                return None
            try:
                return int(value, 16)
            except ValueError:
                return None
    return None


def ot_value(*, randomness: int | None, threshold: int | None) -> str:
    """The ``ot`` tracestate value carrying ``th`` (when sampled) and ``rv`` (when explicit)."""
    parts = []
    if threshold is not None and threshold < MAX_THRESHOLD:
        parts.append("th:" + encode_threshold(threshold))
    if randomness is not None:
        parts.append("rv:" + encode_randomness(randomness))
    return ";".join(parts)
