"""The moderation half of the CommentStore port (``ModerationStore``), on every
backend (see ``test_comment_store`` for the backends and how tests share them)."""


from __future__ import annotations

import pytest

from livecomments.errors import Conflict
from storage.model import (
    Action,
    RestrictionKind,
)
from tests.contract.store_cases import (
    DAY,
    WINDOW,
    ban,
    deleted,
    edited,
    record,
    said,
    strike,
)

# moderation --------------------------------------------------------------




async def test_strikes_since_counts_flags_and_reports_at_or_after(any_store):
    store, author = any_store.store, any_store.id("author")
    for at, reporter in ((0, None), (DAY, "r1"), (DAY, "r2"), (3 * DAY, None)):
        await store.add_strike(strike(any_store, author, 1, at, reporter), "author")
    t0 = any_store.t0
    assert await store.strikes_since(author, t0) == 4
    assert await store.strikes_since(author, t0 + 1) == 3
    assert await store.strikes_since(author, t0 + DAY) == 3
    assert await store.strikes_since(author, t0 + 3 * DAY + 1) == 0
    assert await store.strikes_since(any_store.id("other"), 0) == 0


async def test_a_second_report_by_one_reporter_is_a_conflict_and_changes_nothing(any_store):
    store, author = any_store.store, any_store.id("author")
    await store.add_strike(strike(any_store, author, 7, 0, "r1"), "author")
    before = await store.queue((any_store.t0 + WINDOW, ""), 2)
    with pytest.raises(Conflict):
        await store.add_strike(strike(any_store, author, 7, 5, "r1", reason="again"), "author")
    assert await store.strikes_since(author, 0) == 1
    assert await store.queue((any_store.t0 + WINDOW, ""), 2) == before
    await store.add_strike(strike(any_store, author, 7, 6, "r2"), "author")
    await store.add_strike(strike(any_store, author, 8, 7, "r1"), "author")
    assert await store.strikes_since(author, 0) == 3


async def test_the_queue_counts_per_comment_and_user_newest_first(any_store):
    store, case = any_store.store, any_store
    mallory, post = case.id("mallory"), case.id("v")
    await store.add_strike(strike(case, mallory, 3, 0), "mallory")
    await store.add_strike(strike(case, mallory, 3, DAY, "r1", reason="rude"), "mallory")
    await store.add_strike(strike(case, mallory, 4, 2 * DAY, "r2", reason="lies"), "mallory")
    items = await store.queue((case.t0 + WINDOW, ""), 3)
    assert [(i.key, i.kind, i.reports, i.flags, i.last_reason, i.last_at) for i in items] == [
        (f"user:{mallory}", "user", 2, 1, "lies", case.t0 + 2 * DAY),
        (f"comment:{post}.4", "comment", 1, 0, "lies", case.t0 + 2 * DAY),
        (f"comment:{post}.3", "comment", 1, 1, "rude", case.t0 + DAY),
    ]
    assert {(i.user_id, i.username) for i in items} == {(mallory, "mallory")}
    assert (items[0].post_id, items[0].comment_seq) == (None, None)
    assert (items[1].post_id, items[1].comment_seq) == (post, 4)


async def test_the_queue_pages_by_last_activity_and_key(any_store):
    store, case = any_store.store, any_store
    for n, at in enumerate((0, 0, DAY, 2 * DAY, 2 * DAY)):
        await store.add_strike(strike(case, case.id(f"u{n}"), n, at, "r"), f"u{n}")
    everything = [i for i in await store.queue(None, 40) if i.last_at >= case.t0]
    assert len(everything) == 10  # a comment line and a user line per strike
    assert everything == sorted(everything, key=lambda i: (i.last_at, i.key), reverse=True)
    for size in (1, 3, 4):
        pages, cursor = [], None
        while len(pages) < len(everything):
            page = await store.queue(cursor, size)
            assert page
            pages += page
            cursor = (page[-1].last_at, page[-1].key)
        assert pages[:len(everything)] == everything


async def test_an_item_struck_again_moves_up_the_queue_once(any_store):
    store, case = any_store.store, any_store
    a, b = case.id("a"), case.id("b")
    await store.add_strike(strike(case, a, 1, 0, "r1"), "a")
    await store.add_strike(strike(case, b, 2, DAY, "r1"), "b")
    await store.add_strike(strike(case, a, 1, 3 * DAY, "r2", reason="worse"), "a")
    mine = [i for i in await store.queue(None, 40) if i.last_at >= case.t0]
    assert [(i.key, i.reports, i.last_at - case.t0) for i in mine] == [
        (f"user:{a}", 2, 3 * DAY), (f"comment:{case.id('v')}.1", 2, 3 * DAY),
        (f"user:{b}", 1, DAY), (f"comment:{case.id('v')}.2", 1, DAY),
    ]




async def test_one_restriction_per_user(any_store):
    store, case = any_store.store, any_store
    u = case.id("u")
    assert await store.restriction(u) is None
    first = ban(case, u, 0, until=DAY)
    assert await store.set_restriction(first, keep_ban=False) is True
    assert await store.restriction(u) == first
    second = ban(case, u, 10)
    assert await store.set_restriction(second, keep_ban=False) is True
    assert await store.restriction(u) == second


async def test_keep_ban_leaves_an_active_ban_alone(any_store):
    store, case = any_store.store, any_store
    for until in (None, 100):
        u = case.id(f"u{until}")
        await store.set_restriction(ban(case, u, 0, until), keep_ban=False)
        mute = ban(case, u, 50, until=5000, kind=RestrictionKind.MUTE)
        assert await store.set_restriction(mute, keep_ban=True) is False
        assert await store.restriction(u) == ban(case, u, 0, until)


async def test_the_restrictions_version_moves_with_every_change_and_only_then(any_store):
    store, case = any_store.store, any_store
    u = case.id("u")
    seen = [await store.restrictions_version()]

    async def moved() -> bool:
        seen.append(await store.restrictions_version())
        return seen[-1] != seen[-2]

    await store.set_restriction(ban(case, u, 0, until=None), keep_ban=False)
    assert await moved()
    mute = ban(case, u, 50, until=5000, kind=RestrictionKind.MUTE)
    assert await store.set_restriction(mute, keep_ban=True) is False
    assert not await moved()
    await store.set_restriction(mute, keep_ban=False)
    assert await moved()
    assert await store.clear_restriction(u) is True
    assert await moved()
    assert await store.clear_restriction(u) is False
    assert not await moved()


async def test_keep_ban_replaces_an_expired_ban_or_a_mute(any_store):
    store, case = any_store.store, any_store
    u, v, w = case.id("u"), case.id("v"), case.id("w")
    await store.set_restriction(ban(case, u, 0, until=100), keep_ban=False)
    await store.set_restriction(ban(case, v, 0, until=5000, kind=RestrictionKind.MUTE),
                                keep_ban=False)
    for who, at in ((u, 100), (v, 200), (w, 0)):
        mute = ban(case, who, at, until=9000, kind=RestrictionKind.MUTE)
        assert await store.set_restriction(mute, keep_ban=True) is True
        assert await store.restriction(who) == mute


async def test_clear_restriction_lifts_a_ban_once(any_store):
    store, case = any_store.store, any_store
    u = case.id("u")
    await store.set_restriction(ban(case, u, 0), keep_ban=False)
    assert await store.clear_restriction(u) is True
    assert await store.restriction(u) is None
    assert await store.clear_restriction(u) is False


async def test_restrictions_in_force_and_expired(any_store):
    store, case = any_store.store, any_store
    forever, later, over = case.id("forever"), case.id("later"), case.id("over")
    await store.set_restriction(ban(case, forever, 0), keep_ban=False)
    await store.set_restriction(ban(case, later, 0, until=2000, kind=RestrictionKind.MUTE),
                                keep_ban=False)
    await store.set_restriction(ban(case, over, 0, until=1000), keep_ban=False)
    assert await store.restriction(over) == ban(case, over, 0, until=1000)  # expired, still there
    mine = {forever, later, over}
    for now, expected in ((999, mine), (1000, {forever, later}), (2000, {forever})):
        active = await store.active_restrictions(case.t0 + now)
        assert {r.user_id for r in active} & mine == expected
        assert all(r == ban(case, r.user_id, 0, r.until and r.until - case.t0, r.kind)
                   for r in active if r.user_id in mine)


async def test_the_audit_trail_pages_newest_first(any_store):
    store, case = any_store.store, any_store
    trail = [Action(f"{case.tag}-{n}", case.t0 + at, "admin", "ban", f"user:{n}", "{}")
             for n, at in enumerate((0, DAY, DAY, 2 * DAY, 5 * DAY))]
    for action in trail:
        await store.add_action(action)
    newest = sorted(trail, key=lambda a: (a.at, a.action_id), reverse=True)
    assert (await store.actions(None, 40))[:5] == newest
    for size in (1, 2, 5):
        pages, cursor = [], None
        while len(pages) < 5:
            page = await store.actions(cursor, size)
            pages += page
            cursor = (page[-1].at, page[-1].action_id)
        assert pages[:5] == newest


async def test_comments_by_lists_a_users_listed_comments_newest_first(any_store):
    store, case = any_store.store, any_store
    me, other = case.id("me"), case.id("other")
    a, b = case.id("a"), case.id("b")
    t0 = case.t0
    mine = [said(a, 1, me, t0), said(a, 2, other, t0 + 1), said(b, 1, me, t0 + DAY),
            said(a, 3, me, t0 + DAY + 5), said(b, 2, me, t0 + 2 * DAY, hidden=True),
            said(b, 3, me, t0 + 3 * DAY), said(a, 4, me, t0 + 3 * DAY + 1)]
    await store.append_events(mine)
    await store.append_events([edited(5, mine[3], "edited"), deleted(6, mine[6])])
    expected = [record(mine[5]), record(mine[3], edited(5, mine[3], "edited")),
                record(mine[2]), record(mine[0])]
    assert await store.comments_by(me, t0, 100) == expected
    assert await store.comments_by(me, t0, 2) == expected[:2]
    assert await store.comments_by(me, t0 + DAY, 100) == expected[:3]
    assert await store.comments_by(me, t0 + DAY + 6, 100) == expected[:1]
    assert await store.comments_by(other, 0, 100) == [record(mine[1])]
    assert await store.comments_by(case.id("nobody"), 0, 100) == []
