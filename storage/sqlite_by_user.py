"""A user's comments (``comments_by``), indexed in a database file of their own.

An index on ``events (user_id, created_at)`` made each group commit change a
page of it for nearly every comment (an author's entries sit together, and a
group's authors are many), and the group commits that followed waited for
those pages. Kept in steps in the same database (change AG) it held the
write lock ~15 ms a step instead. So the index lives in ``<database>-by_user``,
with its own lock, written by its own thread on its own connection, which
attaches the event log to read it (docs/performance/s4-store.md, change AJ).

``by_user`` holds the comments of the events up to the rowid in
``by_user_upto``. A step brings it up to date, ``most`` events at a time, in
one ``INSERT ... SELECT`` in the index's order (a page takes all its new
entries at once, and the sqlite3 module lets go of the GIL for the whole
statement). The store asks for steps every ``every`` events it writes and
when it opens. ``comments_by`` reads ``by_user`` and the events past
``upto``: a short range of the log.

Rowids follow the log's order: SQLite gives a new row the largest rowid plus
one, events are never deleted, and a row not yet committed when a step reads
the log gets a rowid above every row the step sees. ``upto`` moves with the
entries, in one transaction. The file is derived data: lost, or not a
database, it is made again from the log.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from storage.model import EventKind
from storage.sqlite_schema import COMMENT_COLUMNS
from storage.sqlite_tx import OwnThread, open_wal, shared

T = TypeVar("T")
log = logging.getLogger(__name__)

SUFFIX = "-by_user"
# In S4 (100 rooms, 1,000 users) a step of 5,000 events changes ~1,000 pages
# of the index, one a user, in ~15 ms; a database made before the index
# catches up 20,000 events a step.
INDEX_EVERY = 5_000
INDEX_MOST = 20_000
_DAMAGED = frozenset((sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB))
_COMMENT = EventKind.COMMENT.value

SCHEMA = """
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
"""
# The index with each write, for a log without rowids (a database made before
# change AF) or in memory (no second connection reaches it).
IN_THE_LOG = f"""
CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, created_at)
    WHERE kind = '{_COMMENT}';
"""
NOT_IN_THE_LOG = "DROP INDEX IF EXISTS events_by_user"

_STEP = (
    "INSERT OR IGNORE INTO by_user (user_id, created_at, post_id, seq)"
    " SELECT user_id, created_at, post_id, seq FROM log.events"
    f" WHERE rowid > ? AND rowid <= ? AND kind = '{_COMMENT}'"
    " ORDER BY user_id, created_at, post_id, seq"
)
# From the comments found, then each one's row by the key. A comment is in
# the index or past ``upto``, never both: ``upto`` moves with the entries.
_COMMENTS_BY = (
    "WITH found (post_id, seq) AS ("
    " SELECT post_id, seq FROM by_user WHERE user_id = :user AND created_at >= :since"
    " UNION ALL"
    " SELECT post_id, seq FROM log.events WHERE rowid > (SELECT upto FROM by_user_upto)"
    f" AND kind = '{_COMMENT}' AND user_id = :user AND created_at >= :since)"
    f" SELECT {', '.join('c.' + column for column in COMMENT_COLUMNS.split(', '))}"
    " FROM found f CROSS JOIN log.comments c ON c.post_id = f.post_id AND c.seq = f.seq"
    " WHERE c.deleted = 0 AND c.hidden = 0 ORDER BY c.created_at DESC LIMIT :limit"
)


def indexed_apart(conn: sqlite3.Connection, path: str) -> bool:
    """Whether the log at ``path`` (open on ``conn``) keeps its index by user
    in a file of its own: a rowid log on disk."""
    (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()
    return shared(path) and not ddl.rstrip().upper().endswith("WITHOUT ROWID")


class ByUserIndex:
    def __init__(self, log_path: str, busy_timeout_ms: int, every: int, most: int) -> None:
        self._log_path = log_path
        self.path = log_path + SUFFIX
        self._busy_timeout_ms = busy_timeout_ms
        self._every = every
        self._most = most
        self._db = OwnThread(self.path, "sqlite-by-user")
        self._unindexed = 0
        self._closing = False
        self._stepping: asyncio.Future[None] | None = None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._db.run(fn)

    async def open(self) -> None:
        """Open (or make again) the file, and catch up with the log."""
        def connect() -> sqlite3.Connection:
            try:
                return self._connect()
            except sqlite3.DatabaseError as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _DAMAGED:
                    raise
                log.warning("%s is damaged (%s): making it again from the log", self.path, exc)
                for suffix in ("", "-wal", "-shm"):
                    Path(self.path + suffix).unlink(missing_ok=True)
                return self._connect()

        await self._db.open(connect)
        self.wrote(self._every)

    def _connect(self) -> sqlite3.Connection:
        conn = open_wal(self.path, self._busy_timeout_ms)
        try:
            conn.executescript(SCHEMA)
            conn.execute("ATTACH DATABASE ? AS log", (self._log_path,))
        except BaseException:
            conn.close()
            raise
        return conn

    def wrote(self, events: int) -> None:
        """``events`` more in the log: once ``every`` have gone by, steps
        until the index has caught up (one run of them at a time)."""
        self._unindexed += events
        if self._unindexed < self._every or self._closing:
            return
        if self._stepping is not None and not self._stepping.done():
            return
        self._unindexed = 0
        self._stepping = asyncio.ensure_future(self._run(self._catch_up))
        self._stepping.add_done_callback(_say_if_failed)

    def _catch_up(self, conn: sqlite3.Connection) -> None:
        while not self._closing and self._step(conn):
            pass

    def _step(self, conn: sqlite3.Connection) -> bool:
        """One step; whether the log goes on past it."""
        conn.execute("BEGIN")
        try:
            # A write first, so that the transaction holds the index's lock
            # from its start: two processes' steps take turns.
            conn.execute("UPDATE by_user_upto SET upto = upto")
            (upto,) = conn.execute("SELECT upto FROM by_user_upto").fetchone()
            (top,) = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM log.events").fetchone()
            end = min(top, upto + self._most)
            conn.execute(_STEP, (upto, end))
            conn.execute("UPDATE by_user_upto SET upto = ?", (end,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return end < top

    async def settled(self) -> None:
        """Wait for the steps under way, if any."""
        if self._stepping is not None:
            await asyncio.wait([self._stepping])

    async def comments_by(self, user_id: str, since_ms: int, limit: int) -> list[tuple]:
        return await self._run(lambda c: c.execute(
            _COMMENTS_BY, {"user": user_id, "since": since_ms, "limit": limit}).fetchall())

    async def aclose(self) -> None:
        self._closing = True
        await self.settled()
        await self._db.close()


def _say_if_failed(stepping: asyncio.Future[None]) -> None:
    if not stepping.cancelled() and stepping.exception() is not None:
        # The events are in the log; the next steps index them.
        log.warning("indexing comments by user failed, to be tried again: %s",
                    stepping.exception())
