"""DecisionRecord: the last N decisions, exactly, in fixed memory."""

from __future__ import annotations

import random

import pytest

from llmotel.sampling._record import DECISION_BYTES, DecisionRecord


@pytest.mark.parametrize("capacity", [1, 2, 8, 100, 1024])
def test_it_remembers_exactly_the_last_capacity_decisions(capacity: int) -> None:
    record = DecisionRecord(capacity)
    rng = random.Random(capacity)
    expected: dict[int, int] = {}
    order: list[int] = []
    for _ in range(20 * record.capacity + 50):
        # Random 128-bit ids and small sequential ones (which must not form one long probe run).
        trace_id = rng.getrandbits(128) if rng.random() < 0.7 else rng.randrange(1, 300)
        code = rng.randrange(0, 65536)
        if trace_id not in expected:
            if len(order) == record.capacity:
                del expected[order.pop(0)]
            order.append(trace_id)
        expected[trace_id] = code
        record.add(trace_id, code)
        assert len(record) == len(expected)
    assert {trace_id: record.get(trace_id) for trace_id in expected} == expected
    forgotten = [rng.getrandbits(128) for _ in range(500)]
    assert {record.get(trace_id) for trace_id in forgotten if trace_id not in expected} == {-1}


def test_its_size_is_fixed_and_documented() -> None:
    record = DecisionRecord(1000)
    assert record.capacity == 1024  # rounded up to a power of two
    assert record.nbytes == 1024 * DECISION_BYTES == 1024 * 28
    for trace_id in range(1, 10_000):
        record.add(trace_id, 1)
    assert record.nbytes == 1024 * 28
    assert DecisionRecord.within(64 * 1024 * 1024 // 16).capacity == 131_072
    assert DecisionRecord.within(8 * 1024 * 1024 // 16).capacity == 16_384
    assert DecisionRecord.within(10).capacity == 1


def test_clear_forgets_everything() -> None:
    record = DecisionRecord(4)
    record.add(7, 3)
    record.clear()
    assert record.get(7) == -1
    assert len(record) == 0
