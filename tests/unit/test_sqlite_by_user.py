"""A user's comments in the SQLite store, indexed in a file of their own
(storage/sqlite_by_user.py): found the same wherever the index stands, kept
up to date as the store writes, made again when lost, damaged, or kept in
the log by an older version, and shared by two stores on one database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import sqlite_by_user
from storage.sqlite import SqliteCommentStore
from tests.contract.store_cases import deleted, edited, record, said


@pytest.fixture
def path(tmp_path) -> str:
    return str(tmp_path / "store.db")


def index_of(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path + sqlite_by_user.SUFFIX, isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS log", (path,))
    return conn


def indexed_upto(path: str) -> tuple[int, int, int]:
    """The rowid the index has reached, the log's last, and the index's entries."""
    with index_of(path) as conn:
        (upto,) = conn.execute("SELECT upto FROM by_user_upto").fetchone()
        (top,) = conn.execute("SELECT MAX(rowid) FROM log.events").fetchone()
        (entries,) = conn.execute("SELECT COUNT(*) FROM by_user").fetchone()
    return upto, top, entries


def index_up_to(path: str, rowid: int) -> None:
    """Make the index hold the comments up to ``rowid`` of the log, no more."""
    with index_of(path) as conn:
        conn.execute("DELETE FROM by_user")
        conn.execute(
            "INSERT INTO by_user SELECT user_id, created_at, post_id, seq FROM log.events"
            " WHERE rowid <= ? AND kind = 'comment'", (rowid,))
        conn.execute("UPDATE by_user_upto SET upto = ?", (rowid,))


def remove_index(path: str, garbage: bytes | None = None) -> None:
    """Remove the index's files, or leave ``garbage`` in its place."""
    for suffix in ("", "-wal", "-shm"):
        Path(path + sqlite_by_user.SUFFIX + suffix).unlink(missing_ok=True)
    if garbage is not None:
        Path(path + sqlite_by_user.SUFFIX).write_bytes(garbage)


async def opened(path: str) -> SqliteCommentStore:
    store = SqliteCommentStore(path)
    await store.open()
    return store


async def settled(store: SqliteCommentStore) -> None:
    assert store._by_user is not None
    await store._by_user.settled()


async def test_a_users_comments_are_the_same_wherever_the_index_stands(path):
    store = await opened(path)
    mine = [said("a", seq, "me", 5_000 + seq) for seq in range(1, 6)]
    theirs = [said("b", seq, "them", 5_000 + seq) for seq in range(1, 4)]
    change, gone = edited(6, mine[1], "changed"), deleted(7, mine[3])
    await store.append_events([mine[0], theirs[0], mine[1]])
    await store.append_events([mine[2], theirs[1], mine[3], theirs[2], mine[4]])
    await store.append_events([change, gone])
    await settled(store)
    expected = [record(mine[4]), record(mine[2]), record(mine[1], change), record(mine[0])]

    for rowid in range(0, 11):
        index_up_to(path, rowid)
        assert await store.comments_by("me", 0, 100) == expected, rowid
        assert await store.comments_by("me", 5_003, 100) == expected[:2], rowid
        assert await store.comments_by("me", 0, 1) == expected[:1], rowid
        assert await store.comments_by("them", 0, 100) == [record(e) for e in reversed(theirs)]
    await store.aclose()


async def test_the_store_brings_the_index_up_to_date_as_it_writes(path, monkeypatch):
    monkeypatch.setattr(sqlite_by_user, "INDEX_EVERY", 4)
    monkeypatch.setattr(sqlite_by_user, "INDEX_MOST", 3)
    store = await opened(path)
    await settled(store)  # the catch-up of opening: nothing yet
    events = [said("v", seq, f"u{seq % 2}") for seq in range(1, 12)]
    for n, event in enumerate(events, 1):
        await store.append_events([event])
        await settled(store)
        upto, _, entries = indexed_upto(path)
        assert (upto, entries) == (n - n % 4, n - n % 4)  # steps of 3 every 4 events
    assert await store.comments_by("u1", 0, 100) == [
        record(e) for e in reversed(events) if e.user_id == "u1"]
    await store.aclose()


def steps_of(path: str, most: int) -> list[tuple[bool, int]]:
    """Each step's answer (more to come?) and where it left the index, until caught up."""
    index = sqlite_by_user.ByUserIndex(path, 1_000, every=1, most=most)
    conn = index._connect()
    steps = [(True, 0)]
    while steps[-1][0] and len(steps) < 10:
        steps.append((index._step(conn), indexed_upto(path)[0]))
    conn.close()
    return steps[1:]


async def test_a_step_takes_at_most_its_share_of_the_log(path):
    store = await opened(path)
    await store.append_events([said("v", seq) for seq in range(1, 11)])
    await store.aclose()
    remove_index(path)
    assert steps_of(path, 3) == [(True, 3), (True, 6), (True, 9), (False, 10)]
    assert steps_of(path, 3) == [(False, 10)]


async def test_a_database_indexed_in_its_log_drops_that_index_and_catches_up(path):
    before = await opened(path)
    old = [said("v", seq, "me") for seq in range(1, 4)]
    await before.append_events(old)
    await before.aclose()
    remove_index(path)  # as a version before change AJ left it
    with sqlite3.connect(path) as conn:
        conn.executescript(sqlite_by_user.IN_THE_LOG)

    reopened = await opened(path)
    await settled(reopened)
    assert indexed_upto(path) == (3, 3, 3)
    later = said("v", 4, "me")
    await reopened.append_events([later])
    assert await reopened.comments_by("me", 0, 2) == [record(later), record(old[2])]
    await reopened.aclose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'"
                            " AND name = 'events_by_user'").fetchall() == []


async def test_a_damaged_index_is_made_again_from_the_log(path):
    before = await opened(path)
    old = [said("v", seq, "me") for seq in range(1, 4)]
    await before.append_events(old)
    await before.aclose()
    remove_index(path, garbage=b"not a database, " * 512)

    reopened = await opened(path)
    await settled(reopened)
    assert indexed_upto(path) == (3, 3, 3)
    assert await reopened.comments_by("me", 0, 100) == [record(e) for e in reversed(old)]
    await reopened.aclose()


async def test_two_stores_on_one_database_index_each_comment_once(path, monkeypatch):
    monkeypatch.setattr(sqlite_by_user, "INDEX_EVERY", 2)
    first, second = await opened(path), await opened(path)
    events = [said(f"v{n % 3}", n // 3 + 1, f"u{n % 4}", 1_000 + n) for n in range(24)]
    for n, event in enumerate(events):
        await (first if n % 2 else second).append_events([event])
    for store in (first, second):
        await settled(store)
        store._by_user.wrote(2)  # a last run of steps, after every write of both
        await settled(store)
    assert indexed_upto(path) == (24, 24, 24)
    for store in (first, second):
        assert await store.comments_by("u1", 0, 100) == [
            record(e) for e in reversed(events) if e.user_id == "u1"]
    await first.aclose()
    await second.aclose()


async def test_a_database_in_memory_keeps_the_index_in_its_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = await opened(":memory:")
    assert store._by_user is None
    event = said("v", 1, "me")
    await store.append_events([event])
    assert await store.comments_by("me", 0, 10) == [record(event)]
    await store.aclose()
    assert list(tmp_path.iterdir()) == []
