from __future__ import annotations

import pytest

from actors.group_commit import GroupCommit
from actors.video_room import VideoRoom
from livecomments.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_room(store, clock):
    async def make(post_id: str = "v1", ring_size: int = 4) -> VideoRoom:
        room = VideoRoom(post_id, store, GroupCommit(store), ring_size, clock)
        await room.load()
        return room

    return make
