"""A host's long-polls: one session per subscriber over many rooms, each
poll carrying only what changed."""

from __future__ import annotations

import asyncio

from actors.long_poll import LongPolls, PollResult
from livecomments.principal import Principal

ALICE = Principal("u-alice", "alice")


async def two_rooms(make_room):
    rooms = {post_id: await make_room(post_id) for post_id in ("a", "b")}

    async def load(post_id):
        raise AssertionError(f"room {post_id} was not loaded")

    polls = LongPolls(rooms, load)
    for room in rooms.values():
        room.on_change = polls.changed
    return polls, rooms


def texts(result: PollResult) -> list[str]:
    return [event.text for event in result.events]


async def test_a_poll_is_answered_by_the_next_write_to_any_of_its_rooms(make_room):
    polls, rooms = await two_rooms(make_room)
    await rooms["a"].post(ALICE, "already seen")
    # The poll starts waiting before the write: post() suspends on its commit
    # first, and tasks run in the order they were scheduled.
    waiting = asyncio.create_task(
        polls.poll("r1", "s1", {"a": (1, 0), "b": (0, 0)}, True, 10, timeout=30))
    await rooms["b"].post(ALICE, "wake up")
    answers = await asyncio.wait_for(waiting, 5)
    assert list(answers) == ["b"]
    assert texts(answers["b"]) == ["wake up"]
    assert (answers["b"].head, answers["b"].position) == (1, 1)


async def test_one_write_answers_every_subscriber_waiting_on_its_room(make_room):
    """A waiting poll holds no slot that others queue for (through Ray
    Serve, whose replica takes five requests at once by default, 100 such
    pollers waited seconds: ``bench.long_polls``). A hundred subscribers'
    polls, as a hundred replicas' would be, all end with the one write, long
    before their timeout."""
    polls, rooms = await two_rooms(make_room)
    # The polls start waiting before the write, as in the first test, so
    # only the write's wake-up answers them: had it woken one session, the
    # other 99 would wait out their 30 s.
    waiting = [
        asyncio.create_task(polls.poll(f"r{n}", "s", {"a": (0, 0)}, True, 10, timeout=30))
        for n in range(100)]
    await rooms["a"].post(ALICE, "everyone")
    answers = await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert [texts(answer["a"]) for answer in answers] == [["everyone"]] * 100


async def test_rooms_behind_or_asked_for_their_head_are_answered_at_once(make_room):
    polls, rooms = await two_rooms(make_room)
    await rooms["a"].post(ALICE, "one")
    await rooms["a"].post(ALICE, "two")
    answers = await polls.poll("r1", "s1", {"a": (1, 0), "b": (None, 0)}, True, 10, timeout=30)
    assert texts(answers["a"]) == ["two"]
    assert (answers["b"].events, answers["b"].head) == ([], 0)


async def test_a_quiet_poll_times_out_with_every_rooms_head_and_viewers(make_room):
    polls, rooms = await two_rooms(make_room)
    await rooms["a"].post(ALICE, "seen")
    rooms["b"].report_viewers("r2", 7, ttl=60)
    answers = await polls.poll("r1", "s1", {"a": (1, 2), "b": (0, 0)}, True, 10, timeout=0.01)
    assert {post_id: (r.events, r.head, r.viewers) for post_id, r in answers.items()} == {
        "a": ([], 1, 2), "b": ([], 0, 7)}


async def test_later_polls_carry_only_changes_and_resume_where_the_last_answer_ended(make_room):
    polls, rooms = await two_rooms(make_room)
    first = await polls.poll("r1", "s1", {"a": (None, 1), "b": (None, 1)}, True, 10, 30)
    assert {post_id: r.head for post_id, r in first.items()} == {"a": 0, "b": 0}
    await rooms["a"].post(ALICE, "one")
    await rooms["a"].post(ALICE, "two")
    assert texts((await polls.poll("r1", "s1", {}, False, 1, 30))["a"]) == ["one"]
    assert texts((await polls.poll("r1", "s1", {}, False, 1, 30))["a"]) == ["two"]
    # Both rooms are still followed; "a" has nothing new, so only "b" answers.
    waiting = asyncio.create_task(polls.poll("r1", "s1", {"a": (2, 3)}, False, 10, 30))
    await rooms["b"].post(ALICE, "three")
    answers = await asyncio.wait_for(waiting, 5)
    assert list(answers) == ["b"] and texts(answers["b"]) == ["three"]
    assert rooms["a"].viewers == 3
    # A room dropped is answered no more.
    waiting = asyncio.create_task(polls.poll("r1", "s1", {"b": None}, False, 10, 30))
    await rooms["b"].post(ALICE, "to no one")
    await rooms["a"].post(ALICE, "four")
    assert list(await asyncio.wait_for(waiting, 5)) == ["a"]


async def test_a_room_followed_while_the_poll_waits_answers_it_with_its_head(make_room):
    polls, rooms = await two_rooms(make_room)
    await rooms["b"].post(ALICE, "before")
    waiting = asyncio.create_task(polls.poll("r1", "s1", {"a": (0, 1)}, True, 10, 30))
    # The poll task runs first: the session exists, and its poll waits.
    assert await asyncio.create_task(polls.follow("r1", "s1", {"b": (None, 1)}))
    answers = await asyncio.wait_for(waiting, 5)
    assert {post_id: (r.events, r.head) for post_id, r in answers.items()} == {"b": ([], 1)}


async def test_an_unknown_session_is_refused_and_a_new_one_ends_the_old(make_room):
    polls, rooms = await two_rooms(make_room)
    assert await polls.poll("r1", "s1", {"a": (0, 1)}, False, 10, 30) is None
    assert not await polls.follow("r1", "s1", {"a": (0, 1)})
    old = asyncio.create_task(polls.poll("r1", "s1", {"a": (0, 1)}, True, 10, 30))
    new = asyncio.create_task(polls.poll("r1", "s2", {"b": (0, 4)}, True, 10, 30))
    assert await asyncio.wait_for(old, 5) is None
    assert await polls.poll("r1", "s1", {}, False, 10, 30) is None
    await rooms["a"].post(ALICE, "not for s2")
    await rooms["b"].post(ALICE, "for s2")
    assert texts((await asyncio.wait_for(new, 5))["b"]) == ["for s2"]


async def test_sessions_without_a_poll_for_their_ttl_expire(make_room):
    polls, rooms = await two_rooms(make_room)
    await polls.poll("r1", "s1", {"a": (0, 1)}, True, 10, timeout=0)
    now = asyncio.get_running_loop().time()
    assert polls.expire(now + 4) == 0  # a ttl of 2 x timeout + 5 s
    assert rooms["a"].viewers == 1
    assert polls.expire(now + 6) == 1
    assert await polls.poll("r1", "s1", {}, False, 10, 30) is None
