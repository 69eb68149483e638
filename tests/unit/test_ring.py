from __future__ import annotations

from dataclasses import dataclass

import pytest

from actors.ring import RingBuffer


@dataclass
class Item:
    seq: int


def filled(capacity: int, last: int) -> RingBuffer[Item]:
    ring: RingBuffer[Item] = RingBuffer(capacity)
    for seq in range(1, last + 1):
        ring.append(Item(seq))
    return ring


def test_keeps_only_the_last_items_and_returns_what_it_evicts():
    ring = filled(3, 3)
    assert ring.append(Item(4)) == Item(1)
    assert [i.seq for i in ring] == [2, 3, 4]
    assert ring.first_seq == 2


def test_after_answers_from_memory_while_it_covers_the_position():
    ring = filled(3, 5)
    assert [i.seq for i in ring.after(2, 10)] == [3, 4, 5]
    assert [i.seq for i in ring.after(3, 1)] == [4]
    assert ring.after(5, 10) == []


@pytest.mark.parametrize("seq", [9, 10, 14, 20, 26, 29, 30, 45])
@pytest.mark.parametrize("limit", [1, 3, 25])
def test_after_gives_the_same_items_from_either_end_of_a_full_ring(seq, limit):
    ring = filled(21, 30)
    assert [i.seq for i in ring.after(seq, limit)] == list(range(seq + 1, min(seq + limit, 30) + 1))


def test_after_says_none_when_the_position_fell_out():
    ring = filled(3, 5)
    assert ring.after(1, 10) is None
    assert RingBuffer(3).after(0, 10) is None


def test_refuses_a_gap_or_a_repeat():
    ring = filled(3, 2)
    with pytest.raises(ValueError):
        ring.append(Item(4))
    with pytest.raises(ValueError):
        ring.append(Item(2))


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        RingBuffer(0)
