"""A user's comments (``comments_by``), indexed in steps rather than with each write.

An index on ``events (user_id, created_at)`` made each group commit change a
page of it for nearly every comment (an author's entries sit together, and a
group's authors are many): about half of the INSERT's CPU, and in S4 p99 POST
~120 ms against ~70 without it (docs/performance.md, change AG). So a rowid
event log has no such index. ``by_user`` holds what it held for the events
up to the rowid in ``by_user_upto``, and a step brings it up to date, up to
``most`` events at a time, in one transaction that inserts them in the
index's order: a page takes all its new entries at once. ``comments_by``
reads ``by_user`` and the events past that rowid (a range of the log, which
the store keeps short by stepping every ``INDEX_EVERY`` events it writes).

Rowids follow the log's order: SQLite gives a new row the largest rowid plus
one, a step reads the largest under the write lock (no write is half done),
and events are never deleted. A ``WITHOUT ROWID`` log (a database made before
change AF) keeps the index it was made with.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from storage.model import EventKind
from storage.sqlite_schema import COMMENT_COLUMNS
from storage.sqlite_tx import immediate, read

BY_USER = """
CREATE TABLE IF NOT EXISTS by_user (
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    post_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (user_id, created_at, post_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS by_user_upto (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    upto INTEGER NOT NULL
);
INSERT OR IGNORE INTO by_user_upto (only, upto) VALUES (0, 0);
DROP INDEX IF EXISTS events_by_user;
"""
_COMMENT = EventKind.COMMENT.value
WITHOUT_ROWID_INDEX = f"""
CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, created_at)
    WHERE kind = '{_COMMENT}';
"""

# From the comments found, then each one's row by the key (an IN list of the
# comments view scanned the whole log instead).
COMMENTS_BY = (
    "WITH found (post_id, seq) AS ("
    " SELECT post_id, seq FROM by_user WHERE user_id = :user AND created_at >= :since"
    " UNION"
    " SELECT post_id, seq FROM events WHERE rowid > (SELECT upto FROM by_user_upto)"
    f" AND kind = '{_COMMENT}' AND user_id = :user AND created_at >= :since)"
    f" SELECT {', '.join('c.' + column for column in COMMENT_COLUMNS.split(', '))}"
    " FROM found f CROSS JOIN comments c ON c.post_id = f.post_id AND c.seq = f.seq"
    " WHERE c.deleted = 0 AND c.hidden = 0 ORDER BY c.created_at DESC LIMIT :limit"
)
COMMENTS_BY_WITHOUT_ROWID = (
    f"SELECT {COMMENT_COLUMNS} FROM comments WHERE user_id = :user AND created_at >= :since"
    " AND deleted = 0 AND hidden = 0 ORDER BY created_at DESC LIMIT :limit"
)


def has_rowid_log(conn: sqlite3.Connection) -> bool:
    (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()
    return not ddl.rstrip().upper().endswith("WITHOUT ROWID")


@dataclass(frozen=True)
class Step:
    """The entries of the events after ``upto`` up to ``end`` (``top`` the log's last)."""

    upto: int
    end: int
    top: int
    entries: list[tuple]

    @property
    def more(self) -> bool:
        return self.end < self.top


def next_step(conn: sqlite3.Connection, most: int) -> Step:
    """Up to ``most`` events past ``by_user_upto``, their entries in the
    index's order. A read: every row up to the log's last is committed (a
    write under way gets larger rowids)."""
    with read(conn):
        (upto,) = conn.execute("SELECT upto FROM by_user_upto").fetchone()
        (top,) = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM events").fetchone()
        end = min(top, upto + most)
        entries = conn.execute(
            "SELECT user_id, created_at, post_id, seq FROM events"
            f" WHERE rowid > ? AND rowid <= ? AND kind = '{_COMMENT}'"
            " ORDER BY user_id, created_at, post_id, seq",
            (upto, end),
        ).fetchall()
    return Step(upto, end, top, entries)


def add_entries(conn: sqlite3.Connection, entries: list[tuple]) -> None:
    """A slice of a step's entries, in one transaction. One step's slices are
    many transactions, so that the group commits go in between; until the
    step ends, ``comments_by`` may find a comment both here and past
    ``upto``, and another process may add the same entries."""
    with immediate(conn):
        conn.executemany(
            "INSERT OR IGNORE INTO by_user (user_id, created_at, post_id, seq)"
            " VALUES (?, ?, ?, ?)",
            entries,
        )


def end_step(conn: sqlite3.Connection, step: Step) -> None:
    """Every entry of the step is in: ``upto`` moves to its end (never back,
    should another process have gone further)."""
    with immediate(conn):
        conn.execute("UPDATE by_user_upto SET upto = MAX(upto, ?)", (step.end,))
