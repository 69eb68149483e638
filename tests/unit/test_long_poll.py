"""A host's long-polls: one per subscriber over many rooms."""

from __future__ import annotations

import asyncio

from actors.long_poll import LongPolls, PollResult
from livecomments.principal import Principal

ALICE = Principal("u-alice", "alice")


async def two_rooms(make_room):
    polls = LongPolls()
    rooms = {post_id: await make_room(post_id) for post_id in ("a", "b")}
    for room in rooms.values():
        room.on_change = polls.changed
    return polls, rooms


async def test_a_poll_is_answered_by_the_next_write_to_any_of_its_rooms(make_room):
    polls, rooms = await two_rooms(make_room)
    await rooms["a"].post(ALICE, "already seen")
    # The poll starts waiting before the write: post() suspends on its commit
    # first, and tasks run in the order they were scheduled.
    waiting = asyncio.create_task(
        polls.poll("r1", rooms, {"a": (1, 0), "b": (0, 0)}, 1, 10, timeout=30))
    await rooms["b"].post(ALICE, "wake up")
    answers = await asyncio.wait_for(waiting, 5)
    assert list(answers) == ["b"]
    assert [e.text for e in answers["b"].events] == ["wake up"]
    assert answers["b"].head == 1


async def test_rooms_behind_or_asked_for_their_head_are_answered_at_once(make_room):
    polls, rooms = await two_rooms(make_room)
    await rooms["a"].post(ALICE, "one")
    await rooms["a"].post(ALICE, "two")
    answers = await polls.poll("r1", rooms, {"a": (1, 0), "b": (None, 0)}, 1, 10, timeout=30)
    assert [e.text for e in answers["a"].events] == ["two"]
    assert (answers["b"].events, answers["b"].head) == ([], 0)


async def test_a_quiet_poll_times_out_with_every_rooms_head_and_viewers(make_room):
    polls, rooms = await two_rooms(make_room)
    await rooms["a"].post(ALICE, "seen")
    rooms["b"].report_viewers("r2", 7, ttl=60)
    answers = await polls.poll("r1", rooms, {"a": (1, 0), "b": (0, 0)}, 1, 10, timeout=0.01)
    assert {post_id: (r.events, r.head, r.viewers) for post_id, r in answers.items()} == {
        "a": ([], 1, 0), "b": ([], 0, 7)}


async def test_a_wake_answers_only_polls_that_name_an_older_room_set(make_room):
    polls, rooms = await two_rooms(make_room)
    wants = {"a": (0, 0)}
    older = asyncio.create_task(polls.poll("r1", rooms, wants, 1, 10, timeout=30))
    other = asyncio.create_task(polls.poll("r2", rooms, wants, 1, 10, timeout=30))
    # Room "b" is neither poll's: its write (a commit awaited) wakes both to
    # look, and both wait on.
    await rooms["b"].post(ALICE, "elsewhere")
    assert not older.done() and not other.done()
    polls.wake("r1", 2)
    assert await asyncio.wait_for(older, 5) == {"a": PollResult([], 0, 0)}
    assert not other.done()
    # A wake that arrived before its poll answers that poll at once, once.
    polls.wake("r1", 3)
    assert await polls.poll("r1", rooms, wants, 2, 10, timeout=30)
    current = asyncio.create_task(polls.poll("r1", rooms, wants, 3, 10, timeout=30))
    polls.wake("r1", 3)
    await rooms["a"].post(ALICE, "for both")
    assert [e.text for e in (await asyncio.wait_for(current, 5))["a"].events] == ["for both"]
    assert [e.text for e in (await asyncio.wait_for(other, 5))["a"].events] == ["for both"]
