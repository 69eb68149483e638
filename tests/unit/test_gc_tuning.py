"""The collector settings a replica and a room host apply when they start."""

from __future__ import annotations

import gc

import pytest

from livecomments.gc_tuning import YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_young_collections_are_rarer_and_start_up_objects_are_left_out(restored_gc):
    _, middle, old = gc.get_threshold()
    alive = object.__new__(type("Alive", (), {}))
    tune_gc()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)
    assert gc.get_freeze_count() > 0
    assert not any(o is alive for o in gc.get_objects())
