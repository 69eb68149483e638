"""The SQLite schema (applied idempotently when a store opens) and row mapping."""

from __future__ import annotations

import sqlite3

from livecomments.errors import SequenceConflict
from storage.model import CommentRecord, EventKind, Role, RoomEvent, UserRecord

_TABLES = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- A rowid table: a group commit appends its rows to the table's last pages,
-- and the key's index takes small entries (its columns and the rowid).
-- WITHOUT ROWID kept each whole row in its room's leaves of the key, and the
-- index by user's entries carried the key: ~40 % more CPU for the INSERT
-- alone in a micro-benchmark, 7 % more for the room host in S4. Reading a
-- room's events back now costs ~2x: its rows are spread over the table
-- (docs/performance/s4-store.md, change AF). A database made with that
-- table keeps it: the same columns, key and queries, and its index by user
-- in the log (storage/sqlite_by_user.py).
CREATE TABLE IF NOT EXISTS events (
    post_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    comment_seq INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    body TEXT,
    created_at INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    flag TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, seq)
);
CREATE TABLE IF NOT EXISTS strikes (
    user_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    post_id TEXT NOT NULL,
    comment_seq INTEGER NOT NULL,
    reporter_id TEXT,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS strikes_by_user ON strikes (user_id, at);
CREATE UNIQUE INDEX IF NOT EXISTS one_report_per_reporter
    ON strikes (post_id, comment_seq, reporter_id) WHERE reporter_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS report_queue (
    queue_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    post_id TEXT,
    comment_seq INTEGER,
    reports INTEGER NOT NULL DEFAULT 0,
    flags INTEGER NOT NULL DEFAULT 0,
    last_reason TEXT NOT NULL,
    last_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS report_queue_recent ON report_queue (last_at, queue_key);
CREATE TABLE IF NOT EXISTS restrictions (
    user_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    until INTEGER,
    reason TEXT NOT NULL,
    by TEXT NOT NULL,
    at INTEGER NOT NULL
);
-- Bumped in the same transaction as any change to restrictions (see
-- CommentStore.restrictions_version).
CREATE TABLE IF NOT EXISTS restrictions_version (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    version INTEGER NOT NULL
);
INSERT OR IGNORE INTO restrictions_version (only, version) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS restriction_added AFTER INSERT ON restrictions
BEGIN UPDATE restrictions_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS restriction_changed AFTER UPDATE ON restrictions
BEGIN UPDATE restrictions_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS restriction_lifted AFTER DELETE ON restrictions
BEGIN UPDATE restrictions_version SET version = version + 1; END;
CREATE TABLE IF NOT EXISTS actions (
    at INTEGER NOT NULL,
    action_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (at, action_id)
) WITHOUT ROWID;
"""

EVENT_COLUMNS = (
    "post_id, seq, kind, comment_seq, user_id, username, body, created_at, at, actor_id,"
    " flag, hidden"
)
EVENT_FIELDS = EVENT_COLUMNS.count(",") + 1
COMMENT_COLUMNS = (
    "post_id, seq, user_id, username, body, created_at, edited_at, deleted, flag, hidden"
)
_COMMENT = EventKind.COMMENT.value


def _change(column: str, kind: EventKind, latest: bool = False) -> str:
    """A subquery of the comments view: ``column`` of the comment's edits or deletions."""
    return (
        f"(SELECT {column} FROM events e INDEXED BY events_changes"
        f" WHERE e.post_id = c.post_id AND e.comment_seq = c.seq"
        f" AND e.kind != '{_COMMENT}' AND e.kind = '{kind.value}'"
        + (" ORDER BY e.seq DESC LIMIT 1)" if latest else ")")
    )


# A comment is its event in the log, with its latest edit and its deletion, if
# any: a group commit writes each comment once, into ``events``, and the only
# index it updates is the key's (``comments_by`` has its own, in a file of
# its own: storage/sqlite_by_user.py); edits and deletions, rare, are all
# ``events_changes`` holds. The view's subqueries name that index, or
# SQLite, without statistics, scans the room's events instead, and repeat
# its ``WHERE``, which is how SQLite knows it may use it. (They sort a comment's few edits
# to find the latest: the index's entries end in the rowid, not ``seq``.)
_COMMENTS_VIEW = f"""
CREATE INDEX IF NOT EXISTS events_changes ON events (post_id, comment_seq)
    WHERE kind != '{_COMMENT}';
CREATE VIEW IF NOT EXISTS comments ({COMMENT_COLUMNS}) AS
SELECT c.post_id, c.seq, c.user_id, c.username,
    COALESCE({_change("e.body", EventKind.EDITED, latest=True)}, c.body), c.created_at,
    {_change("e.at", EventKind.EDITED, latest=True)},
    EXISTS {_change("1", EventKind.DELETED)},
    c.flag, c.hidden
FROM events c WHERE c.kind = '{_COMMENT}';
"""
# Before the view, ``comments`` was a table kept by these triggers: a database
# made then drops them (its comments are all in its events).
RETIRED_COMMENTS_TABLE = (
    "DROP TRIGGER IF EXISTS comment_created",
    "DROP TRIGGER IF EXISTS comment_edited",
    "DROP TRIGGER IF EXISTS comment_deleted",
    "DROP TABLE comments",
)
SCHEMA = _TABLES + _COMMENTS_VIEW


def event_row(e: RoomEvent) -> tuple:
    return (
        e.post_id, e.seq, e.kind.value, e.comment_seq, e.user_id, e.username, e.text,
        e.created_at, e.at, e.actor_id, e.flag, int(e.hidden),
    )


def event_from_row(row: tuple) -> RoomEvent:
    *fields, hidden = row
    fields[2] = EventKind(fields[2])
    return RoomEvent(*fields, bool(hidden))


def comment_from_row(row: tuple) -> CommentRecord:
    post_id, seq, user_id, username, body, created_at, edited_at, deleted, flag, hidden = row
    return CommentRecord(
        post_id, seq, user_id, username, body, created_at, edited_at, bool(deleted), flag,
        bool(hidden),
    )


def user_from_row(row: tuple) -> UserRecord:
    user_id, username, password_hash, role, created_at = row
    return UserRecord(user_id, username, password_hash, Role(role), created_at)


_EVENT_ROW = f"({', '.join('?' * EVENT_FIELDS)})"


def insert_events(conn: sqlite3.Connection, values: list) -> None:
    """One statement, atomic by itself: all the rows or none."""
    rows = ", ".join([_EVENT_ROW] * (len(values) // EVENT_FIELDS))
    try:
        conn.execute(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES {rows}", values)
    except sqlite3.IntegrityError as exc:
        raise SequenceConflict("a sequence number of this room is taken") from exc
