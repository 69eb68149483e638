from __future__ import annotations

from dataclasses import replace

import pytest

from livecomments.errors import Conflict, Forbidden, InvalidInput, NotFound
from livecomments.moderation import Moderation
from livecomments.principal import Principal
from livecomments.screening import WordListScreen
from livecomments.settings import RateLimit, Settings
from storage.model import CommentRecord, Role, UserRecord

ADMIN = Principal("u-admin", "root", Role.ADMIN)
ALICE = Principal("u-alice", "alice")
BOB = Principal("u-bob", "bob")


@pytest.fixture
async def moderation(store, clock):
    for user_id, name, role in [("u-admin", "root", Role.ADMIN), ("u-alice", "alice", Role.USER),
                                ("u-bob", "bob", Role.USER)]:
        await store.create_user(UserRecord(user_id, name, "x", role, 0))
    settings = replace(Settings(), strike_limit=RateLimit(3, 3600), auto_mute_seconds=600)
    return Moderation(store, clock, settings, WordListScreen())


def comment(seq: int, author: Principal = ALICE) -> CommentRecord:
    return CommentRecord("v1", seq, author.user_id, author.username, "text", 0)


async def test_a_ban_stops_posting_until_it_ends(moderation, clock):
    await moderation.check_can_post("u-alice")
    await moderation.ban(ADMIN, "u-alice", "spam", 60)
    with pytest.raises(Forbidden, match="banned"):
        await moderation.check_can_post("u-alice")
    clock.advance(61)
    await moderation.check_can_post("u-alice")


async def test_another_replica_sees_a_ban_within_a_second(moderation, store, clock):
    other = Moderation(store, clock, Settings(), WordListScreen())
    await other.check_can_post("u-alice")
    await moderation.ban(ADMIN, "u-alice", "spam", None)
    clock.advance(1.01)
    with pytest.raises(Forbidden):
        await other.check_can_post("u-alice")


async def test_unban_lifts_it_and_a_second_unban_is_404(moderation):
    await moderation.ban(ADMIN, "u-alice", "spam", None)
    await moderation.unban(ADMIN, "u-alice")
    await moderation.check_can_post("u-alice")
    with pytest.raises(NotFound):
        await moderation.unban(ADMIN, "u-alice")


@pytest.mark.parametrize(
    ("user_id", "reason", "duration", "error"),
    [("u-alice", "", None, InvalidInput), ("u-alice", "x", 0, InvalidInput),
     ("u-alice", "x", "10", InvalidInput), ("u-alice", "x", True, InvalidInput),
     ("nobody", "x", None, NotFound), ("u-admin", "x", None, Forbidden)],
)
async def test_bad_bans_are_refused(moderation, user_id, reason, duration, error):
    with pytest.raises(error):
        await moderation.ban(ADMIN, user_id, reason, duration)


async def test_reports_count_once_per_reporter_and_never_for_oneself(moderation):
    await moderation.report(BOB, comment(1), "rude")
    with pytest.raises(Conflict):
        await moderation.report(BOB, comment(1), "still rude")
    with pytest.raises(Forbidden):
        await moderation.report(ALICE, comment(2), "me")
    with pytest.raises(InvalidInput):
        await moderation.report(BOB, comment(3), " ")
    items, cursor = await moderation.queue(None, 10)
    assert cursor is None
    assert {(i.kind, i.reports, i.flags) for i in items} == {("comment", 1, 0), ("user", 1, 0)}


async def test_enough_strikes_mute_the_author_for_a_while(moderation, clock):
    await moderation.flagged(ALICE, "v1", 1, "offensive_language")
    await moderation.report(BOB, comment(2), "rude")
    await moderation.check_can_post("u-alice")
    await moderation.flagged(ALICE, "v1", 3, "shouting")
    with pytest.raises(Forbidden, match="muted"):
        await moderation.check_can_post("u-alice")
    actions, _ = await moderation.actions(None, 10)
    assert [a.action for a in actions] == ["auto_mute"]
    clock.advance(601)
    await moderation.check_can_post("u-alice")


async def test_a_mute_never_shortens_a_ban(moderation):
    await moderation.ban(ADMIN, "u-alice", "spam", None)
    for seq in range(3):
        await moderation.flagged(ALICE, "v1", seq + 1, "shouting")
    with pytest.raises(Forbidden, match="banned"):
        await moderation.check_can_post("u-alice")


async def test_queue_pages_newest_first(moderation, clock):
    for seq in range(1, 6):
        await moderation.report(BOB, comment(seq), f"r{seq}")
        clock.advance(1)
    seen, cursor = [], None
    while True:
        items, cursor = await moderation.queue(cursor, 2)
        seen += [(i.kind, i.comment_seq) for i in items]
        if cursor is None:
            break
    comments = [seq for kind, seq in seen if kind == "comment"]
    assert comments == [5, 4, 3, 2, 1] and len(seen) == 6
    with pytest.raises(InvalidInput):
        await moderation.queue("%%%", 2)
