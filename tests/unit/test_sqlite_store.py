"""What only the SQLite store has: a group too big for one statement, the
comments view replacing the table of a database made before it, and the
event log of a database made before it became a rowid table, kept as it was."""

from __future__ import annotations

import sqlite3

import pytest

from livecomments.errors import SequenceConflict
from storage.sqlite import SqliteCommentStore
from storage.sqlite_schema import EVENT_FIELDS
from tests.contract.store_cases import edited, record, said


def rows_per_statement() -> int:
    limit = sqlite3.connect(":memory:").getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return limit // EVENT_FIELDS


async def test_a_group_over_one_statement_is_written_whole(store):
    events = [said("big", seq) for seq in range(1, rows_per_statement() + 3)]
    await store.append_events(events)
    assert await store.last_seq("big") == len(events)
    assert await store.comment("big", len(events)) == record(events[-1])


async def test_a_conflict_past_the_first_statement_writes_nothing(store):
    await store.append_events([said("big", 1)])
    group = [said("small", 1)] + [said("big", seq) for seq in range(2, rows_per_statement() + 2)]
    with pytest.raises(SequenceConflict):
        await store.append_events([*group, said("big", 1, author="u2")])
    assert await store.last_seq("small") == 0
    assert await store.last_seq("big") == 1
    assert await store.comment("big", 1) == record(said("big", 1))


async def test_a_database_made_with_a_comments_table_reads_comments_from_its_events(tmp_path):
    path = str(tmp_path / "old.db")
    first = said("v", 1)
    change = edited(2, first, "changed")
    before = SqliteCommentStore(path)
    await before.open()
    await before.append_events([first, change])
    await before.aclose()
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "DROP VIEW comments;"
            " CREATE TABLE comments (post_id TEXT, seq INTEGER, body TEXT);"
            " CREATE TRIGGER comment_created AFTER INSERT ON events"
            " BEGIN INSERT INTO comments VALUES (NEW.post_id, NEW.seq, 'stale'); END;"
        )

    reopened = SqliteCommentStore(path)
    await reopened.open()
    later = said("v", 3)
    await reopened.append_events([later])
    assert await reopened.comment("v", 1) == record(first, change)
    assert await reopened.comment("v", 3) == record(later)
    await reopened.aclose()
    with sqlite3.connect(path) as conn:
        kinds = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name LIKE 'comment%' ORDER BY name"
        ).fetchall()
    assert kinds == [("view", "comments")]


async def test_a_database_made_with_a_without_rowid_event_log_is_read_and_written(tmp_path):
    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE events (post_id TEXT NOT NULL, seq INTEGER NOT NULL,"
            " kind TEXT NOT NULL, comment_seq INTEGER NOT NULL, user_id TEXT NOT NULL,"
            " username TEXT NOT NULL, body TEXT, created_at INTEGER NOT NULL,"
            " at INTEGER NOT NULL, actor_id TEXT NOT NULL, flag TEXT,"
            " hidden INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (post_id, seq)) WITHOUT ROWID"
        )
    old = SqliteCommentStore(path)
    await old.open()
    first = said("v", 1)
    change = edited(2, first, "changed")
    later = said("v", 3, author="u2")

    await old.append_events([first, change, later])
    with pytest.raises(SequenceConflict):
        await old.append_events([said("v", 3)])

    assert await old.last_seq("v") == 3
    assert await old.events_after("v", 0, 10) == [first, change, later]
    assert await old.comment("v", 1) == record(first, change)
    assert await old.comments_before("v", None, 10) == [record(later), record(first, change)]
    assert await old.comments_by("u2", 0, 10) == [record(later)]
    await old.aclose()
    with sqlite3.connect(path) as conn:
        (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()
    assert ddl.endswith("WITHOUT ROWID")
