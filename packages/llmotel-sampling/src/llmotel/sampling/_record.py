"""A bounded record of tail-sampling decisions at 28 bytes a trace."""

from __future__ import annotations

from array import array

DECISION_BYTES = 28
"""What one remembered decision costs: two 8+2-byte hash slots and an 8-byte ring entry."""

# A trace's fingerprint: 56 bits mixing both halves of its id (W3C random trace ids are random
# in the low 56 bits, other generators may put the randomness elsewhere); never 0, which marks an
# empty slot. Computed inline in get() and add().
_FINGERPRINT_MASK = (1 << 56) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MASK_64 = (1 << 64) - 1


def _home(fingerprint: int, shift: int) -> int:
    # Fibonacci hashing: sequential ids (as some generators and tests make) spread over the table
    # instead of forming one long run that linear probing would walk. Inlined in get() and add().
    return ((fingerprint * _GOLDEN) & _MASK_64) >> shift


class DecisionRecord:
    """Remembers the last ``capacity`` decisions: trace id -> a 16-bit code.

    An open-addressing hash table (linear probing, at most half full) of 56-bit trace-id
    fingerprints in an ``array('Q')`` with their codes in an ``array('H')``, plus a ring of
    fingerprints in decision order: when full, the oldest decision is forgotten. Memory is fixed
    at construction, ``capacity * DECISION_BYTES``. Two traces whose ids share a fingerprint (a
    chance of about ``capacity / 2**56`` per lookup) would share a decision. Not thread-safe: the
    tail sampler calls it under its lock.
    """

    __slots__ = ("_codes", "_count", "_keys", "_mask", "_next", "_ring", "_shift", "capacity")

    def __init__(self, capacity: int) -> None:
        bits = 1
        while 1 << bits < 2 * capacity:
            bits += 1
        slots = 1 << bits
        self.capacity = slots // 2
        self._mask = slots - 1
        self._shift = 64 - bits
        self._keys = array("Q", bytes(8 * slots))
        self._codes = array("H", bytes(2 * slots))
        self._ring = array("Q", bytes(8 * self.capacity))
        self._next = 0
        self._count = 0

    @classmethod
    def within(cls, budget_bytes: int) -> DecisionRecord:
        """The largest record (a power of two decisions, at least 1) that fits ``budget_bytes``."""
        capacity = 1
        while capacity * 2 * DECISION_BYTES <= budget_bytes:
            capacity *= 2
        return cls(capacity)

    @property
    def nbytes(self) -> int:
        """Bytes held by the table and the ring."""
        return (
            self._keys.itemsize * len(self._keys)
            + self._codes.itemsize * len(self._codes)
            + self._ring.itemsize * len(self._ring)
        )

    def __len__(self) -> int:
        return self._count

    def get(self, trace_id: int) -> int:
        """The code recorded for ``trace_id``, or -1 when none is remembered."""
        # Fingerprint and _home inlined: this runs for the first span of every trace.
        fingerprint = ((trace_id ^ (trace_id >> 64)) & _FINGERPRINT_MASK) or 1
        keys, mask = self._keys, self._mask
        index = ((fingerprint * _GOLDEN) & _MASK_64) >> self._shift
        while True:
            key = keys[index]
            if key == fingerprint:
                return self._codes[index]
            if key == 0:
                return -1
            index = (index + 1) & mask

    def add(self, trace_id: int, code: int) -> None:
        """Record ``code`` (0..65535) for ``trace_id``, forgetting the oldest decision if full."""
        # Fingerprint and _home inlined: this runs once per trace.
        fingerprint = ((trace_id ^ (trace_id >> 64)) & _FINGERPRINT_MASK) or 1
        keys, mask = self._keys, self._mask
        index = ((fingerprint * _GOLDEN) & _MASK_64) >> self._shift
        while True:
            key = keys[index]
            if key == fingerprint:  # recorded again: the newer code wins
                self._codes[index] = code
                return
            if key == 0:
                break
            index = (index + 1) & mask
        if self._count == self.capacity:
            self._remove(self._ring[self._next])
            index = _home(fingerprint, self._shift)  # the removal may have moved entries
            while keys[index] != 0:
                index = (index + 1) & mask
        else:
            self._count += 1
        keys[index] = fingerprint
        self._codes[index] = code
        self._ring[self._next] = fingerprint
        self._next = (self._next + 1) % self.capacity

    def clear(self) -> None:
        for table in (self._keys, self._codes, self._ring):
            table[:] = array(table.typecode, bytes(table.itemsize * len(table)))
        self._next = 0
        self._count = 0

    def _remove(self, fingerprint: int) -> None:
        """Delete by backward shift: entries after the hole move up unless already at home."""
        keys, codes, mask = self._keys, self._codes, self._mask
        hole = _home(fingerprint, self._shift)
        while keys[hole] != fingerprint:
            if keys[hole] == 0:
                return
            hole = (hole + 1) & mask
        index = hole
        while True:
            index = (index + 1) & mask
            key = keys[index]
            if key == 0:
                break
            home = _home(key, self._shift)
            # The entry at ``index`` may fill the hole unless its home lies in (hole, index].
            if (hole < index and hole < home <= index) or (
                index < hole and (home > hole or home <= index)
            ):
                continue
            keys[hole] = key
            codes[hole] = codes[index]
            hole = index
        keys[hole] = 0
        codes[hole] = 0
