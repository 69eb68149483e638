from __future__ import annotations

from collections import Counter

import pytest

from actors.placement import RendezvousPlacement, slot_for, stable_hash

NODES = [f"node-{i}" for i in range(4)]
POSTS = [f"video-{i}" for i in range(2000)]


def test_same_answer_for_the_same_inputs_in_any_order():
    strategy = RendezvousPlacement()
    for post in POSTS[:50]:
        assert strategy.place(post, NODES) == strategy.place(post, list(reversed(NODES)))


def test_spreads_rooms_over_nodes():
    counts = Counter(RendezvousPlacement().place(p, NODES) for p in POSTS)
    assert set(counts) == set(NODES)
    assert min(counts.values()) > len(POSTS) / len(NODES) * 0.8


def test_losing_a_node_moves_only_its_own_rooms():
    strategy = RendezvousPlacement()
    before = {p: strategy.place(p, NODES) for p in POSTS}
    after = {p: strategy.place(p, NODES[:-1]) for p in POSTS}
    moved = {p for p in POSTS if before[p] != after[p]}
    assert moved == {p for p in POSTS if before[p] == NODES[-1]}


def test_no_nodes_is_an_error():
    with pytest.raises(ValueError):
        RendezvousPlacement().place("v", [])


def test_hash_and_slots_are_stable():
    assert stable_hash("a", "b") == stable_hash("a", "b") != stable_hash("b", "a")
    assert {slot_for(p, 3) for p in POSTS} == {0, 1, 2}
