"""A token bucket that lets callers run into debt (so a trace already admitted is never split)."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst`` (default: one second's worth).

    Not thread-safe: callers hold their own lock.
    """

    __slots__ = ("_burst", "_clock", "_last", "_rate", "_tokens")

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self._rate = rate
        self._burst = float(burst if burst is not None else max(rate, 1.0))
        self._tokens = self._burst
        self._clock = clock
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now

    def available(self) -> bool:
        """True while the bucket is not empty (in debt or at zero means no)."""
        self._refill()
        return self._tokens >= 1.0

    def take(self, amount: float) -> None:
        """Take ``amount`` tokens, going into debt if needed (repaid by later refills)."""
        self._tokens -= amount
