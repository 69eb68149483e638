"""A user's comments in the SQLite store, indexed in steps (storage/sqlite_by_user.py):
found the same before, between and after the steps, and in a database made
when the index was kept with each write."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage import sqlite as sqlite_store
from storage.sqlite import SqliteCommentStore
from storage.sqlite_by_user import add_entries, end_step, next_step
from tests.contract.store_cases import deleted, edited, record, said


@pytest.fixture
def path(tmp_path) -> str:
    return str(tmp_path / "store.db")


def indexed_upto(path: str) -> tuple[int, int]:
    """The rowid the index by user has reached, and the log's last."""
    with sqlite3.connect(path) as conn:
        (upto,) = conn.execute("SELECT upto FROM by_user_upto").fetchone()
        (top,) = conn.execute("SELECT MAX(rowid) FROM events").fetchone()
    return upto, top


async def indexing_done(store: SqliteCommentStore) -> None:
    if store._indexing is not None:
        await asyncio.wait_for(store._indexing, 10)


async def test_a_users_comments_are_the_same_before_between_and_after_index_steps(path):
    store = SqliteCommentStore(path)
    await store.open()
    mine = [said("a", seq, "me", 5_000 + seq) for seq in range(1, 6)]
    theirs = [said("b", seq, "them", 5_000 + seq) for seq in range(1, 4)]
    await store.append_events([mine[0], theirs[0], mine[1]])
    await store.append_events([mine[2], theirs[1], mine[3], theirs[2], mine[4]])
    await store.append_events([edited(6, mine[1], "changed"), deleted(7, mine[3])])
    await indexing_done(store)
    with sqlite3.connect(path) as conn:  # none indexed yet, whatever the store's first step took
        conn.executescript("DELETE FROM by_user; UPDATE by_user_upto SET upto = 0;")
    expected = [record(mine[4]), record(mine[2]), record(mine[1], edited(6, mine[1], "changed")),
                record(mine[0])]

    async def found_the_same() -> None:
        assert await store.comments_by("me", 0, 100) == expected
        assert await store.comments_by("me", 5_003, 100) == expected[:2]
        assert await store.comments_by("me", 0, 1) == expected[:1]
        assert await store.comments_by("them", 0, 100) == [record(e) for e in reversed(theirs)]

    conn = sqlite3.connect(path, isolation_level=None)
    steps = 0
    more = True
    while more:
        step = next_step(conn, most=4)
        for i in range(0, len(step.entries), 2):
            await found_the_same()
            add_entries(conn, step.entries[i:i + 2])  # some found twice until the step ends
        await found_the_same()
        end_step(conn, step)
        steps += 1
        more = step.more
    conn.close()
    assert steps == 3  # 10 events, 4 a step
    assert indexed_upto(path)[0] == indexed_upto(path)[1]
    await found_the_same()
    await store.aclose()


async def test_the_store_brings_the_index_up_to_date_as_it_writes(path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "INDEX_EVERY", 4)
    monkeypatch.setattr(sqlite_store, "INDEX_MOST", 3)
    monkeypatch.setattr(sqlite_store, "INDEX_SLICE", 1)
    store = SqliteCommentStore(path)
    await store.open()
    events = [said("v", seq, f"u{seq % 2}") for seq in range(1, 12)]
    for event in events:
        await store.append_events([event])
    await indexing_done(store)
    assert indexed_upto(path) == (len(events), len(events))
    assert await store.comments_by("u1", 0, 100) == [
        record(e) for e in reversed(events) if e.user_id == "u1"]
    await store.aclose()


async def test_a_database_indexed_with_each_write_drops_that_index_and_catches_up(path):
    before = SqliteCommentStore(path)
    await before.open()
    old = [said("v", seq, "me") for seq in range(1, 4)]
    await before.append_events(old)
    await before.aclose()
    with sqlite3.connect(path) as conn:  # as change AF left it
        conn.executescript(
            "DROP TABLE by_user; DROP TABLE by_user_upto;"
            " CREATE INDEX events_by_user ON events (user_id, created_at)"
            " WHERE kind = 'comment';"
        )

    reopened = SqliteCommentStore(path)
    await reopened.open()
    assert await reopened.comments_by("me", 0, 100) == [record(e) for e in reversed(old)]
    later = said("v", 4, "me")
    await reopened.append_events([later])
    await indexing_done(reopened)
    assert indexed_upto(path) == (4, 4)
    assert await reopened.comments_by("me", 0, 2) == [record(later), record(old[2])]
    await reopened.aclose()
    with sqlite3.connect(path) as conn:
        indexes = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                               " AND name = 'events_by_user'").fetchall()
    assert indexes == []
